import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createTestApp, type TestApp } from '../helpers/app'
import { edenClient } from '../helpers/eden'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

type ErrorEnvelope = { error: { code: string; details?: { path: string; message: string }[] } }

let t: TestApp
beforeAll(async () => {
  // These tests send hundreds of requests from one client; the rate limit has its own tests.
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' })
})
afterAll(() => t.close())

const BASE = '/api/v1/customers'

const create = (token: string, json: unknown) => t.request(BASE, { method: 'POST', token, json })
const customers = (token: string) => edenClient(t, token).api.v1.customers
const get = (token: string, id: string) => customers(token)({ id }).get()
type PatchBody = Parameters<ReturnType<ReturnType<typeof customers>>['patch']>[0]
const patch = (token: string, id: string, body: PatchBody, ifMatch?: string) =>
  customers(token)({ id }).patch(body, { headers: ifMatch ? { 'if-match': ifMatch } : {} })
const remove = (token: string, id: string, ifMatch?: string) =>
  customers(token)({ id }).delete(undefined, { headers: ifMatch ? { 'if-match': ifMatch } : {} })
type ListQuery = NonNullable<Parameters<ReturnType<typeof customers>['get']>[0]>['query']
const list = async (token: string, query: ListQuery = {}) => {
  const { data, error, status } = await customers(token).get({ query })
  expect(status).toBe(200)
  if (error) throw error.value
  return data
}
type CustomerBody = Parameters<ReturnType<typeof customers>['post']>[0]
type Customer = Awaited<ReturnType<typeof list>>['data'][number]

async function created(token: string, body: CustomerBody): Promise<{ customer: Customer; etag: string }> {
  const { data, error, status, response } = await customers(token).post(body)
  expect(status).toBe(201)
  if (error) throw error.value
  return { customer: data, etag: response.headers.get('etag')! }
}

/** The error envelope of a refused answer, from the typed client or a raw response. */
async function expectError(
  answer: Response | { status: number; error: { value: unknown } | null },
  status: number,
  code: string,
): Promise<ErrorEnvelope> {
  expect(answer.status).toBe(status)
  const body = (answer instanceof Response ? await answer.json() : answer.error?.value) as ErrorEnvelope
  expect(body.error.code).toBe(code)
  return body
}

const detailPaths = (body: ErrorEnvelope) => body.error.details?.map((d) => d.path) ?? []

describe('creating a customer', () => {
  test('when the body is valid, then 201 with the customer, Location and ETag, strings trimmed', async () => {
    const token = await t.token()
    const res = await create(token, {
      name: '  Zoë Müller ',
      email: 'zoe@example.com',
      phone: '+49 30 1234567',
      taxId: 'DE123456789',
      address: { line1: ' Hauptstraße 1 ', city: 'Berlin', country: 'DE' },
      currency: 'EUR',
      notes: 'Pays on time',
    })
    expect(res.status).toBe(201)
    // Read raw: the client would turn the timestamps into dates, and their text is what is checked here.
    const customer = (await res.json()) as Customer
    expect(customer.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(res.headers.get('location')).toBe(`${BASE}/${customer.id}`)
    expect(res.headers.get('etag')).toBe(`"customer-${customer.id}-1"`)
    expect(customer).toMatchObject({
      name: 'Zoë Müller',
      email: 'zoe@example.com',
      phone: '+49 30 1234567',
      taxId: 'DE123456789',
      address: {
        line1: 'Hauptstraße 1',
        line2: null,
        city: 'Berlin',
        region: null,
        postalCode: null,
        country: 'DE',
      },
      currency: 'EUR',
      notes: 'Pays on time',
    })
    expect(customer.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
    expect(customer.updatedAt).toBe(customer.createdAt)
    expect(await (await t.request(`${BASE}/${customer.id}`, { token })).json()).toEqual(customer)
  })

  test('when only a name is sent, then every optional field is null', async () => {
    const { customer } = await created(await t.token(), { name: 'Ada' })
    expect(customer).toMatchObject({
      name: 'Ada',
      email: null,
      phone: null,
      taxId: null,
      address: null,
      currency: null,
      notes: null,
    })
  })

  const invalid: [string, unknown, string][] = [
    ['the name is missing', { email: 'a@example.com' }, '/name'],
    ['the name is blank after trimming', { name: '   ' }, '/name'],
    ['the name is longer than 200', { name: 'x'.repeat(201) }, '/name'],
    ['the email is not an email', { name: 'Ada', email: 'not-an-email' }, '/email'],
    ['the currency is not ISO-4217', { name: 'Ada', currency: 'EURO' }, '/currency'],
    ['the address country is not ISO-3166', { name: 'Ada', address: { country: 'XX' } }, '/address/country'],
    ['an address line is blank after trimming', { name: 'Ada', address: { city: '  ' } }, '/address/city'],
    ['a field is unknown', { name: 'Ada', total: 5 }, '/total'],
  ]
  for (const [when, body, path] of invalid) {
    test(`when ${when}, then 400 VALIDATION_ERROR naming ${path} and nothing is created`, async () => {
      const token = await t.token()
      const error = await expectError(await create(token, body), 400, 'VALIDATION_ERROR')
      expect(detailPaths(error)).toContain(path)
      expect((await list(token)).data).toHaveLength(0)
    })
  }

  test('when no token is sent, then 401', async () => {
    await expectError(await t.request(BASE, { method: 'POST', json: { name: 'Ada' } }), 401, 'UNAUTHORIZED')
  })
})

describe('reading, updating and deleting a customer', () => {
  test('when the id is not a UUID, then 400 VALIDATION_ERROR on /params/id for GET, PATCH and DELETE', async () => {
    const token = await t.token()
    for (const res of [
      await get(token, 'not-a-uuid'),
      await patch(token, 'not-a-uuid', { name: 'Ada' }),
      await remove(token, 'not-a-uuid'),
    ]) {
      expect(detailPaths(await expectError(res, 400, 'VALIDATION_ERROR'))).toEqual(['/params/id'])
    }
  })

  test('when the customer does not exist, then 404 NOT_FOUND', async () => {
    const token = await t.token()
    const id = crypto.randomUUID()
    await expectError(await get(token, id), 404, 'NOT_FOUND')
    await expectError(await patch(token, id, { name: 'Ada' }), 404, 'NOT_FOUND')
    await expectError(await remove(token, id), 404, 'NOT_FOUND')
  })

  test('when fields are patched, then only they change, the version and updatedAt move on, with a new ETag', async () => {
    const token = await t.token()
    const { customer, etag } = await created(token, {
      name: 'Ada',
      email: 'ada@example.com',
      phone: '123',
      address: { city: 'London', country: 'GB' },
    })
    await Bun.sleep(5)
    const res = await patch(
      token,
      customer.id,
      { name: ' Ada Lovelace ', phone: null, currency: 'GBP' },
      etag,
    )
    expect(res.status).toBe(200)
    expect(res.response.headers.get('etag')).toBe(`"customer-${customer.id}-2"`)
    if (res.error) throw res.error.value
    const updated = res.data
    expect(updated).toEqual({
      ...customer,
      name: 'Ada Lovelace',
      phone: null,
      currency: 'GBP',
      updatedAt: updated.updatedAt,
    })
    expect(new Date(updated.updatedAt).getTime()).toBeGreaterThan(new Date(customer.updatedAt).getTime())
    const read = await get(token, customer.id)
    expect(read.response.headers.get('etag')).toBe(`"customer-${customer.id}-2"`)
    expect(read.data).toEqual(updated)
  })

  test('when an address is patched, then it replaces the stored one as a whole', async () => {
    const token = await t.token()
    const { customer } = await created(token, { name: 'Ada', address: { line1: '1 Main St', city: 'Leeds' } })
    const { data: updated } = await patch(token, customer.id, { address: { country: 'FR' } })
    expect(updated?.address).toEqual({
      line1: null,
      line2: null,
      city: null,
      region: null,
      postalCode: null,
      country: 'FR',
    })
  })

  test('when a patch is empty, blanks the name or sets it to null, then 400 and nothing changes', async () => {
    const token = await t.token()
    const { customer } = await created(token, { name: 'Ada' })
    await expectError(await patch(token, customer.id, {}), 400, 'VALIDATION_ERROR')
    const blank = await expectError(await patch(token, customer.id, { name: ' ' }), 400, 'VALIDATION_ERROR')
    expect(detailPaths(blank)).toEqual(['/name'])
    const nameNull = await t.request(`${BASE}/${customer.id}`, {
      method: 'PATCH',
      token,
      json: { name: null },
    })
    await expectError(nameNull, 400, 'VALIDATION_ERROR')
    expect((await get(token, customer.id)).data).toEqual(customer)
  })

  test('when If-Match names an older version, then PATCH answers 412 and nothing changes', async () => {
    const token = await t.token()
    const { customer, etag } = await created(token, { name: 'Ada' })
    expect((await patch(token, customer.id, { notes: 'first' }, etag)).status).toBe(200)
    const before = await get(token, customer.id)
    const snapshot = before.data
    await expectError(await patch(token, customer.id, { notes: 'second' }, etag), 412, 'PRECONDITION_FAILED')
    const after = await get(token, customer.id)
    expect(after.data).toEqual(snapshot)
    expect(after.response.headers.get('etag')).toBe(before.response.headers.get('etag')!)
  })

  test('when If-Match names an older version, then DELETE answers 412 and the customer stays', async () => {
    const token = await t.token()
    const { customer, etag } = await created(token, { name: 'Ada' })
    const current = (await patch(token, customer.id, { notes: 'changed' }, etag)).response.headers.get(
      'etag',
    )!
    await expectError(await remove(token, customer.id, etag), 412, 'PRECONDITION_FAILED')
    expect((await get(token, customer.id)).status).toBe(200)
    // Raw, to read the body's text: the answer has none.
    const res = await t.request(`${BASE}/${customer.id}`, {
      method: 'DELETE',
      token,
      headers: { 'if-match': current },
    })
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
  })

  test('when a customer is deleted, then it is gone and a second delete is 404', async () => {
    const token = await t.token()
    const { customer } = await created(token, { name: 'Ada' })
    expect((await remove(token, customer.id)).status).toBe(204)
    await expectError(await get(token, customer.id), 404, 'NOT_FOUND')
    await expectError(await remove(token, customer.id), 404, 'NOT_FOUND')
    expect((await list(token)).data).toHaveLength(0)
  })

  test("when another user's customer is addressed, then GET, PATCH and DELETE answer 404 and it is unchanged", async () => {
    const owner = await t.token()
    const stranger = await t.token()
    const { customer, etag } = await created(owner, { name: 'Ada', email: 'ada@example.com' })
    const notFound = await expectError(await get(stranger, customer.id), 404, 'NOT_FOUND')
    const missing = await expectError(await get(stranger, crypto.randomUUID()), 404, 'NOT_FOUND')
    expect(notFound.error).toMatchObject({ code: missing.error.code })
    await expectError(await patch(stranger, customer.id, { name: 'Mallory' }, etag), 404, 'NOT_FOUND')
    await expectError(await remove(stranger, customer.id, etag), 404, 'NOT_FOUND')
    const after = await get(owner, customer.id)
    expect(after.response.headers.get('etag')).toBe(etag)
    expect(after.data).toEqual(customer)
    expect((await list(stranger)).data).toHaveLength(0)
  })

  test('when the customer has an invoice, then DELETE answers 409 CUSTOMER_HAS_INVOICES and keeps it', async () => {
    const token = await t.token()
    const { customer } = await created(token, { name: 'Ada', currency: 'EUR' })
    const invoice = await edenClient(t, token).api.v1.invoices.post({ customerId: customer.id })
    expect(invoice.status).toBe(201)
    await expectError(await remove(token, customer.id), 409, 'CUSTOMER_HAS_INVOICES')
    expect((await get(token, customer.id)).status).toBe(200)
  })
})

describe('listing customers', () => {
  async function createMany(token: string, count: number, prefix: string): Promise<string[]> {
    const ids: string[] = []
    for (let i = 0; i < count; i++) ids.push((await created(token, { name: `${prefix} ${i}` })).customer.id)
    return ids
  }

  async function walk(token: string, limit: number, between?: () => Promise<unknown>): Promise<Customer[][]> {
    const pages: Customer[][] = []
    let cursor: string | null = null
    do {
      const page = await list(token, cursor ? { limit, cursor } : { limit })
      pages.push(page.data)
      cursor = page.nextCursor
      if (between) await between()
    } while (cursor)
    return pages
  }

  test('when many customers were created in the same millisecond, then every page boundary keeps them all', async () => {
    const token = await t.token()
    const { data: me } = await edenClient(t, token).api.v1.me.get()
    // 30 rows a microsecond apart inside one millisecond: a cursor cut to milliseconds skips all but one.
    const rows = Array.from({ length: 30 }, (_, i) => ({
      user_id: me!.id,
      name: `Burst ${i}`,
      search_text: `burst ${i}`,
      created_at: `2026-06-01T10:00:00.123${String(100 + i).padStart(3, '0')}Z` as unknown as Date,
    }))
    await t.deps.database.db.insertInto('customers').values(rows).execute()
    for (const limit of [1, 4, 7]) {
      const pages = await walk(token, limit)
      const names = pages.flat().map((c) => c.name)
      expect(names).toHaveLength(30)
      expect(new Set(names).size).toBe(30)
      expect(names[0]).toBe('Burst 29')
    }
  })

  test('when 45 customers are walked in pages of 20, then each appears exactly once, newest first', async () => {
    const token = await t.token()
    const ids = await createMany(token, 45, 'Customer')
    const pages = await walk(token, 20)
    expect(pages.map((p) => p.length)).toEqual([20, 20, 5])
    const served = pages.flat()
    expect(served.map((c) => c.id).toSorted()).toEqual(ids.toSorted())
    const times = served.map((c) => new Date(c.createdAt).getTime())
    expect(times).toEqual(times.toSorted((a, b) => b - a))
  })

  test('when no limit is given, then a page holds 20', async () => {
    const token = await t.token()
    await createMany(token, 21, 'Customer')
    const page = await list(token)
    expect(page.data).toHaveLength(20)
    expect(page.nextCursor).not.toBeNull()
  })

  test('when customers are created between page fetches, then the original ones are served once each, none skipped', async () => {
    const token = await t.token()
    const originals = await createMany(token, 30, 'Original')
    let round = 0
    const pages = await walk(token, 7, () => createMany(token, 3, `New ${round++}`))
    const served = pages.flat().map((c) => c.id)
    expect(new Set(served).size).toBe(served.length)
    expect(served.filter((id) => originals.includes(id)).toSorted()).toEqual(originals.toSorted())
    expect((await list(token, { limit: 100 })).data).toHaveLength(30 + 3 * pages.length)
  })

  test('when the cursor is garbage or tampered with, then 400 VALIDATION_ERROR on /query/cursor', async () => {
    const token = await t.token()
    await createMany(token, 3, 'Customer')
    const { nextCursor } = await list(token, { limit: 1 })
    const decoded = JSON.parse(Buffer.from(nextCursor!, 'base64url').toString()) as {
      s: string
      k: unknown[]
    }
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const flipped = nextCursor!.slice(0, 10) + (nextCursor![10] === 'A' ? 'B' : 'A') + nextCursor!.slice(11)
    const bad = [
      'not a cursor',
      'bm90LWpzb24',
      flipped,
      `${nextCursor}x`,
      encode({ ...decoded, k: [decoded.k[0], 'not-a-uuid'] }),
      encode({ ...decoded, k: ['yesterday', decoded.k[1]] }),
      encode({ ...decoded, s: 'invoices:-issueDate' }),
      encode({ ...decoded, extra: 1 }),
      encode([1, 2]),
    ]
    for (const cursor of bad) {
      const res = await customers(token).get({ query: { cursor } })
      const error = await expectError(res, 400, 'VALIDATION_ERROR')
      expect(detailPaths(error)).toEqual(['/query/cursor'])
    }
    expect((await list(token, { cursor: nextCursor! })).data).toHaveLength(2)
  })

  test('when limit is 0, 101 or not an integer, then 400 VALIDATION_ERROR on /query/limit', async () => {
    const token = await t.token()
    for (const limit of ['0', '101', '-1', '2.5', 'ten']) {
      const error = await expectError(
        await t.request(`${BASE}?limit=${limit}`, { token }),
        400,
        'VALIDATION_ERROR',
      )
      expect(detailPaths(error)).toEqual(['/query/limit'])
    }
    expect((await list(token, { limit: 100 })).nextCursor).toBeNull()
  })

  test('when an unknown query parameter is sent, then 400 naming it', async () => {
    const error = await expectError(
      await t.request(`${BASE}?sort=name`, { token: await t.token() }),
      400,
      'VALIDATION_ERROR',
    )
    expect(detailPaths(error)).toEqual(['/query/sort'])
  })
})

describe('searching customers', () => {
  let token: string
  const names = new Map<string, string>()
  beforeAll(async () => {
    token = await t.token()
    for (const [name, email] of [
      ['Zoë Müller', 'billing@mueller.example'],
      ['ZOE TRADING', null],
      ['Jürgen Weiß', 'jw@example.com'],
      ['Acme Corp', 'ZOE@ACME.example'],
      ['100% Organic', null],
      ['1000 Organic', null],
      ['a_b Ltd', null],
      ['axb Ltd', null],
      ['Other', 'other@example.com'],
    ] as const) {
      names.set((await created(token, { name, email })).customer.id, name)
    }
  })
  const search = async (q: string) => (await list(token, { q })).data.map((c) => c.name).sort()

  test('when q has no accents, then names and emails with accents match, in any case', async () => {
    expect(await search('zoe')).toEqual(['Acme Corp', 'ZOE TRADING', 'Zoë Müller'])
  })

  test('when q is upper case, then lower- and mixed-case names match', async () => {
    expect(await search('MULLER')).toEqual(['Zoë Müller'])
    expect(await search('weiss')).toEqual(['Jürgen Weiß'])
  })

  test('when q carries accents or matches the email only, then it is folded the same way', async () => {
    expect(await search('  JÜRGEN ')).toEqual(['Jürgen Weiß'])
    expect(await search('mueller.example')).toEqual(['Zoë Müller'])
  })

  test('when q contains % or _, then they are matched literally', async () => {
    expect(await search('100%')).toEqual(['100% Organic'])
    expect(await search('a_b')).toEqual(['a_b Ltd'])
    expect(await search('%')).toEqual(['100% Organic'])
  })

  test('when q matches nothing, then the page is empty without a cursor', async () => {
    expect(await list(token, { q: 'nobody' })).toEqual({ data: [], nextCursor: null })
  })

  test('when a search spans pages, then the cursor keeps the filter', async () => {
    const first = await list(token, { q: 'organic', limit: 1 })
    const second = await list(token, { q: 'organic', limit: 1, cursor: first.nextCursor! })
    expect([...first.data, ...second.data].map((c) => c.name).sort()).toEqual([
      '100% Organic',
      '1000 Organic',
    ])
    expect(second.nextCursor).toBeNull()
  })

  test('when the name is patched, then search finds the new name and no longer the old one', async () => {
    const { customer } = await created(token, { name: 'Renamed Before' })
    await patch(token, customer.id, { name: 'Łukasz Après' })
    expect(await search('before')).toEqual([])
    expect(await search('lukasz apres')).toEqual(['Łukasz Après'])
  })
})

describe('the OpenAPI document', () => {
  test('when it is read, then the customer routes list their error answers', async () => {
    const doc = (await (await t.request('/docs/json')).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown>; tags?: string[] }>>
    }
    const item = doc.paths['/api/v1/customers/{id}']!
    expect(Object.keys(item['delete']!.responses)).toEqual(
      expect.arrayContaining(['204', '404', '409', '412']),
    )
    expect(Object.keys(item['patch']!.responses)).toEqual(expect.arrayContaining(['200', '404', '412']))
    expect(Object.keys(doc.paths['/api/v1/customers']!['post']!.responses)).toContain('201')
    expect(item['get']!.tags).toEqual(['Customers'])
  })
})
