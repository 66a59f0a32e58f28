import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import type { CustomerCreate } from '../../src/modules/customers/model'
import type { Invoice, InvoiceCreate, InvoiceListQuery, InvoicePatch } from '../../src/modules/invoices/model'
import type { ProfilePatch } from '../../src/modules/me/model'
import { todayIn } from '../../src/shared/dates'
import { createTestApp, type TestApp } from '../helpers/app'
import { edenClient } from '../helpers/eden'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

type Json = Record<string, unknown>

async function newUser(profile: ProfilePatch = { defaultCurrency: 'EUR', defaultTaxRate: 19 }) {
  const token = await t.token()
  if (Object.keys(profile).length > 0) {
    const { status } = await edenClient(t, token).api.v1.me.patch(profile)
    expect(status).toBe(200)
  }
  return token
}

async function newCustomer(token: string, body: CustomerCreate = { name: 'Ada Lovelace' }) {
  const { data, status } = await edenClient(t, token).api.v1.customers.post(body)
  expect(status).toBe(201)
  return data!.id
}

/** For bodies the types forbid: invalid values, unknown fields, totals. */
const post = (token: string, json: unknown, headers: Record<string, string> = {}) =>
  t.request('/api/v1/invoices', { method: 'POST', token, json, headers })

async function createInvoice(token: string, body: InvoiceCreate) {
  const { data, status } = await edenClient(t, token).api.v1.invoices.post(body)
  expect(status).toBe(201)
  return data!
}

const paths = async (res: Response) =>
  (((await res.json()) as { error: { details?: { path: string }[] } }).error.details ?? []).map((d) => d.path)

describe('creating drafts', () => {
  test('when items are sent, then the server computes every line and total exactly as API.md', async () => {
    const token = await newUser()
    const customerId = await newCustomer(token)
    const {
      data: invoice,
      status,
      response,
    } = await edenClient(t, token).api.v1.invoices.post({
      customerId,
      discountPercent: 10,
      items: [
        { description: 'Design', quantity: 3, unitPrice: 1999, taxRate: 19 },
        { description: 'Hosting', quantity: 1, unitPrice: 5000, taxRate: 7.25 },
        { description: 'Hours', quantity: 1.5, unitPrice: 3333, taxRate: 0 },
      ],
    })
    expect(status).toBe(201)
    expect(response.headers.get('location')).toMatch(/^\/api\/v1\/invoices\/[0-9a-f-]{36}$/)
    expect(response.headers.get('etag')).toMatch(/^"invoice-/)
    expect(invoice?.status).toBe('draft')
    expect(invoice?.number).toBeNull()
    expect(
      invoice?.items.map(({ subtotal, discount, tax, total }) => ({ subtotal, discount, tax, total })),
    ).toEqual([
      { subtotal: 5997, discount: 600, tax: 1025, total: 6422 },
      { subtotal: 5000, discount: 500, tax: 326, total: 4826 },
      { subtotal: 5000, discount: 500, tax: 0, total: 4500 },
    ])
    expect(invoice).toMatchObject({
      subtotal: 15997,
      discountTotal: 1600,
      taxTotal: 1351,
      total: 15748,
      amountPaid: 0,
      amountDue: 15748,
      isOverdue: false,
      payments: [],
      pdf: null,
      version: 1,
    })
    expect(invoice?.items[2]?.quantity).toBe(1.5)
  })

  test('when optional fields are left out, then currency, dates and tax rate come from customer and profile', async () => {
    const token = await newUser({
      defaultCurrency: 'EUR',
      defaultTaxRate: 19,
      paymentTermsDays: 14,
      timezone: 'Pacific/Kiritimati',
    })
    const usdCustomer = await newCustomer(token, { name: 'Yankee Ltd', currency: 'USD' })
    const plain = await newCustomer(token, { name: 'Plain GmbH' })
    const today = todayIn('Pacific/Kiritimati')
    const fromCustomer = await createInvoice(token, {
      customerId: usdCustomer,
      items: [{ description: 'Work', quantity: 1, unitPrice: 1000 }],
    })
    expect(fromCustomer.currency).toBe('USD')
    expect(fromCustomer.issueDate).toBe(today)
    const due = new Date(`${today}T00:00:00Z`)
    due.setUTCDate(due.getUTCDate() + 14)
    expect(fromCustomer.dueDate).toBe(due.toISOString().slice(0, 10))
    expect(fromCustomer.items[0]!.taxRate).toBe(19)
    expect(fromCustomer.taxTotal).toBe(190)
    const fromProfile = await createInvoice(token, { customerId: plain, items: [] })
    expect(fromProfile.currency).toBe('EUR')
    expect(fromProfile.billTo.name).toBe('Plain GmbH')
  })

  test('when neither customer nor profile has a currency and none is sent, then 400 on /currency', async () => {
    const token = await newUser({})
    const customerId = await newCustomer(token)
    const { status, error } = await edenClient(t, token).api.v1.invoices.post({ customerId })
    expect(status).toBe(400)
    expect(error?.value).toMatchObject({ error: { details: [{ path: '/currency' }] } })
  })

  test('when the input is invalid, then 400 names each field and nothing is created', async () => {
    const token = await newUser()
    const customerId = await newCustomer(token)
    const cases: [Json, string][] = [
      [{ customerId, items: [{ description: 'x', quantity: 0, unitPrice: 1 }] }, '/items/0/quantity'],
      [{ customerId, items: [{ description: 'x', quantity: 0.0001, unitPrice: 1 }] }, '/items/0/quantity'],
      [{ customerId, items: [{ description: 'x', quantity: 1, unitPrice: 1.5 }] }, '/items/0/unitPrice'],
      [
        { customerId, items: [{ description: 'x', quantity: 1, unitPrice: 1, taxRate: 101 }] },
        '/items/0/taxRate',
      ],
      [{ customerId, items: [{ description: '', quantity: 1, unitPrice: 1 }] }, '/items/0/description'],
      [{ customerId, items: [{ description: 'x', quantity: 1, unitPrice: 1, total: 1 }] }, '/items/0/total'],
      [{ customerId, total: 100 }, '/total'],
      [{ customerId, issueDate: '2026-02-30' }, '/issueDate'],
      [{ customerId, issueDate: '2026-03-10', dueDate: '2026-03-09' }, '/dueDate'],
      [{ customerId, currency: 'EURO' }, '/currency'],
      [{ customerId, discountPercent: 100.5 }, '/discountPercent'],
      [{ customerId: 'not-a-uuid' }, '/customerId'],
      [{ customerId: crypto.randomUUID() }, '/customerId'],
      [
        {
          customerId,
          items: Array.from({ length: 501 }, () => ({ description: 'x', quantity: 1, unitPrice: 1 })),
        },
        '/items',
      ],
      [
        { customerId, items: [{ description: 'huge', quantity: 1_000_000_000, unitPrice: 999_999_999_999 }] },
        '/items/0/unitPrice',
      ],
    ]
    for (const [body, path] of cases) {
      const res = await post(token, body)
      expect({ path, status: res.status }).toEqual({ path, status: 400 })
      expect(await paths(res)).toContain(path)
    }
    const { data: list } = await edenClient(t, token).api.v1.invoices.get()
    expect(list?.data).toHaveLength(0)
  })

  test('when 500 items are sent, then they are all stored in order', async () => {
    const token = await newUser()
    const customerId = await newCustomer(token)
    const items = Array.from({ length: 500 }, (_, i) => ({
      description: `Line ${i}`,
      quantity: 1,
      unitPrice: i,
    }))
    const invoice = await createInvoice(token, { customerId, items })
    expect(invoice.items).toHaveLength(500)
    expect(invoice.subtotal).toBe((499 * 500) / 2)
  })
})

describe('reading, updating and deleting drafts', () => {
  test('when a draft is patched, then items are replaced as a whole and totals recomputed', async () => {
    const token = await newUser()
    const api = edenClient(t, token)
    const customerId = await newCustomer(token)
    const draft = await createInvoice(token, {
      customerId,
      items: [{ description: 'Old', quantity: 1, unitPrice: 1000 }],
    })
    const { data: updated, status } = await api.api.v1.invoices({ id: draft.id }).patch({
      items: [{ description: 'New', quantity: 2, unitPrice: 2500, taxRate: 0 }],
      notes: 'Thanks!',
    })
    expect(status).toBe(200)
    expect(updated?.items).toHaveLength(1)
    expect(updated?.items[0]?.id).not.toBe(draft.items[0]!.id)
    expect(updated).toMatchObject({ total: 5000, taxTotal: 0, notes: 'Thanks!', version: 2 })

    const { data: discounted } = await api.api.v1.invoices({ id: draft.id }).patch({ discountPercent: 10 })
    expect(discounted).toMatchObject({ discountTotal: 500, total: 4500 })
  })

  test('when only the discount, the currency or the notes change, then every line is priced again', async () => {
    const token = await newUser()
    const api = edenClient(t, token)
    const customerId = await newCustomer(token)
    const draft = await createInvoice(token, {
      customerId,
      items: [
        { description: 'Design', quantity: 3, unitPrice: 1999 },
        { description: 'Hosting', quantity: 1.5, unitPrice: 3333, taxRate: 7.25 },
      ],
    })
    const itemIds = draft.items.map((item) => item.id)
    const patchOnly = async (body: InvoicePatch) => {
      const { data, status } = await api.api.v1.invoices({ id: draft.id }).patch(body)
      expect(status).toBe(200)
      return data!
    }
    const expectLinesAddUp = (invoice: Invoice) => {
      const sum = (key: 'subtotal' | 'discount' | 'tax' | 'total') =>
        invoice.items.reduce((total, item) => total + item[key], 0)
      expect([invoice.subtotal, invoice.discountTotal, invoice.taxTotal, invoice.total]).toEqual([
        sum('subtotal'),
        sum('discount'),
        sum('tax'),
        sum('total'),
      ])
      expect(invoice.items.map((item) => item.id)).toEqual(itemIds)
    }

    const discounted = await patchOnly({ discountPercent: 10 })
    // 5997 − 600 = 5397, tax 19 % 1025; 5000 − 500 = 4500, tax 7.25 % 326.
    expect(discounted.items.map((i) => [i.subtotal, i.discount, i.tax, i.total])).toEqual([
      [5997, 600, 1025, 6422],
      [5000, 500, 326, 4826],
    ])
    expectLinesAddUp(discounted)
    expectLinesAddUp(await patchOnly({ currency: 'JPY' }))
    expectLinesAddUp(await patchOnly({ notes: 'Thanks' }))
    expectLinesAddUp(await patchOnly({ discountPercent: 0 }))
  })

  test('when totals are written that are not the sums of the lines, then the database refuses the commit', async () => {
    const token = await newUser()
    const draft = await createInvoice(token, {
      customerId: await newCustomer(token),
      items: [{ description: 'Design', quantity: 1, unitPrice: 1000, taxRate: 0 }],
    })
    const db = t.deps.database.db.withoutPlugins()
    const stale = db
      .updateTable('invoices')
      .set({ discount_total: 100, total: 900 })
      .where('id', '=', draft.id)
      .execute()
    await expect(stale).rejects.toThrow(/not the sums of its lines/)
    const line = db
      .updateTable('invoice_items')
      .set({ discount: 100, total: 900 })
      .where('invoice_id', '=', draft.id)
      .execute()
    await expect(line).rejects.toThrow(/not the sums of its lines/)
    const { data: now } = await edenClient(t, token).api.v1.invoices({ id: draft.id }).get()
    expect(now?.total).toBe(1000)
  })

  test('when If-Match is stale, then 412 and the draft is unchanged', async () => {
    const token = await newUser()
    const api = edenClient(t, token)
    const customerId = await newCustomer(token)
    const draft = await createInvoice(token, { customerId })
    const invoice = api.api.v1.invoices({ id: draft.id })
    const got = await invoice.get()
    const etag = got.response.headers.get('etag')!
    const first = await invoice.patch({ notes: 'one' }, { headers: { 'if-match': etag } })
    expect(first.status).toBe(200)
    const stale = await invoice.patch({ notes: 'two' }, { headers: { 'if-match': etag } })
    expect(stale.status).toBe(412)
    const staleDelete = await invoice.delete(undefined, { headers: { 'if-match': etag } })
    expect(staleDelete.status).toBe(412)
    const { data: now } = await invoice.get()
    expect(now?.notes).toBe('one')
  })

  test('when a draft is deleted, then it is gone with its trail; its customer can be deleted afterwards', async () => {
    const token = await newUser()
    const api = edenClient(t, token)
    const customerId = await newCustomer(token)
    const draft = await createInvoice(token, { customerId })
    const blocked = await api.api.v1.customers({ id: customerId }).delete()
    expect(blocked.status).toBe(409)
    expect(blocked.error?.value).toMatchObject({ error: { code: 'CUSTOMER_HAS_INVOICES' } })
    expect((await api.api.v1.invoices({ id: draft.id }).delete()).status).toBe(204)
    expect((await api.api.v1.invoices({ id: draft.id }).get()).status).toBe(404)
    expect((await api.api.v1.invoices({ id: draft.id }).events.get()).status).toBe(404)
    expect((await api.api.v1.customers({ id: customerId }).delete()).status).toBe(204)
  })

  test('when a draft is voided, then 409 INVALID_STATUS_TRANSITION', async () => {
    const token = await newUser()
    const draft = await createInvoice(token, { customerId: await newCustomer(token) })
    const { status, error } = await edenClient(t, token).api.v1.invoices({ id: draft.id }).void.post()
    expect(status).toBe(409)
    expect(error?.value).toMatchObject({ error: { code: 'INVALID_STATUS_TRANSITION' } })
  })

  test('when changes happen, then the events trail lists them oldest first', async () => {
    const token = await newUser()
    const api = edenClient(t, token)
    const draft = await createInvoice(token, { customerId: await newCustomer(token) })
    await api.api.v1.invoices({ id: draft.id }).patch({ notes: 'a' })
    const { data: trail, status } = await api.api.v1.invoices({ id: draft.id }).events.get()
    expect(status).toBe(200)
    const data = trail?.data ?? []
    expect(data.map((e) => e.type)).toEqual(['created', 'updated'])
    expect(data[1]!.data['fields']).toEqual(['notes'])
  })

  test("when another user's invoice id is used, then every route answers 404 and nothing changes", async () => {
    const owner = await newUser()
    const draft = await createInvoice(owner, {
      customerId: await newCustomer(owner),
      items: [{ description: 'Mine', quantity: 1, unitPrice: 100 }],
    })
    const intruder = await newUser()
    const intruderCustomer = await newCustomer(intruder)
    const attempts: [string, string, Json | undefined][] = [
      ['GET', `/api/v1/invoices/${draft.id}`, undefined],
      ['PATCH', `/api/v1/invoices/${draft.id}`, { notes: 'pwned' }],
      ['DELETE', `/api/v1/invoices/${draft.id}`, undefined],
      ['POST', `/api/v1/invoices/${draft.id}/void`, undefined],
      ['GET', `/api/v1/invoices/${draft.id}/events`, undefined],
    ]
    for (const [method, path, json] of attempts) {
      const res = await t.request(path, { method, token: intruder, ...(json ? { json } : {}) })
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 })
    }
    const foreignCustomer = await edenClient(t, owner).api.v1.invoices.post({ customerId: intruderCustomer })
    expect(foreignCustomer.status).toBe(400)
    const { data: list } = await edenClient(t, intruder).api.v1.invoices.get()
    expect(list?.data).toHaveLength(0)
    const { data: still } = await edenClient(t, owner).api.v1.invoices({ id: draft.id }).get()
    expect(still).toMatchObject({ version: 1, total: draft.total })
  })
})

describe('listing', () => {
  test('when walking every sort over numbered and draft invoices, then each appears exactly once and in order', async () => {
    const token = await newUser()
    const api = edenClient(t, token)
    const customerId = await newCustomer(token, { name: 'Sorted Co' })
    const created: Invoice[] = []
    for (let i = 0; i < 25; i++) {
      created.push(
        await createInvoice(token, {
          customerId,
          issueDate: `2026-01-${String((i % 5) + 1).padStart(2, '0')}`,
          dueDate: `2026-02-${String((i % 7) + 1).padStart(2, '0')}`,
          items: [{ description: 'x', quantity: 1, unitPrice: (i * 37) % 11 }],
        }),
      )
    }
    for (const invoice of created.slice(3, 13)) {
      const sent = await api.api.v1.invoices({ id: invoice.id })['mark-as-sent'].post()
      expect(sent.status).toBe(200)
    }
    const fields = ['issueDate', 'dueDate', 'total', 'number'] as const
    const sorts = fields.flatMap((field) => [
      { sort: field, field },
      { sort: `-${field}` as const, field },
    ])
    for (const { sort, field } of sorts) {
      const seen: Invoice[] = []
      let cursor: string | null = null
      do {
        const query: InvoiceListQuery = { sort, limit: 7, ...(cursor ? { cursor } : {}) }
        const { data: page, status } = await api.api.v1.invoices.get({ query })
        expect(status).toBe(200)
        seen.push(...(page?.data ?? []))
        cursor = page?.nextCursor ?? null
      } while (cursor)
      expect(seen.map((i) => i.id).sort()).toEqual(created.map((i) => i.id).sort())
      const key = (i: Invoice) => (field === 'number' ? (i.number ?? '') : i[field])
      const values = seen.map(key)
      const numbered = field === 'number' ? values.filter((v) => v !== '') : values
      const ordered = [...numbered].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      if (sort.startsWith('-')) ordered.reverse()
      // Drafts have no number: they follow the numbered invoices in both directions.
      const drafts = values.length - numbered.length
      expect(values).toEqual([...ordered, ...Array.from({ length: drafts }, () => '')])
    }
  })

  test('when filtering by status, customer, dates and q, then only matching invoices come back', async () => {
    const token = await newUser()
    const api = edenClient(t, token)
    const zoe = await newCustomer(token, { name: 'Zoë Müller' })
    const bob = await newCustomer(token, { name: 'Bob Builder' })
    const a = await createInvoice(token, { customerId: zoe, issueDate: '2026-03-01', dueDate: '2026-03-31' })
    const b = await createInvoice(token, { customerId: bob, issueDate: '2026-04-01', dueDate: '2026-04-30' })
    const ids = async (query: InvoiceListQuery) => {
      const { data, status } = await api.api.v1.invoices.get({ query })
      expect(status).toBe(200)
      return (data?.data ?? []).map((i) => i.id)
    }
    expect(await ids({})).toEqual([b.id, a.id])
    expect(await ids({ customerId: zoe })).toEqual([a.id])
    expect(await ids({ q: 'zoe MULLER' })).toEqual([a.id])
    expect(await ids({ q: 'builder' })).toEqual([b.id])
    expect(await ids({ issuedFrom: '2026-03-15' })).toEqual([b.id])
    expect(await ids({ issuedTo: '2026-03-15' })).toEqual([a.id])
    expect((await ids({ status: 'draft' })).sort()).toEqual([a.id, b.id].sort())
    expect(await ids({ status: 'sent' })).toEqual([])
    expect(await ids({ status: 'overdue' })).toEqual([])
    const late = await createInvoice(token, {
      customerId: zoe,
      issueDate: '2025-01-01',
      dueDate: '2025-01-31',
      items: [{ description: 'Late work', quantity: 1, unitPrice: 100 }],
    })
    const older = await createInvoice(token, {
      customerId: bob,
      issueDate: '2024-06-01',
      dueDate: '2024-06-30',
      items: [{ description: 'Older work', quantity: 1, unitPrice: 100 }],
    })
    for (const invoice of [late, older]) {
      expect((await api.api.v1.invoices({ id: invoice.id })['mark-as-sent'].post()).status).toBe(200)
    }
    expect(await ids({ status: 'overdue' })).toEqual([late.id, older.id])
    expect(await ids({ status: 'overdue', sort: 'dueDate' })).toEqual([older.id, late.id])
    expect(await ids({ status: 'overdue', q: 'zoe' })).toEqual([late.id])
    expect(await ids({ status: 'overdue', sort: 'number', limit: 1 })).toHaveLength(1)
    const { data: overdue } = await api.api.v1.invoices({ id: late.id }).get()
    expect(overdue?.isOverdue).toBe(true)
    await api.api.v1.customers({ id: bob }).patch({ name: 'Robert Baumeister' })
    expect(await ids({ q: 'baumeister' })).toEqual([b.id])
  })

  test('when list parameters are invalid, then 400 naming them', async () => {
    const token = await newUser()
    for (const query of [
      'status=late',
      'sort=amount',
      'limit=0',
      'limit=101',
      'cursor=abc',
      'issuedFrom=2026-13-01',
      'foo=1',
    ]) {
      const res = await t.request(`/api/v1/invoices?${query}`, { token })
      expect({ query, status: res.status }).toEqual({ query, status: 400 })
    }
    const swapped = await edenClient(t, token).api.v1.invoices.get({
      query: { issuedFrom: '2026-05-01', issuedTo: '2026-04-01' },
    })
    expect(swapped.error?.value).toMatchObject({ error: { details: [{ path: '/query/issuedTo' }] } })
  })
})
