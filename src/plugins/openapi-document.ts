import { ERROR_STATUS, type ErrorCode } from '../shared/errors'
import { HOSTED_PREFIX } from '../shared/links'
import {
  DOCUMENTED_AS,
  ERROR_CODES,
  MEDIA_TYPE,
  RESPONSE_DESCRIPTION,
  RESPONSE_HEADERS,
  type ResponseHeaderName,
  SCHEMA_NAME,
  SCHEMA_OPEN,
} from '../shared/schemas'

/**
 * Turns the document `@elysiajs/openapi` derives from the route schemas into the published contract:
 * - every answer a route can give, with its headers: the errors every route shares are added from what the route
 *   is (under `/api`, with a body, with `If-Match` or `Idempotency-Key`), those particular to it come from its
 *   `errorAnswers(…)`, and each error status names the codes it can carry (API.md, "Errors");
 * - named schemas (`named(…)`) become `#/components/schemas/…` references, repeated error answers and parameters
 *   `#/components/responses|parameters/…`;
 * - the formats only this service knows become what any JSON Schema validator understands (`calendar-date` is
 *   `date`, a currency a pattern, …), so clients and Ajv compile the document as it is;
 * - 204 answers carry no content, operation ids are camelCase, `limit` is the integer it is.
 * Anything it cannot place (an unknown format, two different schemas of one name) throws: the document is
 * then visibly wrong in tests rather than silently so.
 */

type Json = Record<string, unknown>
type Node = Record<string | symbol, unknown>

interface Ref {
  $ref: string
}
interface Parameter {
  name: string
  in: 'path' | 'query' | 'header' | 'cookie'
  required?: boolean
  description?: string
  schema: Json
}
interface MediaType {
  schema?: Json
  example?: unknown
  examples?: Record<string, { summary: string; value: unknown }>
}
interface Response {
  description: string
  headers?: Record<string, Ref>
  content?: Record<string, MediaType>
}
interface Operation {
  operationId?: string
  summary?: string
  description?: string
  tags?: string[]
  security?: unknown[]
  parameters?: (Parameter | Ref)[]
  requestBody?: { description?: string; required?: boolean; content: Record<string, MediaType> }
  responses: Record<string, Response | Ref>
  [key: string]: unknown
}
export interface OpenApiDocument {
  openapi: string
  info: Json
  servers?: Json[]
  tags?: { name: string; description?: string }[]
  security?: unknown[]
  paths: Record<string, Record<string, Operation>>
  components: {
    schemas?: Record<string, Json>
    responses?: Record<string, Response>
    parameters?: Record<string, Parameter>
    headers?: Record<string, Json>
    securitySchemes?: Record<string, Json>
  }
  [key: string]: unknown
}

const SCHEMAS = '#/components/schemas/'

/** The headers the API sends beyond the standard and security ones, as the document declares them. */
export const HEADERS: Record<string, { description: string; required: boolean; schema: Json }> = {
  'X-Request-Id': {
    description:
      'The id of this request, in every answer and every log line of it: the incoming `X-Request-Id` when it is ' +
      'well formed (8–128 of `A–Z a–z 0–9 . _ : -`), else a new UUID.',
    required: true,
    schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{8,128}$' },
  },
  'RateLimit-Limit': {
    description:
      'Requests a minute each client address may make on `/api/*`, and apart from those on the hosted pages ' +
      '(`/i/*`). Sent on the answers of both.',
    required: false,
    schema: { type: 'integer', minimum: 1 },
  },
  'RateLimit-Remaining': {
    description: 'Requests left to this client address now. Sent on `/api/*` and `/i/*` answers.',
    required: false,
    schema: { type: 'integer', minimum: 0 },
  },
  'RateLimit-Reset': {
    description: 'Seconds until the quota is whole again. Sent on `/api/*` and `/i/*` answers.',
    required: false,
    schema: { type: 'integer', minimum: 0 },
  },
  'Retry-After': {
    description: 'Seconds to wait before trying again.',
    required: true,
    schema: { type: 'integer', minimum: 1 },
  },
  'WWW-Authenticate': {
    description: '`Bearer`, with `error="invalid_token"` when a token was sent but refused.',
    required: true,
    schema: { type: 'string', examples: ['Bearer', 'Bearer error="invalid_token"'] },
  },
  Allow: {
    description: 'The methods this path answers.',
    required: true,
    schema: { type: 'string', examples: ['GET, PATCH, DELETE'] },
  },
  ETag: {
    description: 'The version of the resource, to send back as `If-Match` with a change.',
    required: true,
    schema: { type: 'string', examples: ['"invoice-0b9e6a4e-5a41-4a0e-9d43-2a4d8f0f6c11-3"'] },
  },
  Location: {
    description: 'The URL path of the resource the answer is about.',
    required: true,
    schema: { type: 'string', format: 'uri-reference' },
  },
  'Idempotent-Replayed': {
    description:
      'Present, `true`, when the answer is the stored answer of an earlier request with the same `Idempotency-Key`.',
    required: false,
    schema: { type: 'string', enum: ['true'] },
  },
  'Cache-Control': {
    description: 'The answer must not be stored: the link in it is short-lived, or the page is private.',
    required: true,
    schema: { type: 'string', enum: ['no-store'] },
  },
  'Content-Security-Policy': {
    description:
      'On the hosted pages: nothing loads but the inline stylesheet (by its hash) and a `data:` icon; no script, ' +
      'form, frame or `<base>`.',
    required: true,
    schema: { type: 'string', pattern: "^default-src 'none'; " },
  },
  'X-Robots-Tag': {
    description: 'On the hosted pages: `noindex`, as the page’s `robots` meta says too.',
    required: true,
    schema: { type: 'string', enum: ['noindex'] },
  },
}

/** The headers of every answer under `/i/` (src/modules/hosted), beside those every answer carries. */
const PAGE_HEADERS = ['Content-Security-Policy', 'X-Robots-Tag', 'Cache-Control']

/** An HTML page as the document states it; the contract checks read the body as this string. */
const HTML_PAGE: Json = { type: 'string', pattern: '^<!doctype html>' }

const RATE_LIMIT_HEADERS = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']

/** What each error code means, from API.md "Errors": the description of an answer lists its codes. */
const CODE_MEANING: Record<ErrorCode, string> = {
  MALFORMED_JSON: 'the body is not valid JSON',
  VALIDATION_ERROR:
    'a field, parameter or header is missing, of the wrong type, out of range, or unknown; `details` names each',
  UNAUTHORIZED:
    'no token, or a malformed, expired, wrongly signed, wrong-issuer or wrong-client one; checked before anything else',
  FORBIDDEN: 'a signed download link that is tampered with or expired',
  NOT_FOUND: 'no such resource for this user (another user’s id is indistinguishable from a missing one)',
  METHOD_NOT_ALLOWED: 'the path exists but does not answer this method; `Allow` lists those it answers',
  INVALID_STATUS_TRANSITION: 'the action is not allowed in the invoice’s current status',
  CUSTOMER_HAS_INVOICES: 'the customer has invoices',
  IDEMPOTENCY_KEY_REUSED:
    'the `Idempotency-Key` was used with a different request, or the request that used it is still running',
  PRECONDITION_FAILED: '`If-Match` names no current version',
  PAYLOAD_TOO_LARGE: 'the body is over 1 MiB',
  URI_TOO_LONG: 'the request line is over 8 KiB',
  UNSUPPORTED_MEDIA_TYPE: 'the body is not JSON',
  PAYMENT_EXCEEDS_BALANCE: 'the payment is larger than `amountDue`',
  CREDIT_EXCEEDS_INVOICE: 'the credit note is larger than what is left to credit on the invoice',
  LIMIT_EXCEEDED: 'a per-user limit is reached (16 webhook endpoints)',
  EINVOICE_INCOMPLETE:
    'an e-invoice was asked for but required data is missing; `details` names each field (`path`) and the EN 16931 `rule`',
  RATE_LIMIT_EXCEEDED: 'over the rate limit; `Retry-After` tells when to retry',
  HEADERS_TOO_LARGE: 'the request headers are over 16 KiB',
  INTERNAL_ERROR: 'a bug; the log has the details, the answer does not',
  PDF_GENERATION_FAILED: 'rendering or storing the PDF failed; nothing changed, and the call can be retried',
  SERVICE_UNAVAILABLE: 'the database cannot be reached; retry after `Retry-After` seconds',
}

const EXAMPLE_REQUEST_ID = '6f1c2a9e-3b7d-4c55-9a0e-2f8d1b4c7e10'

/** An example answer for each code, as the API words it. */
const CODE_EXAMPLE: Record<
  ErrorCode,
  { message: string; details?: { path: string; message: string; rule?: string }[] }
> = {
  MALFORMED_JSON: { message: 'Request body is not valid JSON' },
  VALIDATION_ERROR: {
    message: 'Request validation failed',
    details: [{ path: '/items/0/quantity', message: 'Expected number to be greater than 0' }],
  },
  UNAUTHORIZED: { message: 'Invalid or expired token' },
  FORBIDDEN: { message: 'The download link is invalid or has expired' },
  NOT_FOUND: { message: 'Resource not found' },
  METHOD_NOT_ALLOWED: { message: 'PUT is not allowed on this path' },
  INVALID_STATUS_TRANSITION: { message: 'A sent invoice cannot be changed' },
  CUSTOMER_HAS_INVOICES: { message: 'The customer has invoices and cannot be deleted' },
  IDEMPOTENCY_KEY_REUSED: { message: 'This Idempotency-Key was already used with a different request' },
  PRECONDITION_FAILED: { message: 'If-Match does not match the current version' },
  PAYLOAD_TOO_LARGE: { message: 'Request body exceeds 1 MiB' },
  URI_TOO_LONG: { message: 'The request line is over 8 KiB' },
  UNSUPPORTED_MEDIA_TYPE: { message: 'Request body must be application/json' },
  PAYMENT_EXCEEDS_BALANCE: {
    message: 'The payment exceeds the amount due (5000)',
    details: [{ path: '/amount', message: 'must be at most 5000' }],
  },
  CREDIT_EXCEEDS_INVOICE: {
    message: 'Only 2 of invoice line 3 are left to credit',
    details: [{ path: '/items/0/quantity', message: 'must be at most 2, what is left of the line' }],
  },
  LIMIT_EXCEEDED: { message: 'At most 16 webhook endpoints per user' },
  EINVOICE_INCOMPLETE: {
    message: 'The e-invoice cannot be generated: required data is missing',
    details: [
      {
        path: '/profile/taxId',
        message: 'the seller needs a VAT identifier; a tax number alone does not identify it',
        rule: 'BR-CO-26',
      },
    ],
  },
  RATE_LIMIT_EXCEEDED: { message: 'Too many requests; retry in 12 s' },
  HEADERS_TOO_LARGE: { message: 'The request headers are over 16 KiB' },
  INTERNAL_ERROR: { message: 'Internal server error' },
  PDF_GENERATION_FAILED: { message: 'The PDF store cannot be reached; retry shortly' },
  SERVICE_UNAVAILABLE: { message: 'The database cannot be reached; retry shortly' },
}

const ERROR_CODE_LIST = Object.keys(ERROR_STATUS) as ErrorCode[]

/** The envelope of every error (shared/errors.ts `errorBody`). */
const ERROR_SCHEMAS: Record<string, Json> = {
  Error: {
    type: 'object',
    description: 'The error envelope every failure answers with',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message', 'requestId'],
        additionalProperties: false,
        properties: {
          code: {
            type: 'string',
            enum: ERROR_CODE_LIST,
            description: 'What went wrong, for programs; each answer lists the codes it can carry',
          },
          message: { type: 'string', description: 'What went wrong, for people; never echoes large values' },
          requestId: { type: 'string', description: 'The `X-Request-Id` of the answer' },
          details: {
            type: 'array',
            minItems: 1,
            items: { $ref: `${SCHEMAS}ErrorDetail` },
            description: 'Each problem of the request, when there are several or the field matters',
          },
        },
      },
    },
  },
  ErrorDetail: {
    type: 'object',
    required: ['path', 'message'],
    additionalProperties: false,
    properties: {
      path: {
        type: 'string',
        description:
          'A JSON Pointer to the problem: into the body (`/items/0/quantity`), or `/query/…`, `/params/…`, ' +
          '`/headers/…`, `/token/…`; for `EINVOICE_INCOMPLETE`, the API field to fill (`/profile/taxId`, ' +
          '`/customer/address/country`, `/items/0/taxCategory`, …)',
      },
      message: { type: 'string' },
      rule: {
        type: 'string',
        description: 'The EN 16931 or XRechnung rule the data would fail (`EINVOICE_INCOMPLETE` only)',
        examples: ['BR-CO-26'],
      },
    },
  },
}

/**
 * The formats of shared/formats.ts that only this service knows, as the document states them: a standard format
 * or a pattern that any JSON Schema validator checks. The service itself still checks the stricter rule
 * (a real date, an active currency, a known zone).
 */
const FORMATS: Record<string, Json> = {
  'calendar-date': { format: 'date' },
  'iso-4217': { pattern: '^[A-Z]{3}$' },
  'iso-3166-alpha-2': { pattern: '^[A-Z]{2}$' },
  'iana-time-zone': { pattern: '^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$' },
  printable: { pattern: '^([\\x21-\\x7E]([\\x20-\\x7E]*[\\x21-\\x7E])?)?$' },
  'http-url': { format: 'uri', pattern: '^[Hh][Tt][Tt][Pp][Ss]?://[\\x21-\\x7E]+$' },
  'bcp47-locale': { pattern: '^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$' },
  iban: { pattern: '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$' },
  'iso-9362-bic': { pattern: '^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$' },
  'unit-code': { pattern: '^[A-Z0-9]{2,3}$' },
}
/** Formats of JSON Schema (and ajv-formats) that pass as they are. */
const STANDARD_FORMATS = new Set([
  'date',
  'date-time',
  'time',
  'email',
  'uuid',
  'uri',
  'uri-reference',
  'hostname',
])
/** Elysia coerces query numbers through `anyOf: [{ type: string, format: integer }, …]`: not the contract. */
const COERCION_FORMATS = new Set(['integer', 'numeric', 'number', 'boolean'])

const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'dependentSchemas'])
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems'])
const SCHEMA_VALUES = new Set([
  'items',
  'additionalProperties',
  'unevaluatedProperties',
  'contains',
  'not',
  'if',
  'then',
  'else',
  'propertyNames',
])

const REASONS: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted',
  '204': 'No content',
  '302': 'Found: `Location` is where to go',
}
/** Statuses whose stored answer a repeated `Idempotency-Key` replays (idempotency/service.ts). */
const REPLAYED_ERRORS = new Set([400, 404, 409, 412, 422])

const isObject = (value: unknown): value is Node =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
const pascal = (text: string) =>
  text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join('')
const camel = (text: string) => {
  const name = pascal(text.replace(/([a-z0-9])([A-Z])/g, '$1 $2'))
  return name.charAt(0).toLowerCase() + name.slice(1)
}
const headerRef = (name: string): Ref => ({ $ref: `#/components/headers/${name}` })

/** Named schemas, hoisted into `components.schemas` as they are met. */
class Schemas {
  readonly named = new Map<string, { json: string; schema: Json }>()

  constructor(seed: Record<string, Json>) {
    for (const [name, schema] of Object.entries(seed))
      this.named.set(name, { json: JSON.stringify(schema), schema })
  }

  /** A schema of the generated document as published: children first, then its format, then its name. */
  visit(node: unknown): unknown {
    if (Array.isArray(node)) return node.map((item) => this.visit(item))
    if (!isObject(node)) return node
    let out: Json = {}
    for (const [key, value] of Object.entries(node)) {
      if (SCHEMA_MAPS.has(key) && isObject(value)) {
        out[key] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, this.visit(child)]))
      } else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
        out[key] = value.map((child) => this.visit(child))
      } else if (SCHEMA_VALUES.has(key) && isObject(value)) {
        out[key] = this.visit(value)
      } else {
        out[key] = value
      }
    }
    if (node[SCHEMA_OPEN] === true && out['additionalProperties'] === false)
      delete out['additionalProperties']
    out = uncoerced(out)
    const documented = node[DOCUMENTED_AS]
    if (isObject(documented)) out = { ...out, ...(documented as Json) }
    out = standardFormat(out)
    const name = node[SCHEMA_NAME]
    return typeof name === 'string' ? this.reference(name, out) : out
  }

  private reference(name: string, schema: Json): Json {
    const ref = { $ref: `${SCHEMAS}${name}` }
    // A nullable use (`Nullable(Address)`) arrives as the schema with `null` among its types.
    const types = schema['type']
    const nullable = Array.isArray(types) && types.includes('null')
    let body = schema
    if (nullable) {
      const rest = (types as string[]).filter((type) => type !== 'null')
      body = { ...schema, type: rest.length === 1 ? rest[0] : rest }
    }
    const json = JSON.stringify(body)
    const known = this.named.get(name)
    if (known && known.json !== json) {
      throw new Error(`OpenAPI: two different schemas are named ${name}:\n${known.json}\n${json}`)
    }
    if (!known) this.named.set(name, { json, schema: body })
    return nullable ? { anyOf: [ref, { type: 'null' }] } : ref
  }
}

/** `anyOf: [{ type: string, format: integer }, { type: integer, … }]` (Elysia's query coercion) as the integer. */
function uncoerced(schema: Json): Json {
  const options = schema['anyOf']
  if (!Array.isArray(options) || options.length !== 2) return schema
  const coercion = options.findIndex(
    (option) =>
      isObject(option) && option['type'] === 'string' && COERCION_FORMATS.has(String(option['format'])),
  )
  if (coercion === -1) return schema
  const { anyOf: _, ...outer } = schema
  return { ...(options[1 - coercion] as Json), ...outer }
}

function standardFormat(schema: Json): Json {
  const format = schema['format']
  if (typeof format !== 'string' || STANDARD_FORMATS.has(format)) return schema
  // The string side of a coerced number, removed by `uncoerced` one level up.
  if (COERCION_FORMATS.has(format) && schema['type'] === 'string') return schema
  const replacement = FORMATS[format]
  if (!replacement) throw new Error(`OpenAPI: no published form for the string format "${format}"`)
  const { format: _, ...rest } = schema
  return { ...rest, ...replacement }
}

interface RouteFacts {
  api: boolean
  /** A public HTML page under `/i/` (the hosted documents): rate limited, errors as HTML pages. */
  page: boolean
  /** A request body is read (and may be refused). */
  body: boolean
  idempotent: boolean
  ifMatch: boolean
}

/** The codes every route of this kind can answer (plugins: auth, input, errors, request-limits, rate-limit). */
function sharedCodes(facts: RouteFacts): ErrorCode[] {
  const codes: ErrorCode[] = [
    'VALIDATION_ERROR',
    'METHOD_NOT_ALLOWED',
    'URI_TOO_LONG',
    'HEADERS_TOO_LARGE',
    'INTERNAL_ERROR',
  ]
  if (facts.body) codes.push('MALFORMED_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE')
  if (facts.api) codes.push('UNAUTHORIZED', 'RATE_LIMIT_EXCEEDED', 'SERVICE_UNAVAILABLE')
  if (facts.page) codes.push('RATE_LIMIT_EXCEEDED', 'SERVICE_UNAVAILABLE')
  if (facts.idempotent) codes.push('IDEMPOTENCY_KEY_REUSED')
  if (facts.ifMatch) codes.push('PRECONDITION_FAILED')
  return codes
}

/** The headers of an answer with this status, beyond those the route names (ETag, Location…). */
function sharedHeaders(status: number, facts: RouteFacts): string[] {
  const headers = ['X-Request-Id']
  // Request-line and header limits are checked before the rate limit, which only counts `/api/*` and `/i/*`.
  if ((facts.api || facts.page) && status !== 414 && status !== 431) headers.push(...RATE_LIMIT_HEADERS)
  if (status === 401) headers.push('WWW-Authenticate')
  if (status === 405) headers.push('Allow')
  if (status === 429 || (status === 503 && (facts.api || facts.page))) headers.push('Retry-After')
  if (status >= 300 && status < 400) headers.push('Location')
  if (facts.page) headers.push(...PAGE_HEADERS)
  if (facts.idempotent && (status < 300 || REPLAYED_ERRORS.has(status))) headers.push('Idempotent-Replayed')
  return headers
}

function errorResponse(codes: ErrorCode[], headers: string[], page: boolean): Response {
  const example = (code: ErrorCode) => ({
    error: { code, ...CODE_EXAMPLE[code], requestId: EXAMPLE_REQUEST_ID },
  })
  const schema = {
    allOf: [
      { $ref: `${SCHEMAS}Error` },
      {
        type: 'object',
        properties: { error: { type: 'object', properties: { code: { type: 'string', enum: codes } } } },
      },
    ],
  }
  const media: MediaType =
    codes.length === 1
      ? { schema, example: example(codes[0]!) }
      : {
          schema,
          examples: Object.fromEntries(codes.map((code) => [code, { summary: code, value: example(code) }])),
        }
  const meanings = codes.map((code) => `\`${code}\`: ${CODE_MEANING[code]}.`).join(' ')
  return {
    description: page
      ? `An HTML page that says what went wrong; the error envelope when \`Accept\` asks for JSON and not HTML. ${meanings}`
      : meanings,
    headers: Object.fromEntries(headers.map((name) => [name, headerRef(name)])),
    content: page
      ? { 'text/html': { schema: HTML_PAGE }, 'application/json': media }
      : { 'application/json': media },
  }
}

function finishParameter(parameter: Parameter, schemas: Schemas): Parameter {
  const { description, ...schema } = schemas.visit(parameter.schema) as Json
  const name =
    parameter.in === 'header'
      ? (Object.keys(HEADERS).find((known) => known.toLowerCase() === parameter.name) ??
        parameter.name.replace(
          /(^|-)([a-z])/g,
          (_, dash: string, letter: string) => dash + letter.toUpperCase(),
        ))
      : parameter.name
  return {
    name,
    in: parameter.in,
    required: parameter.required ?? false,
    ...(typeof description === 'string' ? { description } : {}),
    schema,
  }
}

function finishOperation(path: string, method: string, raw: Operation, schemas: Schemas): Operation {
  const parameters = ((raw.parameters ?? []) as Parameter[]).map((p) => finishParameter(p, schemas))
  const headerNames = parameters.filter((p) => p.in === 'header').map((p) => p.name.toLowerCase())
  const facts: RouteFacts = {
    api: path.startsWith('/api/'),
    page: path.startsWith(`${HOSTED_PREFIX}/`),
    // The body parser runs for every method that may carry a body, whether or not the route reads one.
    body: method !== 'get' && method !== 'head',
    idempotent: headerNames.includes('idempotency-key'),
    ifMatch: headerNames.includes('if-match'),
  }

  const codes = new Set<ErrorCode>(sharedCodes(facts))
  const errorHeaders = new Map<number, string[]>()
  const responses: Record<string, Response> = {}
  for (const [status, response] of Object.entries(raw.responses as Record<string, Response>)) {
    // A string answer arrives as `text/plain`; one marked with its media type (an HTML page) is published as that.
    const plain = response.content?.['text/plain']?.schema as Node | undefined
    const schema = (response.content?.['application/json']?.schema ??
      (plain?.[MEDIA_TYPE] ? plain : undefined)) as Node | undefined
    const mediaType = (schema?.[MEDIA_TYPE] as string | undefined) ?? 'application/json'
    const declared = schema?.[ERROR_CODES]
    const named = (schema?.[RESPONSE_HEADERS] as ResponseHeaderName[] | undefined) ?? []
    if (Array.isArray(declared)) {
      for (const code of declared as ErrorCode[]) codes.add(code)
      errorHeaders.set(Number(status), named)
      continue
    }
    const headers = [...sharedHeaders(Number(status), facts), ...named]
    const generic = response.description.startsWith('Response for status')
    const description =
      (schema?.[RESPONSE_DESCRIPTION] as string | undefined) ??
      (generic ? (REASONS[status] ?? 'Answer') : response.description)
    // `t.Void()` arrives as `content: { type: 'void' }`: an answer without a body has no content at all.
    const published =
      mediaType === 'text/html' ? { ...HTML_PAGE, ...(schemas.visit(schema) as Json) } : undefined
    const content = schema
      ? { [mediaType]: { schema: published ?? (schemas.visit(schema) as Json) } }
      : undefined
    responses[status] = {
      description,
      headers: Object.fromEntries(headers.map((name) => [name, headerRef(name)])),
      ...(content ? { content } : {}),
    }
  }

  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of ERROR_CODE_LIST) {
    if (!codes.has(code)) continue
    const status = ERROR_STATUS[code]
    byStatus.set(status, [...(byStatus.get(status) ?? []), code])
  }
  for (const [status, list] of byStatus) {
    if (responses[status])
      throw new Error(`OpenAPI: ${method} ${path} answers ${status} both as an error and not`)
    responses[status] = errorResponse(
      list,
      [...new Set([...sharedHeaders(status, facts), ...(errorHeaders.get(status) ?? [])])],
      facts.page,
    )
  }

  const operationId =
    raw.operationId && /^[a-z][A-Za-z0-9]*$/.test(raw.operationId)
      ? raw.operationId
      : camel(raw.operationId ?? `${method} ${path}`)
  const { parameters: _p, responses: _r, operationId: _o, requestBody, ...rest } = raw
  return {
    operationId,
    ...rest,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(requestBody
      ? {
          requestBody: {
            ...requestBody,
            content: Object.fromEntries(
              Object.entries(requestBody.content).map(([type, media]) => [
                type,
                { ...media, schema: schemas.visit(media.schema) as Json },
              ]),
            ),
          },
        }
      : {}),
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b))),
  }
}

const byName = <T>(record: Record<string, T>) =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)))

/**
 * Answers and parameters met more than once, moved to `components` under a name and referenced. When two
 * different ones would take the same name, the one met more often takes it and the other stays inline.
 */
function hoist<T extends object>(
  operations: Operation[],
  list: (operation: Operation) => Record<string, T | Ref> | (T | Ref)[] | undefined,
  nameOf: (item: T, operation: Operation) => string | undefined,
  prefix: string,
): Record<string, T> {
  const uses = new Map<string, { count: number; item: T; name: string | undefined }>()
  for (const operation of operations) {
    for (const item of Object.values(list(operation) ?? {})) {
      if ('$ref' in item) continue
      const json = JSON.stringify(item)
      const use = uses.get(json) ?? { count: 0, item: item as T, name: nameOf(item as T, operation) }
      use.count++
      uses.set(json, use)
    }
  }
  const components = new Map<string, { json: string; item: T }>()
  for (const [json, use] of [...uses].sort(([, a], [, b]) => b.count - a.count)) {
    if (use.count < 2 || use.name === undefined || components.has(use.name)) continue
    components.set(use.name, { json, item: use.item })
  }
  const names = new Map([...components].map(([name, { json }]) => [json, name]))
  for (const operation of operations) {
    const items = list(operation)
    if (!items) continue
    for (const [key, item] of Object.entries(items)) {
      const name = names.get(JSON.stringify(item))
      if (name) (items as Record<string, T | Ref>)[key] = { $ref: `${prefix}${name}` }
    }
  }
  return byName(Object.fromEntries([...components].map(([name, { item }]) => [name, item])))
}

export function finishDocument(raw: OpenApiDocument): OpenApiDocument {
  const schemas = new Schemas(ERROR_SCHEMAS)
  const paths: OpenApiDocument['paths'] = {}
  const operations: Operation[] = []
  for (const [path, item] of Object.entries(raw.paths)) {
    paths[path] = {}
    for (const [method, operation] of Object.entries(item)) {
      const finished = finishOperation(path, method, operation, schemas)
      paths[path][method] = finished
      operations.push(finished)
    }
  }

  const responses = hoist<Response>(
    operations,
    (operation) => operation.responses,
    (response) => {
      const codes = (response.content?.['application/json']?.schema as { allOf?: Json[] } | undefined)?.allOf
      if (!codes) return undefined
      const enumOf = (codes[1] as { properties: { error: { properties: { code: { enum: string[] } } } } })
        .properties.error.properties.code.enum
      const replayable = response.headers && 'Idempotent-Replayed' in response.headers
      return enumOf.map(pascal).join('Or') + (replayable ? 'Replayable' : '')
    },
    '#/components/responses/',
  )
  const parameters = hoist<Parameter>(
    operations,
    (operation) => operation.parameters,
    (parameter, operation) =>
      parameter.in === 'path'
        ? `${pascal((operation.tags?.[0] ?? '').replace(/s$/, ''))}${pascal(parameter.name)}`
        : pascal(parameter.name),
    '#/components/parameters/',
  )

  const usedTags = new Set(operations.flatMap((operation) => operation.tags ?? []))
  return {
    openapi: raw.openapi,
    info: raw.info,
    ...(raw.servers ? { servers: raw.servers } : {}),
    ...(raw.security ? { security: raw.security } : {}),
    ...(raw.tags ? { tags: raw.tags.filter((tag) => usedTags.has(tag.name)) } : {}),
    paths,
    components: {
      ...(raw.components.securitySchemes ? { securitySchemes: raw.components.securitySchemes } : {}),
      schemas: byName(Object.fromEntries([...schemas.named].map(([name, { schema }]) => [name, schema]))),
      responses,
      parameters,
      headers: byName(HEADERS),
    },
  }
}
