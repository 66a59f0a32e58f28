import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createTestApp, type TestApp } from '../helpers/app'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

let t: TestApp
let token: string
beforeAll(async () => {
  t = await createTestApp()
  token = await t.token()
})
afterAll(() => t.close())

type ErrorEnvelope = {
  error: { code: string; message: string; requestId: string; details?: { path: string; message: string }[] }
}

async function expectError(res: Response, status: number, code: string): Promise<ErrorEnvelope> {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toContain('application/json')
  const body = (await res.json()) as ErrorEnvelope
  expect(body.error.code).toBe(code)
  expect(body.error.message.length).toBeGreaterThan(0)
  expect(body.error.requestId).toBe(res.headers.get('x-request-id')!)
  return body
}

const patchMe = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  t.request('/api/v1/me', { method: 'PATCH', token, headers, body })

describe('error envelope', () => {
  test('when a route does not exist, then 404 NOT_FOUND in the envelope', async () => {
    await expectError(await t.request('/nope'), 404, 'NOT_FOUND')
    await expectError(await t.request('/api/v1/nope', { token }), 404, 'NOT_FOUND')
  })

  test('when the path exists with another method, then 405 METHOD_NOT_ALLOWED with Allow', async () => {
    const res = await t.request('/health', { method: 'DELETE' })
    await expectError(res, 405, 'METHOD_NOT_ALLOWED')
    expect(res.headers.get('allow')).toBe('GET')
    const me = await t.request('/api/v1/me', { method: 'PUT', token })
    await expectError(me, 405, 'METHOD_NOT_ALLOWED')
    expect(me.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'PATCH'])
  })

  test('when the body is not valid JSON, then 400 MALFORMED_JSON and nothing changes', async () => {
    const before = await (await t.request('/api/v1/me', { token })).json()
    await expectError(await patchMe('{"companyName": "Acme",'), 400, 'MALFORMED_JSON')
    await expectError(await patchMe('\xff\xfe'), 400, 'MALFORMED_JSON')
    expect(await (await t.request('/api/v1/me', { token })).json()).toEqual(before)
  })

  test('when the body is not JSON, then 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    await expectError(
      await patchMe('companyName=Acme', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    )
    await expectError(await patchMe('hello', { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE')
  })

  test('when the body is over 1 MiB, then 413 PAYLOAD_TOO_LARGE', async () => {
    const big = JSON.stringify({ companyName: 'x'.repeat(1024 * 1024 + 10) })
    await expectError(await patchMe(big), 413, 'PAYLOAD_TOO_LARGE')
  })

  test('when fields are unknown, of the wrong type or out of range, then 400 VALIDATION_ERROR naming each', async () => {
    const body = await expectError(
      await patchMe(JSON.stringify({ companyName: 42, paymentTermsDays: 366, total: 5 })),
      400,
      'VALIDATION_ERROR',
    )
    const paths = body.error.details!.map((d) => d.path)
    expect(paths).toContain('/companyName')
    expect(paths).toContain('/paymentTermsDays')
    expect(paths).toContain('/total')
  })

  test('when the token is missing, then 401 UNAUTHORIZED with WWW-Authenticate: Bearer', async () => {
    const res = await t.request('/api/v1/me')
    await expectError(res, 401, 'UNAUTHORIZED')
    expect(res.headers.get('www-authenticate')).toBe('Bearer')
  })

  test('when a handler fails unexpectedly, then 500 INTERNAL_ERROR without the stack, and the log has it', async () => {
    const own = await createTestApp()
    own.app.get('/boom', () => {
      throw new Error('secret internals')
    })
    const res = await own.request('/boom')
    await own.close()
    const body = await expectError(res, 500, 'INTERNAL_ERROR')
    expect(JSON.stringify(body)).not.toContain('secret internals')
    const line = own.logs.find((l) => l.code === 'INTERNAL_ERROR' && l.requestId === body.error.requestId)
    expect(JSON.stringify(line)).toContain('secret internals')
    expect(JSON.stringify(line)).toContain('stack')
  })
})

describe('request id and security headers', () => {
  test('when a well-formed X-Request-Id comes in, then it is echoed; otherwise a new UUID', async () => {
    const echoed = await t.request('/health', { headers: { 'x-request-id': 'client-req-12345' } })
    expect(echoed.headers.get('x-request-id')).toBe('client-req-12345')
    const replaced = await t.request('/health', {
      headers: { 'x-request-id': 'bad id with spaces <script>' },
    })
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    const fresh = await t.request('/health')
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  test('when any answer goes out, success or error, then it carries the security headers', async () => {
    for (const res of [await t.request('/health'), await t.request('/nope'), await t.request('/api/v1/me')]) {
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains')
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('x-frame-options')).toBe('DENY')
      expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    }
  })
})
