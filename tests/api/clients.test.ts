import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { treaty } from '@elysiajs/eden'
import { createTestApp, type TestApp } from '../helpers/app'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

// The README's "Clients" section, run: a TypeScript client typed by `type App` through Eden Treaty.
// Nothing here casts an answer: if `App` lost its routes, this file would not type-check.

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' })
})
afterAll(() => t.close())

describe('a typed client from type App (Eden Treaty)', () => {
  test('when a customer and an invoice are created and issued through it, then every answer is typed and correct', async () => {
    const token = await t.token()
    // README snippet begins
    const api = treaty(t.app, { headers: { authorization: `Bearer ${token}` } })

    await api.api.v1.me.patch({ defaultCurrency: 'EUR', defaultTaxRate: 19 })
    const customer = await api.api.v1.customers.post({ name: 'Zoë Müller', email: 'zoe@example.com' })
    if (customer.error) throw customer.error.value
    const draft = await api.api.v1.invoices.post({
      customerId: customer.data.id,
      items: [{ description: 'Design work', quantity: 3, unitPrice: 1999 }],
    })
    if (draft.error) throw draft.error.value
    const sent = await api.api.v1.invoices({ id: draft.data.id })['mark-as-sent'].post()
    if (sent.error) throw sent.error.value
    console.info(sent.data.number, sent.data.total) // INV-0001 7136
    // README snippet ends

    expect(customer.status).toBe(201)
    expect(customer.data.name).toBe('Zoë Müller')
    expect(draft.data.items[0]?.total).toBe(7136)
    expect(sent.data.number).toBe('INV-0001')
    expect(sent.data.status).toBe('sent')

    const list = await api.api.v1.invoices.get({ query: { limit: 10 } })
    expect(list.data?.data.map((invoice) => invoice.id)).toEqual([draft.data.id])
  })

  test('when the API refuses a request, then the error carries the envelope and its status', async () => {
    const api = treaty(t.app, { headers: { authorization: `Bearer ${await t.token()}` } })
    const missing = await api.api.v1.customers({ id: crypto.randomUUID() }).get()
    expect(missing.status).toBe(404)
    expect(missing.error?.value).toMatchObject({ error: { code: 'NOT_FOUND' } })
  })
})
