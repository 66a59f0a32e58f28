import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createTestApp, type TestApp } from '../helpers/app'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

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

  test('when a query parameter carries a control character or bytes that are not UTF-8, then 400 names it', async () => {
    const token = await t.token()
    for (const q of [
      '%00',
      'a%01b',
      'x%C2%85',
      '%E2%80%8B%00',
      '%ED%A0%80',
      'x%00%ED%A0%80',
      '%FF',
      '100%',
    ]) {
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

  test('when a request that needs a body sends none and no token, then 401; with a token, 400 names the body', async () => {
    for (const [method, path] of [
      ['PATCH', '/api/v1/me'],
      ['POST', '/api/v1/customers'],
    ] as const) {
      const anonymous = await t.app.handle(new Request(`http://localhost${path}`, { method }))
      expect(anonymous.status).toBe(401)
      const signed = await t.request(path, { method, token: await t.token() })
      expect(signed.status).toBe(400)
      expect((await errorOf(signed)).error.code).toBe('VALIDATION_ERROR')
    }
  })

  test('when the scheme name is written in another case, then the token is accepted', async () => {
    const token = await t.token()
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const res = await t.request('/api/v1/me', { headers: { authorization: `${scheme} ${token}` } })
      expect(res.status).toBe(200)
    }
  })
})

async function issuedInvoice(token: string): Promise<{ id: string; etag: string }> {
  await t.request('/api/v1/me', {
    method: 'PATCH',
    token,
    json: { defaultCurrency: 'EUR', defaultTaxRate: 0 },
  })
  const customer = (await (await createCustomer(token, { name: 'Payer' })).json()) as { id: string }
  const draft = await t.request('/api/v1/invoices', {
    method: 'POST',
    token,
    json: { customerId: customer.id, items: [{ description: 'Work', quantity: 1, unitPrice: 100_000 }] },
  })
  const { id } = (await draft.json()) as { id: string }
  const sent = await t.request(`/api/v1/invoices/${id}/mark-as-sent`, { method: 'POST', token })
  expect(sent.status).toBe(200)
  return { id, etag: sent.headers.get('etag')! }
}

describe('timestamps, dates, currencies and cursors', () => {
  test('when paidAt is not a strict RFC 3339 timestamp of 1970–9999, then 400 on /paidAt and nothing is recorded', async () => {
    const token = await t.token()
    const { id } = await issuedInvoice(token)
    for (const paidAt of [
      '01/02/2026',
      '2026-02-30T10:00:00Z',
      '2026-01-01T10:00:00',
      '2026-01-01 10:00:00Z',
      '0001-01-01T00:00:00Z',
      '0000-01-01T00:00:00Z',
      '1969-12-31T23:59:59Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T10:00:60Z',
      '2026-01-01T10:00:00+25:00',
      '+002026-01-01T10:00:00Z',
      '2026-01-01',
    ]) {
      const res = await t.request(`/api/v1/invoices/${id}/payments`, {
        method: 'POST',
        token,
        json: { amount: 1, paidAt },
      })
      expect(res.status).toBe(400)
      expect((await errorOf(res)).error.details?.map((d) => d.path)).toEqual(['/paidAt'])
    }
    const invoice = (await (await t.request(`/api/v1/invoices/${id}`, { token })).json()) as {
      amountPaid: number
    }
    expect(invoice.amountPaid).toBe(0)
  })

  test('when paidAt carries an offset or sub-millisecond digits, then it comes back as the stored UTC instant', async () => {
    const token = await t.token()
    const { id } = await issuedInvoice(token)
    for (const [paidAt, stored] of [
      ['2026-01-15T12:00:00+02:00', '2026-01-15T10:00:00.000Z'],
      ['2026-01-15T12:00:00.123456z', '2026-01-15T12:00:00.123Z'],
      ['1970-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z'],
      ['2024-02-29T23:30:00-01:30', '2024-03-01T01:00:00.000Z'],
    ]) {
      const res = await t.request(`/api/v1/invoices/${id}/payments`, {
        method: 'POST',
        token,
        json: { amount: 1, paidAt },
      })
      expect(res.status).toBe(201)
      expect(((await res.json()) as { paidAt: string }).paidAt).toBe(stored!)
    }
  })

  test('when a cursor is well-formed but names an impossible date or time, then 400 on /query/cursor', async () => {
    const token = await t.token()
    const cursor = (sort: string, keys: unknown[]) =>
      Buffer.from(JSON.stringify({ s: sort, k: keys }), 'utf8').toString('base64url')
    const id = crypto.randomUUID()
    for (const [list, value] of [
      ['/api/v1/invoices', cursor('invoices:-issueDate', ['2026-02-30', id])],
      ['/api/v1/invoices', cursor('invoices:-issueDate', ['0000-01-01', id])],
      ['/api/v1/invoices?sort=dueDate', cursor('invoices:dueDate', ['2026-13-01', id])],
      ['/api/v1/customers', cursor('customers:-createdAt', ['2026-02-30T10:00:00.000000Z', id])],
      ['/api/v1/customers', cursor('customers:-createdAt', ['2026-01-01T25:00:00.000000Z', id])],
      ['/api/v1/customers', cursor('customers:-createdAt', ['0000-01-01T00:00:00.000000Z', id])],
    ] as const) {
      const res = await t.request(`${list}${list.includes('?') ? '&' : '?'}cursor=${value}`, { token })
      expect(res.status).toBe(400)
      expect((await errorOf(res)).error.details?.map((d) => d.path)).toEqual(['/query/cursor'])
    }
  })

  test('when a currency is not an active ISO 4217 code, then 400 names it wherever it is sent', async () => {
    const token = await t.token()
    const customer = (await (await createCustomer(token, { name: 'C' })).json()) as { id: string }
    for (const currency of ['XXX', 'XTS', 'XAU', 'XDR', 'USN', 'DEM', 'HRK']) {
      const sent: [Response, string][] = [
        [await createCustomer(token, { name: 'C', currency }), '/currency'],
        [
          await t.request('/api/v1/me', { method: 'PATCH', token, json: { defaultCurrency: currency } }),
          '/defaultCurrency',
        ],
        [
          await t.request('/api/v1/invoices', {
            method: 'POST',
            token,
            json: { customerId: customer.id, currency, items: [] },
          }),
          '/currency',
        ],
      ]
      for (const [res, path] of sent) {
        expect(res.status).toBe(400)
        expect((await errorOf(res)).error.details?.map((d) => d.path)).toContain(path)
      }
    }
    for (const currency of ['XOF', 'XCG', 'ZWG', 'SLE']) {
      expect((await createCustomer(token, { name: 'C', currency })).status).toBe(201)
    }
  })

  test('when issueDate is 9999-12-31 and no dueDate is sent, then 400 asks for dueDate', async () => {
    const token = await t.token()
    const customer = (await (await createCustomer(token, { name: 'C', currency: 'EUR' })).json()) as {
      id: string
    }
    const res = await t.request('/api/v1/invoices', {
      method: 'POST',
      token,
      json: { customerId: customer.id, issueDate: '9999-12-31' },
    })
    expect(res.status).toBe(400)
    const details = (await errorOf(res)).error.details!
    expect(details.map((d) => d.path)).toEqual(['/dueDate'])
    expect(details[0]!.message).toContain('9999-12-31')
    const explicit = await t.request('/api/v1/invoices', {
      method: 'POST',
      token,
      json: { customerId: customer.id, issueDate: '9999-12-31', dueDate: '9999-12-31' },
    })
    expect(explicit.status).toBe(201)
  })
})

describe('If-Match', () => {
  test('when it is weak, names another version, or is not a list of entity tags, then nothing changes', async () => {
    const token = await t.token()
    const created = await createCustomer(token, { name: 'Versioned' })
    const { id } = (await created.json()) as { id: string }
    const etag = created.headers.get('etag')!
    const patch = (ifMatch: string) =>
      t.request(`/api/v1/customers/${id}`, {
        method: 'PATCH',
        token,
        json: { notes: 'changed' },
        headers: { 'if-match': ifMatch },
      })
    expect((await patch(`W/${etag}`)).status).toBe(412)
    expect((await patch(`"customer-${id}-99"`)).status).toBe(412)
    for (const garbage of ['nope', `${etag.slice(1)}`, ',', 'W/', '"a" "b"']) {
      const res = await patch(garbage)
      expect(res.status).toBe(400)
      expect((await errorOf(res)).error.details?.map((d) => d.path)).toEqual(['/headers/if-match'])
    }
    const current = await t.request(`/api/v1/customers/${id}`, { token })
    expect(((await current.json()) as { notes: string | null }).notes).toBeNull()
    const listed = await patch(`"customer-${id}-99", W/${etag}, ${etag}`)
    expect(listed.status).toBe(200)
  })
})
