import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { FormatRegistry } from '@sinclair/typebox'
import Ajv2020 from 'ajv/dist/2020'
import addFormats from 'ajv-formats'
import type { OpenApiDocument } from '../../src/plugins/openapi-document'
import { ERROR_STATUS, type ErrorCode } from '../../src/shared/errors'
import { fastFormats } from '../../src/shared/formats'
import { createTestApp, type TestApp } from '../helpers/app'
import { compileContract } from '../helpers/contract'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

let t: TestApp
let doc: Document
beforeAll(async () => {
  // The walk below sends a few hundred requests from one client; the rate limit has its own tests.
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' })
  doc = (await (await t.request('/docs/json')).json()) as Document
})
afterAll(() => t.close())

type Json = Record<string, unknown>
type Ref = { $ref: string }
type Header = { required?: boolean; schema: Json }
type Media = { schema: Json; example?: unknown; examples?: Record<string, { value: unknown }> }
type Response = { description: string; headers?: Record<string, Ref>; content?: Record<string, Media> }
type Parameter = { name: string; in: string; required?: boolean; schema: Json }
type Operation = {
  operationId: string
  parameters?: (Parameter | Ref)[]
  requestBody?: { content: Record<string, Media> }
  responses: Record<string, Response | Ref>
}
type Document = {
  openapi: string
  info: Json
  servers?: Json[]
  paths: Record<string, Record<string, Operation>>
  components: {
    schemas?: Record<string, Json>
    headers?: Record<string, Header>
    securitySchemes?: Record<string, Json>
  }
}

const resolve = <T>(item: T | Ref): T => {
  if (typeof item !== 'object' || item === null || !('$ref' in item)) return item as T
  const [, , kind, name] = item.$ref.split('/')
  const found = (doc.components as Record<string, Record<string, unknown> | undefined>)[kind!]?.[name!]
  if (!found) throw new Error(`${item.$ref} does not resolve`)
  return found as T
}

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item as Record<string, Operation>).map(([method, operation]) => ({
      path,
      method,
      operation,
    })),
  )

/** Every value of `key` anywhere under `value`. */
/** Every `format` of a schema (an object with a `type`), leaving out data that has a field of that name. */
function schemaFormats(value: unknown, into: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const item of value) schemaFormats(item, into)
  else if (value && typeof value === 'object') {
    const node = value as Record<string, unknown>
    if ('type' in node && typeof node['format'] === 'string') into.push(node['format'])
    for (const v of Object.values(node)) schemaFormats(v, into)
  }
  return into
}

function collect(value: unknown, key: string, into: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const item of value) collect(item, key, into)
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === key) into.push(v)
      collect(v, key, into)
    }
  }
  return into
}

const codeEnum = (response: Response): string[] => {
  const schema = response.content!['application/json']!.schema as { allOf: Json[] }
  expect(schema.allOf[0]).toEqual({ $ref: '#/components/schemas/Error' })
  return (schema.allOf[1] as { properties: { error: { properties: { code: { enum: string[] } } } } })
    .properties.error.properties.code.enum
}

const exampleCodes = (response: Response): string[] => {
  const media = response.content!['application/json']!
  const values = media.examples ? Object.values(media.examples).map((e) => e.value) : [media.example]
  return values.map((value) => (value as { error: { code: string } }).error.code)
}

describe('OpenAPI document', () => {
  test('when /docs/json is fetched, then it is OpenAPI 3.1 with servers, a licence, a bearer scheme and every route', async () => {
    const res = await t.request('/docs/json')
    expect(res.status).toBe(200)
    expect(doc.openapi).toMatch(/^3\.1\./)
    expect(doc.servers).toEqual([{ url: '/', description: expect.any(String) }])
    expect(doc.info['license']).toEqual({ name: 'Proprietary', identifier: 'LicenseRef-Proprietary' })
    expect(doc.components.securitySchemes?.['bearer']).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health', '/health/ready', '/api/v1/me']))
    const patch = doc.paths['/api/v1/me']!['patch']!
    expect(patch.requestBody as unknown).toEqual({
      required: true,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ProfilePatch' } } },
    })
    expect(doc.components.schemas?.['ProfilePatch']).toMatchObject({
      type: 'object',
      additionalProperties: false,
    })
    expect(Object.keys(patch.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '412']))
    expect(doc.paths['/files/{*}']).toBeUndefined()
  })

  test('when any /api route exists, then the document describes it with its error answers and JSON body', async () => {
    const routes = t.app.routes.filter((r) => r.path.startsWith('/api/') && r.method !== 'OPTIONS')
    expect(routes.length).toBeGreaterThanOrEqual(15)
    for (const route of routes) {
      const path = route.path.replace(/:(\w+)/g, '{$1}')
      const operation = doc.paths[path]?.[route.method.toLowerCase()]
      expect({ route: `${route.method} ${path}`, documented: operation !== undefined }).toEqual({
        route: `${route.method} ${path}`,
        documented: true,
      })
      const statuses = Object.keys(operation!.responses)
      expect(statuses).toEqual(
        expect.arrayContaining(['400', '401', '405', '414', '429', '431', '500', '503']),
      )
      if (route.method !== 'GET') expect(statuses).toEqual(expect.arrayContaining(['413', '415']))
      if (operation!.requestBody) {
        expect(Object.keys((operation!.requestBody as { content: object }).content)).toEqual([
          'application/json',
        ])
      }
    }
  })

  test('when the schemas are read, then resources are named components, referenced wherever they are used', () => {
    const schemas = doc.components.schemas ?? {}
    const expected = [
      'Address',
      'Aging',
      'Customer',
      'CustomerCreate',
      'CustomerList',
      'CustomerPatch',
      'Error',
      'ErrorDetail',
      'Health',
      'Invoice',
      'InvoiceCreate',
      'InvoiceEvent',
      'InvoiceEvents',
      'InvoiceItem',
      'InvoiceList',
      'InvoicePatch',
      'Me',
      'Payment',
      'PaymentCreate',
      'PdfLink',
      'Profile',
      'ProfilePatch',
      'Readiness',
      'Revenue',
      'Summary',
    ]
    expect(Object.keys(schemas)).toEqual(expect.arrayContaining(expected))
    // Every component is used, and nothing is inlined twice: a component appears once, by reference elsewhere.
    const refs = new Set(collect({ paths: doc.paths, components: doc.components }, '$ref') as string[])
    for (const name of Object.keys(schemas)) expect(refs).toContain(`#/components/schemas/${name}`)
    const success = (path: string, method: string, status: string) =>
      resolve<Response>(doc.paths[path]![method]!.responses[status]!).content!['application/json']!.schema
    expect(success('/api/v1/invoices/{id}', 'get', '200')).toEqual({ $ref: '#/components/schemas/Invoice' })
    expect(success('/api/v1/invoices', 'get', '200')).toEqual({ $ref: '#/components/schemas/InvoiceList' })
    expect(success('/api/v1/customers', 'post', '201')).toEqual({ $ref: '#/components/schemas/Customer' })
    expect(success('/api/v1/me', 'get', '200')).toEqual({ $ref: '#/components/schemas/Me' })
    expect(success('/api/v1/invoices/{id}/payments', 'post', '201')).toEqual({
      $ref: '#/components/schemas/Payment',
    })
    expect(success('/health/ready', 'get', '503')).toEqual({ $ref: '#/components/schemas/Readiness' })
    expect((schemas['InvoiceList'] as { properties: Json }).properties['data']).toEqual({
      type: 'array',
      items: { $ref: '#/components/schemas/Invoice' },
    })
    // A nullable use of a named schema refers to it too.
    expect((schemas['Customer'] as { properties: Json }).properties['address']).toEqual({
      anyOf: [{ $ref: '#/components/schemas/Address' }, { type: 'null' }],
    })
  })

  test('when an error answer is read, then its code is an enum of the codes that status carries, and its example matches', () => {
    const seen = new Set<string>()
    for (const { path, method, operation } of operations()) {
      for (const [status, declared] of Object.entries(operation.responses)) {
        if (Number(status) < 400 || (path === '/health/ready' && status === '503')) continue
        const response = resolve<Response>(declared)
        const codes = codeEnum(response)
        expect(codes.length).toBeGreaterThan(0)
        for (const code of codes) {
          const documented: number = ERROR_STATUS[code as ErrorCode]
          expect({ where: `${method} ${path} ${status}`, code, status: documented }).toEqual({
            where: `${method} ${path} ${status}`,
            code,
            status: Number(status),
          })
          seen.add(code)
        }
        expect(exampleCodes(response).sort()).toEqual([...codes].sort())
      }
    }
    // Every code of API.md that the documented routes can answer appears; FORBIDDEN is the download route's only.
    const all = Object.keys(ERROR_STATUS).filter((code) => code !== 'FORBIDDEN')
    expect([...seen].sort()).toEqual(all.sort())
    const errorEnum = (doc.components.schemas!['Error'] as { properties: { error: { properties: Json } } })
      .properties.error.properties['code']
    expect(errorEnum).toMatchObject({ type: 'string', enum: Object.keys(ERROR_STATUS) })

    const codesOf = (path: string, method: string, status: string) =>
      codeEnum(resolve<Response>(doc.paths[path]![method]!.responses[status]!))
    expect(codesOf('/api/v1/me', 'get', '401')).toEqual(['UNAUTHORIZED'])
    expect(codesOf('/api/v1/me', 'get', '400')).toEqual(['VALIDATION_ERROR'])
    expect(codesOf('/api/v1/me', 'patch', '400')).toEqual(['MALFORMED_JSON', 'VALIDATION_ERROR'])
    expect(codesOf('/api/v1/customers/{id}', 'delete', '409')).toEqual(['CUSTOMER_HAS_INVOICES'])
    expect(codesOf('/api/v1/customers', 'post', '409')).toEqual(['IDEMPOTENCY_KEY_REUSED'])
    expect(codesOf('/api/v1/invoices/{id}/payments', 'post', '409')).toEqual([
      'INVALID_STATUS_TRANSITION',
      'IDEMPOTENCY_KEY_REUSED',
    ])
    expect(codesOf('/api/v1/invoices/{id}/payments', 'post', '422')).toEqual(['PAYMENT_EXCEEDS_BALANCE'])
    expect(codesOf('/api/v1/invoices/{id}/mark-as-sent', 'post', '502')).toEqual(['PDF_GENERATION_FAILED'])
    expect(doc.paths['/api/v1/invoices/{id}']!['get']!.responses['409']).toBeUndefined()
    expect(doc.paths['/health']!['get']!.responses['401']).toBeUndefined()
  })

  test('when the answers are read, then each declares the headers it carries', () => {
    const headerNames = (path: string, method: string, status: string) =>
      Object.keys(resolve<Response>(doc.paths[path]![method]!.responses[status]!).headers ?? {})
    for (const { path, method, operation } of operations()) {
      for (const status of Object.keys(operation.responses)) {
        const names = headerNames(path, method, status)
        expect({ at: `${method} ${path} ${status}`, names }).toEqual({
          at: `${method} ${path} ${status}`,
          names: expect.arrayContaining(['X-Request-Id']),
        })
        if (path.startsWith('/api/') && status !== '414' && status !== '431') {
          expect(names).toEqual(
            expect.arrayContaining(['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']),
          )
        }
        if (status === '401') expect(names).toContain('WWW-Authenticate')
        if (status === '405') expect(names).toContain('Allow')
        if (status === '429') expect(names).toContain('Retry-After')
        if (status === '503' && path.startsWith('/api/')) expect(names).toContain('Retry-After')
        const idempotent = (operation.parameters ?? []).some(
          (p) => resolve<Parameter>(p).name === 'Idempotency-Key',
        )
        if (idempotent && Number(status) < 300) expect(names).toContain('Idempotent-Replayed')
      }
    }
    expect(headerNames('/api/v1/customers', 'post', '201')).toEqual(
      expect.arrayContaining(['ETag', 'Location']),
    )
    expect(headerNames('/api/v1/invoices', 'post', '201')).toEqual(
      expect.arrayContaining(['ETag', 'Location']),
    )
    expect(headerNames('/api/v1/invoices/{id}/payments', 'post', '201')).toContain('Location')
    for (const [path, method] of [
      ['/api/v1/me', 'get'],
      ['/api/v1/me', 'patch'],
      ['/api/v1/customers/{id}', 'get'],
      ['/api/v1/customers/{id}', 'patch'],
      ['/api/v1/invoices/{id}', 'get'],
      ['/api/v1/invoices/{id}', 'patch'],
      ['/api/v1/invoices/{id}/void', 'post'],
      ['/api/v1/invoices/{id}/mark-as-sent', 'post'],
    ] as const) {
      expect(headerNames(path, method, '200')).toContain('ETag')
    }
    expect(headerNames('/api/v1/invoices/{id}/pdf', 'get', '200')).toContain('Cache-Control')
    const headers = doc.components.headers as Record<string, Header>
    expect(headers['X-Request-Id']!.required).toBe(true)
    expect(headers['RateLimit-Limit']!.schema).toMatchObject({ type: 'integer' })
    // A 204 has no body.
    for (const path of ['/api/v1/customers/{id}', '/api/v1/invoices/{id}']) {
      const deleted = resolve<Response>(doc.paths[path]!['delete']!.responses['204']!)
      expect(deleted.content).toBeUndefined()
    }
  })

  test('when operation ids are read, then they are unique camelCase names', () => {
    const ids = operations().map(({ operation }) => operation.operationId)
    for (const id of ids) expect(id).toMatch(/^[a-z][A-Za-z0-9]*$/)
    expect(new Set(ids).size).toBe(ids.length)
    expect(doc.paths['/api/v1/invoices/{id}/mark-as-sent']!['post']!.operationId).toBe('markInvoiceAsSent')
  })

  test('when list parameters are read, then limit is an integer 1–100 with default 20', () => {
    for (const path of ['/api/v1/customers', '/api/v1/invoices']) {
      const limit = (doc.paths[path]!['get']!.parameters ?? [])
        .map((p) => resolve<Parameter>(p))
        .find((p) => p.name === 'limit')
      expect(limit).toMatchObject({
        in: 'query',
        required: false,
        schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
      })
      expect(JSON.stringify(limit)).not.toContain('anyOf')
    }
  })

  test('when Ajv with its default options and ajv-formats compiles every schema, then none is refused and every example is valid', () => {
    const ajv = new Ajv2020()
    addFormats(ajv)
    // The formats of typed schemas only: examples carry data, such as an e-invoice link's own `format` field.
    const formats = new Set(schemaFormats(doc))
    for (const format of formats)
      expect(['date', 'date-time', 'email', 'uuid', 'uri', 'uri-reference']).toContain(format as string)
    const rebase = (schema: unknown) =>
      JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"components#/$defs/'))
    ajv.addSchema({ $id: 'components', $defs: rebase(doc.components.schemas) })
    for (const name of Object.keys(doc.components.schemas ?? {})) {
      expect(ajv.getSchema(`components#/$defs/${name}`)).toBeFunction()
    }
    const check = (where: string, schema: Json, examples: unknown[]) => {
      const validate = ajv.compile(rebase(schema))
      for (const example of examples) {
        expect({ where, valid: validate(example), errors: validate.errors ?? null }).toEqual({
          where,
          valid: true,
          errors: null,
        })
      }
    }
    for (const [name, schema] of Object.entries(doc.components.schemas ?? {})) {
      check(`schema ${name}`, schema, (schema['examples'] as unknown[] | undefined) ?? [])
    }
    const media = (content: Record<string, Media> | undefined) => Object.values(content ?? {})
    for (const { path, method, operation } of operations()) {
      for (const p of operation.parameters ?? [])
        check(`${method} ${path} parameter`, resolve<Parameter>(p).schema, [])
      for (const m of media(operation.requestBody?.content)) check(`${method} ${path} body`, m.schema, [])
      for (const [status, declared] of Object.entries(operation.responses)) {
        const response = resolve<Response>(declared)
        for (const header of Object.values(response.headers ?? {}))
          check('header', resolve<Header>(header).schema, [])
        for (const m of media(response.content)) {
          const examples = m.examples
            ? Object.values(m.examples).map((e) => e.value)
            : m.example
              ? [m.example]
              : []
          check(`${method} ${path} ${status}`, m.schema, examples)
        }
      }
    }
  }, 30_000)

  test('when every route is sent each kind of request the API refuses, then each answer is one its operation documents', async () => {
    // Each answer passes through the contract check of `request()`: an undocumented status, header or body fails.
    const token = await t.token()
    const id = crypto.randomUUID()
    let sent = 0
    for (const { path, method } of operations()) {
      const url = path.replace(/\{[^}]+\}/g, id)
      const verb = method.toUpperCase()
      const auth = path.startsWith('/api/') ? { token } : {}
      const send = async (target: string, init: RequestInit & { token?: string } = {}) => {
        sent++
        return (await t.request(target, { method: verb, ...auth, ...init })).status
      }
      expect(await send(`${url}?x=${'a'.repeat(9000)}`)).toBe(414)
      expect(await send(url, { headers: { 'x-padding': 'a'.repeat(17_000) } })).toBe(431)
      expect(await send(`${url}?%ZZ`)).toBe(400)
      expect(await send(url, { method: 'PUT' })).toBe(405)
      // GET's answer without its body where GET is answered, else 405.
      expect(await send(url, { method: 'HEAD' })).toBeLessThan(500)
      if (path.startsWith('/api/')) {
        const body = verb === 'GET' ? {} : { json: {} }
        expect(await send(url, { token: undefined, ...body })).toBe(401)
      }
      if (verb !== 'GET') {
        const text = { headers: { 'content-type': 'text/plain' }, body: 'hello' }
        expect(await send(url, text)).toBe(415)
        const json = { 'content-type': 'application/json' }
        expect(await send(url, { headers: json, body: '{"unclosed": ' })).toBe(400)
        expect(await send(url, { headers: json, body: `"${'a'.repeat(1024 * 1024)}"` })).toBe(413)
      }
    }
    expect(sent).toBeGreaterThan(100)
  })

  test('when an answer is not what the document says, then the contract check names the problem', () => {
    const contract = compileContract(doc as unknown as OpenApiDocument)
    const headers = (extra: Record<string, string> = {}) =>
      new Headers({ 'content-type': 'application/json', 'x-request-id': 'req-12345678', ...extra })
    const url = 'http://localhost/api/v1/customers/0b9e6a4e-5a41-4a0e-9d43-2a4d8f0f6c11'
    expect(contract.problems('GET', url, 418, headers(), '{}')).toEqual([
      expect.stringContaining('status 418 is not documented'),
    ])
    expect(contract.problems('GET', url, 404, headers({ 'x-secret': '1' }), '{}')).toEqual(
      expect.arrayContaining([
        'header x-secret is sent but not declared',
        expect.stringContaining("must have required property 'error'"),
      ]),
    )
    const notFound = (code: string) => JSON.stringify({ error: { code, message: 'm', requestId: 'r' } })
    expect(contract.problems('GET', url, 404, headers(), notFound('NOT_FOUND'))).toEqual([])
    expect(contract.problems('GET', url, 404, headers(), notFound('VALIDATION_ERROR'))).toEqual(
      expect.arrayContaining([expect.stringContaining('must be equal to one of the allowed values')]),
    )
    // Fields the document does not name are refused, though the document leaves objects open for clients.
    const extra = JSON.stringify({ error: { code: 'NOT_FOUND', message: 'm', requestId: 'r', stack: '…' } })
    expect(contract.problems('GET', url, 404, headers(), extra)).toEqual(
      expect.arrayContaining([expect.stringContaining('must NOT have additional properties')]),
    )
    expect(contract.problems('GET', url, 401, headers(), notFound('UNAUTHORIZED'))).toEqual([
      'header www-authenticate is required but missing',
    ])
    expect(contract.problems('GET', 'http://localhost/files/x', 500, headers(), 'x')).toEqual([])
  })

  test('when the OpenAPI plugin is loaded, then the hot string formats keep their plain checks', async () => {
    for (const [name, check] of Object.entries(fastFormats)) expect(FormatRegistry.Get(name)).toBe(check)
    expect(FormatRegistry.Get('uuid')!('0b9e6a4e-5a41-4a0e-9d43-2a4d8f0f6c11')).toBe(true)
    expect(FormatRegistry.Get('uuid')!('not-a-uuid')).toBe(false)
  })

  test('when /docs is fetched, then an HTML reference page answers', async () => {
    const res = await t.request('/docs')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/html')
  })
})
