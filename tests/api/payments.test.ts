import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { crossTenant } from '../../src/lib/db'
import { createTestApp, type TestApp } from '../helpers/app'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

type Invoice = {
  id: string
  status: string
  total: number
  amountPaid: number
  amountDue: number
  paidAt: string | null
  payments: { id: string; amount: number; method: string; reference: string | null; paidAt: string }[]
}

/**
 * A sent invoice of `total` (no tax). Issuing through mark-as-sent is covered by the issuing tests; here the
 * draft is moved to `sent` directly so that payments are tested on their own.
 */
async function sentInvoice(token: string, total: number): Promise<Invoice> {
  const customer = await t.request('/api/v1/customers', {
    method: 'POST',
    token,
    json: { name: 'Payer Ltd' },
  })
  const customerId = ((await customer.json()) as { id: string }).id
  const res = await t.request('/api/v1/invoices', {
    method: 'POST',
    token,
    json: {
      customerId,
      currency: 'EUR',
      items: [{ description: 'Work', quantity: 1, unitPrice: total, taxRate: 0 }],
    },
  })
  const draft = (await res.json()) as Invoice
  const seq = Math.floor(Math.random() * 1e9)
  await crossTenant(t.deps.database.db)
    .updateTable('invoices')
    .set({ status: 'sent', number: `T-${seq}`, number_seq: seq, sent_at: new Date() })
    .where('id', '=', draft.id)
    .execute()
  return draft
}

const pay = (token: string, invoiceId: string, json: unknown, headers: Record<string, string> = {}) =>
  t.request(`/api/v1/invoices/${invoiceId}/payments`, { method: 'POST', token, json, headers })
const getInvoice = async (token: string, id: string) =>
  (await (await t.request(`/api/v1/invoices/${id}`, { token })).json()) as Invoice
const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code

describe('payments', () => {
  test('when part and then the rest is paid, then the status moves to partially_paid and then paid with paidAt', async () => {
    const token = await t.token()
    const invoice = await sentInvoice(token, 10_000)
    const first = await pay(token, invoice.id, {
      amount: 4_000,
      method: 'bank_transfer',
      reference: ' SEPA-1 ',
    })
    expect(first.status).toBe(201)
    const payment = (await first.json()) as Invoice['payments'][number]
    expect(payment).toMatchObject({ amount: 4_000, method: 'bank_transfer', reference: 'SEPA-1' })
    expect(await getInvoice(token, invoice.id)).toMatchObject({
      status: 'partially_paid',
      amountPaid: 4_000,
      amountDue: 6_000,
      paidAt: null,
    })
    const paidAt = '2026-01-20T10:00:00.000Z'
    expect((await pay(token, invoice.id, { amount: 6_000, paidAt })).status).toBe(201)
    const paid = await getInvoice(token, invoice.id)
    expect(paid).toMatchObject({ status: 'paid', amountPaid: 10_000, amountDue: 0, paidAt })
    expect(paid.payments.map((p) => p.amount)).toEqual([4_000, 6_000])
    expect(paid.payments[1]!.method).toBe('other')
    const events = (await (await t.request(`/api/v1/invoices/${invoice.id}/events`, { token })).json()) as {
      data: { type: string }[]
    }
    expect(events.data.map((e) => e.type)).toEqual([
      'created',
      'payment_recorded',
      'payment_recorded',
      'paid',
    ])
  })

  test('when a payment exceeds the amount due, then 422 PAYMENT_EXCEEDS_BALANCE and nothing is booked', async () => {
    const token = await t.token()
    const invoice = await sentInvoice(token, 5_000)
    expect((await pay(token, invoice.id, { amount: 3_000 })).status).toBe(201)
    const over = await pay(token, invoice.id, { amount: 2_001 })
    expect(over.status).toBe(422)
    expect(await codeOf(over)).toBe('PAYMENT_EXCEEDS_BALANCE')
    expect(await getInvoice(token, invoice.id)).toMatchObject({ amountPaid: 3_000, status: 'partially_paid' })
  })

  test('when payments race, then they never add up to more than the total', async () => {
    const token = await t.token()
    const invoice = await sentInvoice(token, 5_000)
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => pay(token, invoice.id, { amount: 1_000 })),
    )
    const statuses = answers.map((r) => r.status).sort()
    expect(statuses.filter((s) => s === 201)).toHaveLength(5)
    expect(statuses.filter((s) => s === 422 || s === 409)).toHaveLength(5)
    const final = await getInvoice(token, invoice.id)
    expect(final).toMatchObject({ status: 'paid', amountPaid: 5_000, amountDue: 0 })
    expect(final.payments).toHaveLength(5)
  })

  test('when the invoice is a draft, paid or void, then 409 INVALID_STATUS_TRANSITION', async () => {
    const token = await t.token()
    const customer = await t.request('/api/v1/customers', { method: 'POST', token, json: { name: 'D' } })
    const customerId = ((await customer.json()) as { id: string }).id
    const draft = (await (
      await t.request('/api/v1/invoices', { method: 'POST', token, json: { customerId, currency: 'EUR' } })
    ).json()) as Invoice
    const onDraft = await pay(token, draft.id, { amount: 1 })
    expect(onDraft.status).toBe(409)
    expect(await codeOf(onDraft)).toBe('INVALID_STATUS_TRANSITION')

    const paid = await sentInvoice(token, 100)
    expect((await pay(token, paid.id, { amount: 100 })).status).toBe(201)
    expect((await pay(token, paid.id, { amount: 1 })).status).toBe(409)

    const voided = await sentInvoice(token, 100)
    expect((await t.request(`/api/v1/invoices/${voided.id}/void`, { method: 'POST', token })).status).toBe(
      200,
    )
    expect((await pay(token, voided.id, { amount: 1 })).status).toBe(409)
  })

  test('when an invoice has a payment, then it cannot be voided, and a sent one without payments can', async () => {
    const token = await t.token()
    const partly = await sentInvoice(token, 1_000)
    await pay(token, partly.id, { amount: 10 })
    const refused = await t.request(`/api/v1/invoices/${partly.id}/void`, { method: 'POST', token })
    expect(refused.status).toBe(409)
    const clean = await sentInvoice(token, 1_000)
    const voided = await t.request(`/api/v1/invoices/${clean.id}/void`, { method: 'POST', token })
    expect(voided.status).toBe(200)
    expect(((await voided.json()) as { status: string; voidedAt: string }).status).toBe('void')
    const patch = await t.request(`/api/v1/invoices/${clean.id}`, {
      method: 'PATCH',
      token,
      json: { notes: 'x' },
    })
    expect(patch.status).toBe(409)
    const del = await t.request(`/api/v1/invoices/${clean.id}`, { method: 'DELETE', token })
    expect(del.status).toBe(409)
  })

  test('when the payment is invalid, then 400 naming the field', async () => {
    const token = await t.token()
    const invoice = await sentInvoice(token, 1_000)
    const cases: [unknown, string][] = [
      [{ amount: 0 }, '/amount'],
      [{ amount: 1.5 }, '/amount'],
      [{ amount: 10, method: 'bitcoin' }, '/method'],
      [{ amount: 10, paidAt: 'yesterday' }, '/paidAt'],
      [{ amount: 10, paidAt: '2099-01-01T00:00:00Z' }, '/paidAt'],
      [{ amount: 10, extra: true }, '/extra'],
    ]
    for (const [body, path] of cases) {
      const res = await pay(token, invoice.id, body)
      expect({ path, status: res.status }).toEqual({ path, status: 400 })
      const details = ((await res.json()) as { error: { details: { path: string }[] } }).error.details
      expect(details.map((d) => d.path)).toContain(path)
    }
    expect((await getInvoice(token, invoice.id)).amountPaid).toBe(0)
  })

  test('when a payment POST is retried with its Idempotency-Key, then it is booked once', async () => {
    const token = await t.token()
    const invoice = await sentInvoice(token, 1_000)
    const headers = { 'idempotency-key': 'pay-once' }
    const first = await pay(token, invoice.id, { amount: 400 }, headers)
    const again = await pay(token, invoice.id, { amount: 400 }, headers)
    expect(first.status).toBe(201)
    expect(again.status).toBe(201)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(((await again.json()) as { id: string }).id).toBe(((await first.json()) as { id: string }).id)
    expect((await getInvoice(token, invoice.id)).amountPaid).toBe(400)
  })

  test("when another user's invoice is paid, then 404 and nothing is booked", async () => {
    const owner = await t.token()
    const invoice = await sentInvoice(owner, 1_000)
    const res = await pay(await t.token(), invoice.id, { amount: 100 })
    expect(res.status).toBe(404)
    expect((await getInvoice(owner, invoice.id)).amountPaid).toBe(0)
  })
})
