import { type TSchema, t } from 'elysia'
import { ERROR_STATUS, type ErrorCode } from './errors'
import './formats'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination'

/*
 * Documentation markers. The OpenAPI document (src/plugins/openapi-document.ts) reads them from the route
 * schemas; they are symbols, which validation never looks at, so a marked schema validates exactly as before.
 */

/** The component name a schema is published under in the OpenAPI document (`#/components/schemas/<name>`). */
export const SCHEMA_NAME = Symbol.for('invoice-api.openapi.schema-name')
/**
 * Set by `named` on an object schema that does not close itself to other properties. Elysia closes the top level of
 * a response schema when it compiles the route (`additionalProperties: false`, in place); the document publishes
 * the schema as written, whichever routes have been compiled.
 */
export const SCHEMA_OPEN = Symbol.for('invoice-api.openapi.schema-open')
/** The error codes an error answer of a route can carry. */
export const ERROR_CODES = Symbol.for('invoice-api.openapi.error-codes')
/** Headers an answer carries, beyond those every answer carries. */
export const RESPONSE_HEADERS = Symbol.for('invoice-api.openapi.response-headers')
/** The description of an answer, when the status alone does not say it. */
export const RESPONSE_DESCRIPTION = Symbol.for('invoice-api.openapi.response-description')
/** Keywords the document shows in place of (or beside) the schema's own, e.g. a range checked in code. */
export const DOCUMENTED_AS = Symbol.for('invoice-api.openapi.documented-as')
/** The media type of an answer that is not JSON, e.g. `text/html` for the hosted pages. */
export const MEDIA_TYPE = Symbol.for('invoice-api.openapi.media-type')

export type ResponseHeaderName = 'ETag' | 'Location' | 'Cache-Control'

/** Publishes `schema` as a named component of the OpenAPI document, referenced wherever it is used. */
export function named<T extends TSchema>(name: string, schema: T): T {
  const marks = schema as Record<symbol, unknown>
  marks[SCHEMA_NAME] = name
  marks[SCHEMA_OPEN] = !('additionalProperties' in schema)
  return schema
}

/** A copy of `schema` (the same validation) with `marks` attached. */
function marked<T extends TSchema>(schema: T, marks: Record<symbol, unknown>): T {
  const copy = Object.create(Object.getPrototypeOf(schema), Object.getOwnPropertyDescriptors(schema)) as T
  Object.assign(copy, marks)
  return copy
}

/** The answer `schema` with the headers it carries, e.g. `sends(Customer, 'ETag', 'Location')` for a 201. */
export const sends = <T extends TSchema>(schema: T, ...headers: ResponseHeaderName[]): T =>
  marked(schema, { [RESPONSE_HEADERS]: headers })

/** The answer `schema`, described: e.g. the 503 of readiness. */
export const described = <T extends TSchema>(schema: T, description: string): T =>
  marked(schema, { [RESPONSE_DESCRIPTION]: description })

/**
 * Keywords for the document only: e.g. `limit`, whose range and default are applied in code
 * (shared/pagination.ts) so that its errors name the parameter, is documented as an integer 1–100, default 20.
 */
export const documentedAs = <T extends TSchema>(schema: T, keywords: Record<string, unknown>): T =>
  marked(schema, { [DOCUMENTED_AS]: keywords })

/** An HTML page as an answer: a string, published under `text/html`. */
export const htmlPage = (description: string) =>
  marked(t.String({ description }), { [MEDIA_TYPE]: 'text/html', [RESPONSE_DESCRIPTION]: description })

export const ErrorResponse = t.Object(
  {
    error: t.Object({
      code: t.String({ examples: ['VALIDATION_ERROR'] }),
      message: t.String(),
      requestId: t.String(),
      details: t.Optional(
        t.Array(
          t.Object({
            path: t.String(),
            message: t.String(),
            rule: t.Optional(
              t.String({ description: 'The EN 16931 (or XRechnung) rule, on `EINVOICE_INCOMPLETE` only' }),
            ),
          }),
        ),
      ),
    }),
  },
  { description: 'The error envelope every failure answers with' },
)

type StatusOf<C extends ErrorCode> = (typeof ERROR_STATUS)[C]

/**
 * The error answers particular to a route, by status, each with the codes it can carry: `errorAnswers('NOT_FOUND',
 * 'INVALID_STATUS_TRANSITION')` gives 404 and 409. The answers every route can give (400, 401, 405, 413–415, 429,
 * 431, 500, 503, and 409/412 of Idempotency-Key and If-Match) are added to the document from the route's
 * path, body and headers (src/plugins/openapi-document.ts).
 */
export function errorAnswers<const C extends readonly ErrorCode[]>(
  ...codes: C
): { [S in StatusOf<C[number]>]: typeof ErrorResponse } {
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of codes)
    byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code])
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [status, marked(ErrorResponse, { [ERROR_CODES]: list })]),
  ) as { [S in StatusOf<C[number]>]: typeof ErrorResponse }
}

/** Error answers that carry `headers` too: set by the handler before it failed, e.g. `Cache-Control`. */
export function errorsSending<T extends Record<number, TSchema>>(
  answers: T,
  ...headers: ResponseHeaderName[]
): T {
  return Object.fromEntries(
    Object.entries(answers).map(([status, schema]) => [
      status,
      marked(schema, { [RESPONSE_HEADERS]: headers }),
    ]),
  ) as T
}

/** An enum of strings. `t.UnionEnum` sets `default` to its first value, which Elysia would then apply. */
export function literals<const T extends readonly [string, ...string[]]>(
  values: T,
  options: { description?: string } = {},
) {
  const schema = t.UnionEnum(values, options)
  delete (schema as { default?: unknown }).default
  return schema
}

export const Nullable = <T extends TSchema>(schema: T) => t.Union([schema, t.Null()])

export const Text = (max: number) => t.String({ minLength: 1, maxLength: max })
export const OptionalNullable = <T extends TSchema>(schema: T) => t.Optional(Nullable(schema))

/**
 * The `limit` of a list. Its range is checked in code (shared/pagination.ts `pageSize`), so that the error names
 * the parameter; the document states it.
 */
export const PageLimit = t.Optional(
  documentedAs(t.Integer({ description: `Page size, 1–${MAX_PAGE_SIZE}; default ${DEFAULT_PAGE_SIZE}` }), {
    minimum: 1,
    maximum: MAX_PAGE_SIZE,
    default: DEFAULT_PAGE_SIZE,
  }),
)
/** The `nextCursor` of every list answer. */
export const NextCursor = () =>
  Nullable(t.String({ description: 'Pass as `cursor` for the next page; null on the last one' }))

export const PageCursor = t.Optional(
  t.String({ description: 'The `nextCursor` of the previous page; a value the API did not answer is a 400' }),
)

/** A postal address as answered: every field present, null when unknown. */
export const Address = named(
  'Address',
  t.Object({
    line1: Nullable(t.String()),
    line2: Nullable(t.String()),
    city: Nullable(t.String()),
    region: Nullable(t.String()),
    postalCode: Nullable(t.String()),
    country: Nullable(t.String({ description: 'ISO-3166 alpha-2' })),
  }),
)
export type Address = typeof Address.static

/** A postal address as sent: it replaces the stored one as a whole, absent fields becoming null. */
export const AddressInput = named(
  'AddressInput',
  t.Object(
    {
      line1: OptionalNullable(Text(200)),
      line2: OptionalNullable(Text(200)),
      city: OptionalNullable(Text(100)),
      region: OptionalNullable(Text(100)),
      postalCode: OptionalNullable(Text(20)),
      country: OptionalNullable(
        t.String({ format: 'iso-3166-alpha-2', description: 'ISO-3166 alpha-2, e.g. DE' }),
      ),
    },
    { additionalProperties: false },
  ),
)
export type AddressInput = typeof AddressInput.static

export const IfMatch = t.Optional(
  t.String({
    maxLength: 1000,
    description:
      'The ETag last seen, or a list of them (strong comparison: weak tags never match); 412 PRECONDITION_FAILED when none is current',
  }),
)
export const IfMatchHeaders = t.Object({ 'if-match': IfMatch })

/** A short-lived link to a stored document (an invoice's or a credit note's PDF). */
export const PdfLink = named(
  'PdfLink',
  t.Object(
    {
      url: t.String({ description: 'Downloads the PDF as `attachment; filename="INV-0001.pdf"`' }),
      expiresAt: t.String({ format: 'date-time', description: 'When the link stops working' }),
    },
    { description: 'A fresh, short-lived link to the stored PDF' },
  ),
)
