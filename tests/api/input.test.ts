import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createTestApp, type TestApp } from '../helpers/app'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' })
})
afterAll(() => t.close())

type ErrorBody = { error: { code: string; message: string; details?: { path: string; message: string }[] } }
const errorOf = async (res: Response) => (await res.json()) as ErrorBody

async function customerCount(token: string): Promise<number> {
  const res = await t.request('/api/v1/customers?limit=100', { token })
  return ((await res.json()) as { data: unknown[] }).data.length
}

const createCustomer = (token: string, json: unknown) =>
  t.request('/api/v1/customers', { method: 'POST', token, json })

describe('text in requests', () => {
  test('when a string carries NUL, another control character or an unpaired surrogate, then 400 names the field and nothing is stored', async () => {
    const token = await t.token()
    const cases: [unknown, string][] = [
      [{ name: 'Ac\u0000me' }, '/name'],
      [{ name: 'Acme', notes: 'line\u0000' }, '/notes'],
      [{ name: 'Acme\u0007' }, '/name'],
      [{ name: 'Acme\u0085' }, '/name'],
      [{ name: 'Acme\nLtd' }, '/name'],
      [{ name: 'Acme\rLtd', notes: 'ok' }, '/name'],
      [{ name: 'Acme', notes: 'a\rb' }, '/notes'],
      [{ name: 'Acme\uD800' }, '/name'],
      [{ name: 'Acme', address: { line1: 'Main St\u0000', city: 'Berlin' } }, '/address/line1'],
      [{ name: 'Acme', address: { city: 'Ber\uDC00lin' } }, '/address/city'],
    ]
    for (const [body, path] of cases) {
      const res = await createCustomer(token, body)
      expect(res.status).toBe(400)
      const error = await errorOf(res)
      expect(error.error.code).toBe('VALIDATION_ERROR')
      expect(error.error.details?.map((d) => d.path)).toContain(path)
    }
    expect(await customerCount(token)).toBe(0)
  })

  test('when a query parameter carries NUL or another control character, then 400 names it', async () => {
    const token = await t.token()
    for (const q of ['%00', 'a%01b', 'x%C2%85', '%E2%80%8B%00']) {
      for (const list of ['/api/v1/customers', '/api/v1/invoices']) {
        const res = await t.request(`${list}?q=${q}`, { token })
        expect(res.status).toBe(400)
        expect((await errorOf(res)).error.details?.map((d) => d.path)).toContain('/query/q')
      }
    }
  })

  test('when multi-line fields carry line breaks and tabs, then they are kept, with CRLF stored as LF', async () => {
    const token = await t.token()
    const res = await createCustomer(token, {
      name: 'Acme',
      notes: 'first\r\nsecond\n\tindented',
      address: { line1: 'Hof 2\nAufgang B', city: 'Wien' },
    })
    expect(res.status).toBe(201)
    const customer = (await res.json()) as { notes: string; address: { line1: string } }
    expect(customer.notes).toBe('first\nsecond\n\tindented')
    expect(customer.address.line1).toBe('Hof 2\nAufgang B')
  })

  test('when text arrives decomposed, then it is stored NFC-normalised and found by either form', async () => {
    const token = await t.token()
    const res = await createCustomer(token, { name: 'Zoe\u0308 Mu\u0308ller' })
    expect(res.status).toBe(201)
    expect(((await res.json()) as { name: string }).name).toBe('Zoë Müller')
    const found = await t.request(`/api/v1/customers?q=${encodeURIComponent('Mu\u0308ller')}`, { token })
    expect(((await found.json()) as { data: unknown[] }).data).toHaveLength(1)
  })

  test('when a token carries NUL in its subject or email, then 400 names the claim and no user is created', async () => {
    for (const [claims, path] of [
      [{ sub: 'user\u0000one' }, '/token/sub'],
      [{ sub: crypto.randomUUID(), email: 'a\u0000@example.com' }, '/token/email'],
    ] as const) {
      const token = await t.issuer.sign(claims, { tokenUse: 'id' })
      const res = await t.request('/api/v1/me', { token })
      expect(res.status).toBe(400)
      expect((await errorOf(res)).error.details?.map((d) => d.path)).toEqual([path])
    }
    const users = await t.deps.database.sql`select 1 from users where cognito_sub like 'user%one'`
    expect(users).toHaveLength(0)
  })
})

describe('authentication comes first', () => {
  const huge = JSON.stringify({ name: 'x', items: Array.from({ length: 200_000 }, () => 1) })

  test('when a request without a valid token has a bad, malformed, foreign or oversized body, then 401', async () => {
    const bad = await t.issuer.sign({}, { expiresIn: '-1h' })
    const bodies: [string | undefined, string][] = [
      ['{"name": 5, "unknown": true}', 'application/json'],
      ['{"name": ', 'application/json'],
      ['name=x', 'application/x-www-form-urlencoded'],
      [huge, 'application/json'],
      ['x'.repeat(1024 * 1024 + 10), 'application/json'],
    ]
    for (const authorization of [undefined, 'Bearer nope', `Bearer ${bad}`]) {
      for (const [body, type] of bodies) {
        const headers: Record<string, string> = { 'content-type': type }
        if (authorization) headers['authorization'] = authorization
        const res = await t.request('/api/v1/customers', { method: 'POST', headers, body })
        expect(res.status).toBe(401)
        expect(res.headers.get('www-authenticate')).toStartWith('Bearer')
        expect((await res.text()).length).toBeLessThan(500)
      }
      const query = await t.request('/api/v1/invoices?limit=0&status=nope&cursor=%00', {
        headers: authorization ? { authorization } : {},
      })
      expect(query.status).toBe(401)
    }
  })

  test('when the same bodies come with a valid token, then each gets its own error, and none echoes a large value', async () => {
    const token = await t.token()
    const send = (body: string, type = 'application/json') =>
      t.request('/api/v1/customers', { method: 'POST', token, headers: { 'content-type': type }, body })
    expect((await errorOf(await send('{"name": '))).error.code).toBe('MALFORMED_JSON')
    expect((await send('name=x', 'text/plain')).status).toBe(415)
    expect((await send('x'.repeat(1024 * 1024 + 10))).status).toBe(413)
    const big = await send(huge)
    expect(big.status).toBe(400)
    expect((await big.text()).length).toBeLessThan(16 * 1024)
    const longKey = await send(JSON.stringify({ name: 'x', ['k'.repeat(100_000)]: 1 }))
    expect(longKey.status).toBe(400)
    expect((await longKey.text()).length).toBeLessThan(16 * 1024)
  })

  test('when the scheme name is written in another case, then the token is accepted', async () => {
    const token = await t.token()
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const res = await t.request('/api/v1/me', { headers: { authorization: `${scheme} ${token}` } })
      expect(res.status).toBe(200)
    }
  })
})
