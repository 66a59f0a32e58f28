import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { crossTenant } from '../../src/lib/db'
import { createTestApp, type TestApp } from '../helpers/app'
import { edenClient } from '../helpers/eden'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

/**
 * A sent invoice of `total` (no tax). Issuing through mark-as-sent is covered by the issuing tests; here the
 * draft is moved to `sent` directly so that payments are tested on their own.
 */
async function sentInvoice(token: string, total: number) {
  const api = edenClient(t, token)
  const customer = await api.api.v1.customers.post({ name: 'Payer Ltd' })
  if (customer.error) throw customer.error.value
  const created = await api.api.v1.invoices.post({
    customerId: customer.data.id,
    currency: 'EUR',
    items: [{ description: 'Work', quantity: 1, unitPrice: total, taxRate: 0 }],
  })
  if (created.error) throw created.error.value
  const draft = created.data
  const seq = Math.floor(Math.random() * 1e9)
  await crossTenant(t.deps.database.db)
    .updateTable('invoices')
    .set({ status: 'sent', number: `T-${seq}`, number_seq: seq, sent_at: new Date() })
    .where('id', '=', draft.id)
    .execute()
  return draft
}

/** The payments of one invoice, as `token`'s user. */
const payments = (token: string, invoiceId: string) =>
  edenClient(t, token).api.v1.invoices({ id: invoiceId }).payments
const getInvoice = async (token: string, id: string) => {
  const { data, error } = await edenClient(t, token).api.v1.invoices({ id }).get()
  if (error) throw error.value
  return data
}

describe('payments', () => {
  test('when part and then the rest is paid, then the status moves to partially_paid and then paid with paidAt', async () => {
    const token = await t.token()
    const invoice = await sentInvoice(token, 10_000)
    const first = await payments(token, invoice.id).post({
      amount: 4_000,
      method: 'bank_transfer',
      reference: ' SEPA-1 ',
    })
    expect(first.status).toBe(201)
    expect(first.data).toMatchObject({ amount: 4_000, method: 'bank_transfer', reference: 'SEPA-1' })
    expect(await getInvoice(token, invoice.id)).toMatchObject({
      status: 'partially_paid',
      amountPaid: 4_000,
      amountDue: 6_000,
      paidAt: null,
    })
    const paidAt = '2026-01-20T10:00:00.000Z'
    expect((await payments(token, invoice.id).post({ amount: 6_000, paidAt })).status).toBe(201)
    const paid = await getInvoice(token, invoice.id)
    expect(paid).toMatchObject({ status: 'paid', amountPaid: 10_000, amountDue: 0, paidAt })
    expect(paid.payments.map((p) => p.amount)).toEqual([4_000, 6_000])
    expect(paid.payments[1]!.method).toBe('other')
    const events = await edenClient(t, token).api.v1.invoices({ id: invoice.id }).events.get()
    expect(events.data?.data.map((e) => e.type)).toEqual([
      'created',
      'payment_recorded',
      'payment_recorded',
      'paid',
    ])
  })

  test('when a payment exceeds the amount due, then 422 PAYMENT_EXCEEDS_BALANCE and nothing is booked', async () => {
    const token = await t.token()
    const invoice = await sentInvoice(token, 5_000)
    expect((await payments(token, invoice.id).post({ amount: 3_000 })).status).toBe(201)
    const over = await payments(token, invoice.id).post({ amount: 2_001 })
    expect(over.status).toBe(422)
    expect(over.error?.value.error.code).toBe('PAYMENT_EXCEEDS_BALANCE')
    expect(await getInvoice(token, invoice.id)).toMatchObject({ amountPaid: 3_000, status: 'partially_paid' })
  })

  test('when payments race, then they never add up to more than the total', async () => {
    const token = await t.token()
    const invoice = await sentInvoice(token, 5_000)
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => payments(token, invoice.id).post({ amount: 1_000 })),
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
    const api = edenClient(t, token)
    const customer = await api.api.v1.customers.post({ name: 'D' })
    if (customer.error) throw customer.error.value
    const draft = await api.api.v1.invoices.post({ customerId: customer.data.id, currency: 'EUR' })
    if (draft.error) throw draft.error.value
    const onDraft = await payments(token, draft.data.id).post({ amount: 1 })
    expect(onDraft.status).toBe(409)
    expect(onDraft.error?.value.error.code).toBe('INVALID_STATUS_TRANSITION')

    const paid = await sentInvoice(token, 100)
    expect((await payments(token, paid.id).post({ amount: 100 })).status).toBe(201)
    expect((await payments(token, paid.id).post({ amount: 1 })).status).toBe(409)

    const voided = await sentInvoice(token, 100)
    expect((await api.api.v1.invoices({ id: voided.id }).void.post()).status).toBe(200)
    expect((await payments(token, voided.id).post({ amount: 1 })).status).toBe(409)
  })

  test('when an invoice has a payment, then it cannot be voided, and a sent one without payments can', async () => {
    const token = await t.token()
    const api = edenClient(t, token)
    const partly = await sentInvoice(token, 1_000)
    await payments(token, partly.id).post({ amount: 10 })
    const refused = await api.api.v1.invoices({ id: partly.id }).void.post()
    expect(refused.status).toBe(409)
    const clean = await sentInvoice(token, 1_000)
    const voided = await api.api.v1.invoices({ id: clean.id }).void.post()
    expect(voided.status).toBe(200)
    expect(voided.data?.status).toBe('void')
    const patch = await api.api.v1.invoices({ id: clean.id }).patch({ notes: 'x' })
    expect(patch.status).toBe(409)
    const del = await api.api.v1.invoices({ id: clean.id }).delete()
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
    for (const [json, path] of cases) {
      const res = await t.request(`/api/v1/invoices/${invoice.id}/payments`, { method: 'POST', token, json })
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
    const first = await payments(token, invoice.id).post({ amount: 400 }, { headers })
    const again = await payments(token, invoice.id).post({ amount: 400 }, { headers })
    expect(first.status).toBe(201)
    expect(again.status).toBe(201)
    expect(again.response.headers.get('idempotent-replayed')).toBe('true')
    expect(again.data?.id).toBe(first.data!.id)
    expect((await getInvoice(token, invoice.id)).amountPaid).toBe(400)
  })

  test("when another user's invoice is paid, then 404 and nothing is booked", async () => {
    const owner = await t.token()
    const invoice = await sentInvoice(owner, 1_000)
    const res = await payments(await t.token(), invoice.id).post({ amount: 100 })
    expect(res.status).toBe(404)
    expect((await getInvoice(owner, invoice.id)).amountPaid).toBe(0)
  })
})
