import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createHash, randomUUID } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { formatDate } from '../../src/lib/pdf/format'
import { createTestApp, type TestApp } from '../helpers/app'
import { type CreditNote, creditNoteKit, lineOf } from '../helpers/credit-notes'
import { dayIn } from '../helpers/invoice-factory'
import { extractPdfText } from '../helpers/pdf-text'
import { S3RVER_CREDENTIALS, type S3rverHandle, startS3rver } from '../helpers/s3rver'

// Servers, queues and receivers take seconds on a busy 2-core machine (tests/setup.ts: a preload's default
// timeout reaches only the first file).
setDefaultTimeout(30_000)

let t: TestApp
let kit: ReturnType<typeof creditNoteKit>
beforeAll(async () => {
  t = await createTestApp()
  kit = creditNoteKit(t)
})
afterAll(() => t.close())

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const ms = (at: string) => Date.parse(at)
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)

/** 3 × 19.99 at 19 %: subtotal 5997, tax 1139, total 7136 (API.md "Money arithmetic"). */
const design = { description: 'Design work', quantity: 3, unitPrice: 1999, taxRate: 19 }
/** 2.5 × 10.00 at 7 %: subtotal 2500, tax 175, total 2675. */
const hosting = { description: 'Hosting', quantity: 2.5, unitPrice: 1000, taxRate: 7 }
/** 10 × 10.00 without tax: total 10000, one unit 1000. */
const units = { description: 'Units', quantity: 10, unitPrice: 1000, taxRate: 0 }

/** A user with a customer; `profile` adds to the defaults (EUR, Seller GmbH). */
async function seller(profile: Parameters<typeof kit.newUser>[0] = {}) {
  const token = await kit.newUser(profile)
  const customerId = await kit.newCustomer(token)
  return { token, customerId }
}

/** The error envelope's code and the paths its details name. */
const failure = (res: { status: number; error: { code: string; details?: { path: string }[] } }) => ({
  status: res.status,
  code: res.error?.code,
  paths: (res.error?.details ?? []).map((d) => d.path),
})

describe('a full credit note', () => {
  test('when an invoice is credited without items, given two lines, then CN-0001 mirrors its lines and totals and the invoice is credited', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [design, hosting])
    expect(invoice.total).toBe(9811)
    const before = Date.now()

    const res = await kit.credit(token, invoice.id, { reason: 'duplicate' })
    expect(res.status).toBe(201)
    const note = res.data
    expect(res.headers.get('location')).toBe(`/api/v1/credit-notes/${note.id}`)
    const etag = res.headers.get('etag')
    expect(etag).toBeTruthy()
    expect(note).toMatchObject({
      number: 'CN-0001',
      invoiceId: invoice.id,
      invoiceNumber: 'INV-0001',
      customerId,
      reason: 'duplicate',
      memo: null,
      currency: 'EUR',
      subtotal: invoice.subtotal,
      discountTotal: invoice.discountTotal,
      taxTotal: invoice.taxTotal,
      total: invoice.total,
      appliedToBalance: invoice.total,
      refundDue: 0,
    })
    expect(note.items.map(({ id: _, ...rest }) => rest)).toEqual(
      invoice.items.map((line) => ({
        invoiceItemId: line.id,
        description: line.description,
        quantity: line.quantity,
        unitPrice: line.unitPrice,
        taxRate: line.taxRate,
        subtotal: line.subtotal,
        discount: line.discount,
        tax: line.tax,
        total: line.total,
      })),
    )
    expect(note.billTo).toEqual(invoice.billTo)
    expect(note.from).toEqual(invoice.from)
    expect(note.pdf.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(note.pdf.size).toBeGreaterThan(0)
    expect(note.issuedAt).toMatch(ISO)
    expect(ms(note.issuedAt)).toBeGreaterThanOrEqual(before - 1)
    expect(ms(note.issuedAt)).toBeLessThanOrEqual(Date.now())

    const one = await kit.note(token, note.id)
    expect(one.status).toBe(200)
    expect(one.data).toEqual(note)
    expect(one.headers.get('etag')).toBe(etag)

    const after = await kit.invoice(token, invoice.id)
    expect(after).toMatchObject({
      status: 'credited',
      creditedTotal: invoice.total,
      amountPaid: 0,
      amountDue: 0,
    })
    expect(after.isOverdue).toBe(false)
    expect(after.creditNotes).toEqual([
      { id: note.id, number: 'CN-0001', total: invoice.total, issuedAt: note.issuedAt },
    ])
    expect(after.version).toBeGreaterThan(invoice.version)
    const trail = await kit.events(token, invoice.id)
    expect(trail.map((e) => e.type)).toEqual(['created', 'sent', 'credited'])
    expect(trail[2]!.data).toMatchObject({ creditNoteId: note.id, number: 'CN-0001', total: invoice.total })

    const profile = await kit.profile(token)
    expect(profile).toMatchObject({ creditNotePrefix: 'CN-', nextCreditNoteNumber: 2, nextInvoiceNumber: 2 })
    const listed = await kit.api(token).invoices.get({ query: { status: 'credited' } })
    expect(listed.data?.data.map((i) => i.id)).toEqual([invoice.id])
  })
})

describe('partial credit notes', () => {
  test('when 3 × 19.99 at 19 % is credited one unit at a time, given cumulative pricing, then 2379, 2379, 2378 add up to the line and the last reaches credited', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [design])
    const line = invoice.items[0]!
    const notes: CreditNote[] = []
    const states: { status: string; creditedTotal: number; amountDue: number }[] = []
    for (const memo of ['first', 'second', 'third']) {
      notes.push(
        await kit.credited(token, invoice.id, {
          reason: 'product_unsatisfactory',
          memo,
          items: [{ invoiceItemId: line.id, quantity: 1 }],
        }),
      )
      const { status, creditedTotal, amountDue } = await kit.invoice(token, invoice.id)
      states.push({ status, creditedTotal, amountDue })
    }
    expect(notes.map((n) => n.number)).toEqual(['CN-0001', 'CN-0002', 'CN-0003'])
    expect(notes.map((n) => n.total)).toEqual([2379, 2379, 2378])
    expect(
      notes.map((n) => n.items.map(({ subtotal, discount, tax, total }) => [subtotal, discount, tax, total])),
    ).toEqual([[[1999, 0, 380, 2379]], [[1999, 0, 380, 2379]], [[1999, 0, 379, 2378]]])
    expect(notes.map((n) => n.memo)).toEqual(['first', 'second', 'third'])
    expect(sum(notes.map((n) => n.items[0]!.subtotal))).toBe(line.subtotal)
    expect(sum(notes.map((n) => n.items[0]!.tax))).toBe(line.tax)
    expect(sum(notes.map((n) => n.total))).toBe(line.total)
    expect(states).toEqual([
      { status: 'sent', creditedTotal: 2379, amountDue: 4757 },
      { status: 'sent', creditedTotal: 4758, amountDue: 2378 },
      { status: 'credited', creditedTotal: 7136, amountDue: 0 },
    ])
    const more = await kit.credit(token, invoice.id, { reason: 'other' })
    expect(failure(more)).toMatchObject({ status: 409, code: 'INVALID_STATUS_TRANSITION' })
  })

  test('when a quantity with three decimals is credited, given a 10-unit line, then it is priced by the line rules and the rest takes exactly what is left', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [
      { description: 'Consulting', quantity: 10, unitPrice: 1234, taxRate: 19 },
      units,
    ])
    const line = lineOf(invoice, 'Consulting')
    expect([line.subtotal, line.tax, line.total]).toEqual([12340, 2345, 14685])

    const small = await kit.credited(token, invoice.id, {
      reason: 'order_change',
      items: [{ invoiceItemId: line.id, quantity: 0.125 }],
    })
    // round(0.125 × 1234) = 154; tax round(154 × 19 %) = 29.
    expect(small.items).toHaveLength(1)
    expect(small.items[0]).toMatchObject({
      invoiceItemId: line.id,
      quantity: 0.125,
      subtotal: 154,
      tax: 29,
      total: 183,
    })
    expect(small).toMatchObject({ subtotal: 154, discountTotal: 0, taxTotal: 29, total: 183 })

    const rest = await kit.credited(token, invoice.id, {
      reason: 'order_change',
      items: [{ invoiceItemId: line.id, quantity: 9.875 }],
    })
    expect(rest.items[0]).toMatchObject({ quantity: 9.875, subtotal: 12186, tax: 2316, total: 14502 })
    expect(small.total + rest.total).toBe(line.total)
    const after = await kit.invoice(token, invoice.id)
    expect(after).toMatchObject({ status: 'sent', creditedTotal: line.total })
    expect(after.amountDue).toBe(invoice.total - line.total)

    const tooFine = await kit.credit(token, invoice.id, {
      reason: 'order_change',
      items: [{ invoiceItemId: lineOf(invoice, 'Units').id, quantity: 0.0001 }],
    })
    expect(failure(tooFine)).toMatchObject({
      status: 400,
      code: 'VALIDATION_ERROR',
      paths: ['/items/0/quantity'],
    })
  })

  test('when a line of an invoice with 10 % discount is credited, given 5000 at 7.25 %, then each unit credits 4826 then 4827 with the discount', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(
      token,
      customerId,
      [{ description: 'Licence', quantity: 2, unitPrice: 5000, taxRate: 7.25 }],
      { discountPercent: 10 },
    )
    const line = invoice.items[0]!
    expect([line.subtotal, line.discount, line.tax, line.total]).toEqual([10000, 1000, 653, 9653])
    const body = { reason: 'other', items: [{ invoiceItemId: line.id, quantity: 1 }] }
    const first = await kit.credited(token, invoice.id, body)
    expect(first).toMatchObject({ subtotal: 5000, discountTotal: 500, taxTotal: 326, total: 4826 })
    expect(first.items[0]).toMatchObject({ quantity: 1, unitPrice: 5000, taxRate: 7.25, discount: 500 })
    const second = await kit.credited(token, invoice.id, body)
    expect(second).toMatchObject({ subtotal: 5000, discountTotal: 500, taxTotal: 327, total: 4827 })
    expect(first.total + second.total).toBe(invoice.total)
    expect((await kit.invoice(token, invoice.id)).status).toBe('credited')
  })

  test('when an invoice has a negative line, given a positive one, then the negative line credits negatively and the note total must stay above zero', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [
      { description: 'Work', quantity: 2, unitPrice: 5000, taxRate: 0 },
      { description: 'Goodwill', quantity: 1, unitPrice: -2000, taxRate: 0 },
    ])
    expect(invoice.total).toBe(8000)
    const work = lineOf(invoice, 'Work')
    const goodwill = lineOf(invoice, 'Goodwill')

    const onlyNegative = await kit.credit(token, invoice.id, {
      reason: 'other',
      items: [{ invoiceItemId: goodwill.id, quantity: 1 }],
    })
    expect(failure(onlyNegative)).toMatchObject({ status: 400, code: 'VALIDATION_ERROR', paths: ['/items'] })

    const firstWork = await kit.credited(token, invoice.id, {
      reason: 'other',
      items: [{ invoiceItemId: work.id, quantity: 1 }],
    })
    expect(firstWork.total).toBe(5000)
    // The rest of Work alone (5000) is more than is left to credit (3000).
    const tooMuch = await kit.credit(token, invoice.id, {
      reason: 'other',
      items: [{ invoiceItemId: work.id, quantity: 1 }],
    })
    expect(failure(tooMuch)).toMatchObject({ status: 422, code: 'CREDIT_EXCEEDS_INVOICE' })

    const both = await kit.credited(token, invoice.id, {
      reason: 'other',
      items: [
        { invoiceItemId: work.id, quantity: 1 },
        { invoiceItemId: goodwill.id, quantity: 1 },
      ],
    })
    expect(both.items.map((i) => [i.invoiceItemId, i.subtotal, i.total])).toEqual([
      [work.id, 5000, 5000],
      [goodwill.id, -2000, -2000],
    ])
    expect(both).toMatchObject({ subtotal: 3000, total: 3000 })
    expect(await kit.invoice(token, invoice.id)).toMatchObject({ status: 'credited', creditedTotal: 8000 })
    expect(await kit.numbers(token)).toEqual(['CN-0002', 'CN-0001'])
  })

  test('when a negative line with tax is credited in part, given a positive line beside it, then it rounds half away from zero and the rest takes what is left', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [
      { description: 'Work', quantity: 10, unitPrice: 2000, taxRate: 19 },
      { description: 'Rebate', quantity: 3, unitPrice: -1999, taxRate: 19 },
    ])
    const work = lineOf(invoice, 'Work')
    const rebate = lineOf(invoice, 'Rebate')
    expect([rebate.subtotal, rebate.tax, rebate.total]).toEqual([-5997, -1139, -7136])
    expect(invoice.total).toBe(16664)
    const body = {
      reason: 'order_change',
      items: [
        { invoiceItemId: work.id, quantity: 2 },
        { invoiceItemId: rebate.id, quantity: 1 },
      ],
    }
    const amounts = (n: CreditNote) => n.items.map((i) => [i.subtotal, i.discount, i.tax, i.total])
    const first = await kit.credited(token, invoice.id, body)
    expect(amounts(first)).toEqual([
      [4000, 0, 760, 4760],
      [-1999, 0, -380, -2379],
    ])
    expect(first).toMatchObject({ subtotal: 2001, taxTotal: 380, total: 2381 })
    const second = await kit.credited(token, invoice.id, body)
    expect(amounts(second)).toEqual([
      [4000, 0, 760, 4760],
      [-1999, 0, -380, -2379],
    ])
    const rest = await kit.credited(token, invoice.id, { reason: 'order_change' })
    expect(amounts(rest)).toEqual([
      [12000, 0, 2280, 14280],
      [-1999, 0, -379, -2378],
    ])
    expect(first.total + second.total + rest.total).toBe(invoice.total)
    expect(await kit.invoice(token, invoice.id)).toMatchObject({ status: 'credited', creditedTotal: 16664 })
  })

  test('when a credit rounds to nothing, given 0.001 of a 1.00 line, then 400 on /items and no number is used', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [
      { description: 'Cheap', quantity: 1, unitPrice: 100, taxRate: 0 },
    ])
    const res = await kit.credit(token, invoice.id, {
      reason: 'other',
      items: [{ invoiceItemId: invoice.items[0]!.id, quantity: 0.001 }],
    })
    expect(failure(res)).toMatchObject({ status: 400, code: 'VALIDATION_ERROR', paths: ['/items'] })
    expect((await kit.profile(token)).nextCreditNoteNumber).toBe(1)
    expect(await kit.invoice(token, invoice.id)).toMatchObject({
      status: 'sent',
      creditedTotal: 0,
      version: invoice.version,
    })
  })

  test('when a quantity is above what is left of its line, given earlier credits, then 422 CREDIT_EXCEEDS_INVOICE naming that item', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [design, hosting])
    const d = lineOf(invoice, 'Design work')
    const h = lineOf(invoice, 'Hosting')

    const overLine = await kit.credit(token, invoice.id, {
      reason: 'other',
      items: [{ invoiceItemId: d.id, quantity: 4 }],
    })
    expect(failure(overLine)).toMatchObject({
      status: 422,
      code: 'CREDIT_EXCEEDS_INVOICE',
      paths: ['/items/0/quantity'],
    })

    await kit.credited(token, invoice.id, { reason: 'other', items: [{ invoiceItemId: d.id, quantity: 2 }] })
    const overRest = await kit.credit(token, invoice.id, {
      reason: 'other',
      items: [
        { invoiceItemId: h.id, quantity: 1 },
        { invoiceItemId: d.id, quantity: 1.001 },
      ],
    })
    expect(failure(overRest)).toMatchObject({
      status: 422,
      code: 'CREDIT_EXCEEDS_INVOICE',
      paths: ['/items/1/quantity'],
    })
    const after = await kit.invoice(token, invoice.id)
    expect(after.creditedTotal).toBe(4758)
    expect(after.creditNotes).toHaveLength(1)
    expect((await kit.profile(token)).nextCreditNoteNumber).toBe(2)
  })

  test('when an item names no line of this invoice or a line twice, given another invoice of the same user, then 400 VALIDATION_ERROR', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [design])
    const other = await kit.issued(token, customerId, [hosting])
    const line = invoice.items[0]!

    const unknown = await kit.credit(token, invoice.id, {
      reason: 'other',
      items: [{ invoiceItemId: randomUUID(), quantity: 1 }],
    })
    expect(failure(unknown)).toMatchObject({
      status: 400,
      code: 'VALIDATION_ERROR',
      paths: ['/items/0/invoiceItemId'],
    })

    const foreign = await kit.credit(token, invoice.id, {
      reason: 'other',
      items: [
        { invoiceItemId: line.id, quantity: 1 },
        { invoiceItemId: other.items[0]!.id, quantity: 1 },
      ],
    })
    expect(failure(foreign)).toMatchObject({
      status: 400,
      code: 'VALIDATION_ERROR',
      paths: ['/items/1/invoiceItemId'],
    })

    const twice = await kit.credit(token, invoice.id, {
      reason: 'other',
      items: [
        { invoiceItemId: line.id, quantity: 1 },
        { invoiceItemId: line.id, quantity: 1 },
      ],
    })
    expect(failure(twice)).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' })
    expect(failure(twice).paths.length).toBeGreaterThan(0)
    expect(failure(twice).paths.every((p) => p.startsWith('/items'))).toBe(true)

    for (const id of [invoice.id, other.id]) {
      expect(await kit.invoice(token, id)).toMatchObject({ status: 'sent', creditedTotal: 0 })
    }
    expect(await kit.numbers(token)).toEqual([])
  })

  test('when the body is malformed, given unknown fields, a bad reason, a long memo or bad quantities, then 400 naming the field and nothing is issued', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [design])
    const line = invoice.items[0]!
    const item = (quantity: unknown) => ({ invoiceItemId: line.id, quantity })
    const cases: [Record<string, unknown>, string][] = [
      [{ reason: 'duplicate', total: 100 }, '/total'],
      [{ reason: 'duplicate', items: [{ ...item(1), total: 5 }] }, '/items/0/total'],
      [{ reason: 'mistake' }, '/reason'],
      [{}, '/reason'],
      [{ memo: 'no reason' }, '/reason'],
      [{ reason: 'other', memo: 'x'.repeat(2001) }, '/memo'],
      [{ reason: 'other', memo: 'nul\u0000byte' }, '/memo'],
      [{ reason: 'other', items: [] }, '/items'],
      [{ reason: 'other', items: [item(0)] }, '/items/0/quantity'],
      [{ reason: 'other', items: [item(-1)] }, '/items/0/quantity'],
      [{ reason: 'other', items: [item('1')] }, '/items/0/quantity'],
      [{ reason: 'other', items: [item(1.0005)] }, '/items/0/quantity'],
      [{ reason: 'other', items: [{ invoiceItemId: 'line-1', quantity: 1 }] }, '/items/0/invoiceItemId'],
      [{ reason: 'other', items: [{ invoiceItemId: line.id }] }, '/items/0/quantity'],
    ]
    for (const [json, path] of cases) {
      const res = await kit.credit(token, invoice.id, json)
      expect({ json, status: res.status, code: res.error?.code }).toEqual({
        json,
        status: 400,
        code: 'VALIDATION_ERROR',
      })
      expect({ json, paths: failure(res).paths }).toMatchObject({
        json,
        paths: expect.arrayContaining([path]),
      })
    }
    expect(await kit.numbers(token)).toEqual([])
    expect(await kit.invoice(token, invoice.id)).toMatchObject({ creditedTotal: 0, version: invoice.version })

    const tooMany = Array.from({ length: 501 }, () => item(0.001))
    const many = await kit.credit(token, invoice.id, { reason: 'other', items: tooMany })
    expect(failure(many)).toMatchObject({ status: 400, code: 'VALIDATION_ERROR', paths: ['/items'] })

    const decomposed = await kit.credited(token, invoice.id, {
      reason: 'other',
      memo: 'Cafe\u0301',
      items: [item(1)],
    })
    expect(decomposed.memo).toBe('Caf\u00e9')
    const memo = 'Line one\n\tindented line two'
    const ok = await kit.credited(token, invoice.id, { reason: 'other', memo, items: [item(1)] })
    expect(ok.memo).toBe(memo)
    expect(ok.number).toBe('CN-0002')
    const longest = await kit.credited(token, invoice.id, {
      reason: 'other',
      memo: 'y'.repeat(2000),
      items: [item(1)],
    })
    expect(longest.memo).toHaveLength(2000)
  })

  test('when the rest is credited without items, given one line exhausted and one in part, then only what is left of each line is credited', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [design, hosting, units])
    const d = lineOf(invoice, 'Design work')
    const h = lineOf(invoice, 'Hosting')
    const u = lineOf(invoice, 'Units')
    const first = await kit.credited(token, invoice.id, {
      reason: 'order_change',
      items: [
        { invoiceItemId: d.id, quantity: 1 },
        { invoiceItemId: h.id, quantity: 2.5 },
      ],
    })
    expect(first.items.map((i) => [i.invoiceItemId, i.quantity, i.total])).toEqual([
      [d.id, 1, 2379],
      [h.id, 2.5, 2675],
    ])
    const rest = await kit.credited(token, invoice.id, { reason: 'order_change' })
    expect(rest.items.map((i) => [i.invoiceItemId, i.quantity, i.subtotal, i.tax, i.total])).toEqual([
      [d.id, 2, 3998, 759, 4757],
      [u.id, 10, 10000, 0, 10000],
    ])
    expect(first.total + rest.total).toBe(invoice.total)
    expect(await kit.invoice(token, invoice.id)).toMatchObject({
      status: 'credited',
      creditedTotal: invoice.total,
    })
  })
})

describe('appliedToBalance and refundDue', () => {
  test('when an unpaid invoice is credited in part, given 10 000 due, then all of it is applied and the invoice stays sent', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [units])
    const note = await kit.credited(token, invoice.id, {
      reason: 'order_change',
      items: [{ invoiceItemId: invoice.items[0]!.id, quantity: 3 }],
    })
    expect(note).toMatchObject({ total: 3000, appliedToBalance: 3000, refundDue: 0 })
    expect(await kit.invoice(token, invoice.id)).toMatchObject({
      status: 'sent',
      creditedTotal: 3000,
      amountPaid: 0,
      amountDue: 7000,
      paidAt: null,
    })
    expect((await kit.events(token, invoice.id)).map((e) => e.type)).toEqual(['created', 'sent', 'credited'])
  })

  test('when a partially paid invoice is credited beyond what is due, given 8000 of 10 000 paid, then the rest is refund due and the invoice is paid', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [units])
    expect((await kit.pay(token, invoice.id, 8000)).status).toBe(201)
    const line = invoice.items[0]!

    const note = await kit.credited(token, invoice.id, {
      reason: 'product_unsatisfactory',
      items: [{ invoiceItemId: line.id, quantity: 5 }],
    })
    expect(note).toMatchObject({ total: 5000, appliedToBalance: 2000, refundDue: 3000 })
    const paid = await kit.invoice(token, invoice.id)
    expect(paid).toMatchObject({ status: 'paid', amountPaid: 8000, creditedTotal: 5000, amountDue: 0 })
    expect(paid.paidAt).not.toBeNull()
    expect((await kit.events(token, invoice.id)).map((e) => e.type)).toEqual([
      'created',
      'sent',
      'payment_recorded',
      'credited',
      'paid',
    ])
    const late = await kit.pay(token, invoice.id, 1)
    expect(late.status).toBe(409)

    const rest = await kit.credited(token, invoice.id, { reason: 'product_unsatisfactory' })
    expect(rest).toMatchObject({ total: 5000, appliedToBalance: 0, refundDue: 5000 })
    expect(rest.items).toEqual([
      expect.objectContaining({ invoiceItemId: line.id, quantity: 5, total: 5000 }),
    ])
    expect(await kit.invoice(token, invoice.id)).toMatchObject({
      status: 'credited',
      creditedTotal: 10000,
      amountPaid: 8000,
      amountDue: 0,
      paidAt: paid.paidAt,
    })
  })

  test('when a fully paid invoice is credited, given nothing due, then everything is refund due and it stays paid until fully credited', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [units])
    const payment = await kit.pay(token, invoice.id, 10000)
    expect(payment.status).toBe(201)
    const paid = await kit.invoice(token, invoice.id)
    expect(paid.status).toBe('paid')

    const part = await kit.credited(token, invoice.id, {
      reason: 'fraudulent',
      items: [{ invoiceItemId: invoice.items[0]!.id, quantity: 4 }],
    })
    expect(part).toMatchObject({ total: 4000, appliedToBalance: 0, refundDue: 4000 })
    expect(await kit.invoice(token, invoice.id)).toMatchObject({
      status: 'paid',
      creditedTotal: 4000,
      amountDue: 0,
      paidAt: paid.paidAt,
    })

    const rest = await kit.credited(token, invoice.id, { reason: 'fraudulent' })
    expect(rest).toMatchObject({ total: 6000, appliedToBalance: 0, refundDue: 6000 })
    expect(await kit.invoice(token, invoice.id)).toMatchObject({
      status: 'credited',
      creditedTotal: 10000,
      amountPaid: 10000,
      amountDue: 0,
    })
    const types = (await kit.events(token, invoice.id)).map((e) => e.type)
    expect(types).toEqual(['created', 'sent', 'payment_recorded', 'paid', 'credited', 'credited'])
  })
})

describe('statuses', () => {
  test('when the invoice is a draft, void or already credited, then 409 INVALID_STATUS_TRANSITION and no number is used', async () => {
    const { token, customerId } = await seller()
    const draft = await kit.draft(token, customerId, [design])
    const voided = await kit.issued(token, customerId, [design])
    expect((await kit.api(token).invoices({ id: voided.id }).void.post()).status).toBe(200)
    const done = await kit.issued(token, customerId, [design])
    await kit.credited(token, done.id, { reason: 'duplicate' })

    for (const id of [draft.id, voided.id, done.id]) {
      const res = await kit.credit(token, id, { reason: 'duplicate' })
      expect({ id, ...failure(res) }).toMatchObject({ id, status: 409, code: 'INVALID_STATUS_TRANSITION' })
    }
    expect((await kit.invoice(token, draft.id)).status).toBe('draft')
    expect((await kit.invoice(token, voided.id)).status).toBe('void')
    expect((await kit.profile(token)).nextCreditNoteNumber).toBe(2)
  })

  test('when the invoice does not exist, then 404 NOT_FOUND', async () => {
    const { token } = await seller()
    const res = await kit.credit(token, randomUUID(), { reason: 'duplicate' })
    expect(failure(res)).toMatchObject({ status: 404, code: 'NOT_FOUND' })
  })

  test('when an invoice has a credit note, given nothing paid, then it can no longer be voided', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [units])
    await kit.credited(token, invoice.id, {
      reason: 'other',
      items: [{ invoiceItemId: invoice.items[0]!.id, quantity: 1 }],
    })
    const res = await kit.api(token).invoices({ id: invoice.id }).void.post()
    expect(res.status).toBe(409)
    expect(res.error?.value).toMatchObject({ error: { code: 'INVALID_STATUS_TRANSITION' } })
    expect((await kit.invoice(token, invoice.id)).status).toBe('sent')
  })

  test('when a payment follows a partial credit, given 7000 left due, then 7001 is 422 and 7000 pays it; a credited invoice takes no payment', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [units])
    await kit.credited(token, invoice.id, {
      reason: 'other',
      items: [{ invoiceItemId: invoice.items[0]!.id, quantity: 3 }],
    })

    const over = await kit.pay(token, invoice.id, 7001)
    expect(over.status).toBe(422)
    expect(over.error?.value).toMatchObject({ error: { code: 'PAYMENT_EXCEEDS_BALANCE' } })
    const exact = await kit.pay(token, invoice.id, 7000)
    expect(exact.status).toBe(201)
    expect(exact.data?.invoiceId).toBe(invoice.id)
    expect(await kit.invoice(token, invoice.id)).toMatchObject({
      status: 'paid',
      amountPaid: 7000,
      creditedTotal: 3000,
      amountDue: 0,
    })

    const other = await kit.issued(token, customerId, [units])
    await kit.credited(token, other.id, { reason: 'duplicate' })
    const onCredited = await kit.pay(token, other.id, 1)
    expect(onCredited.status).toBe(409)
    expect(onCredited.error?.value).toMatchObject({ error: { code: 'INVALID_STATUS_TRANSITION' } })
    expect((await kit.invoice(token, other.id)).amountPaid).toBe(0)
  })
})

describe('numbering', () => {
  test('when notes are issued on several invoices, given invoice numbers from 7, then credit notes count CN-0001, CN-0002 on their own and another user starts at CN-0001', async () => {
    const { token, customerId } = await seller({ nextInvoiceNumber: 7 })
    const a = await kit.issued(token, customerId, [units])
    const b = await kit.issued(token, customerId, [units])
    expect([a.number, b.number]).toEqual(['INV-0007', 'INV-0008'])
    const first = await kit.credited(token, b.id, {
      reason: 'other',
      items: [{ invoiceItemId: b.items[0]!.id, quantity: 1 }],
    })
    const second = await kit.credited(token, a.id, { reason: 'duplicate' })
    expect([first.number, second.number]).toEqual(['CN-0001', 'CN-0002'])
    expect([first.invoiceNumber, second.invoiceNumber]).toEqual(['INV-0008', 'INV-0007'])
    expect(await kit.profile(token)).toMatchObject({ nextInvoiceNumber: 9, nextCreditNoteNumber: 3 })
    const c = await kit.issued(token, customerId, [units])
    expect(c.number).toBe('INV-0009')

    const other = await seller()
    const theirs = await kit.issued(other.token, other.customerId, [units])
    expect((await kit.credited(other.token, theirs.id, { reason: 'duplicate' })).number).toBe('CN-0001')
  })

  test('when the profile sets prefix GS- and raises the counter, then the next note uses them, and lowering to a used number is refused', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [units])
    const line = invoice.items[0]!.id
    const cn1 = await kit.credited(token, invoice.id, {
      reason: 'other',
      items: [{ invoiceItemId: line, quantity: 1 }],
    })
    expect(cn1.number).toBe('CN-0001')

    const me = kit.api(token).me
    const raised = await me.patch({ creditNotePrefix: 'GS-', nextCreditNoteNumber: 10 })
    expect(raised.status).toBe(200)
    expect(raised.data?.profile).toMatchObject({ creditNotePrefix: 'GS-', nextCreditNoteNumber: 10 })
    const gs = await kit.credited(token, invoice.id, {
      reason: 'other',
      items: [{ invoiceItemId: line, quantity: 1 }],
    })
    expect(gs.number).toBe('GS-0010')
    expect(await kit.profile(token)).toMatchObject({
      nextCreditNoteNumber: 11,
      invoicePrefix: 'INV-',
      nextInvoiceNumber: 2,
    })

    for (const nextCreditNoteNumber of [10, 5, 1]) {
      const lowered = await me.patch({ nextCreditNoteNumber })
      expect({ nextCreditNoteNumber, status: lowered.status }).toEqual({ nextCreditNoteNumber, status: 400 })
      expect(lowered.error?.value).toMatchObject({
        error: { code: 'VALIDATION_ERROR', details: [{ path: '/nextCreditNoteNumber' }] },
      })
    }
    expect((await kit.profile(token)).nextCreditNoteNumber).toBe(11)
    expect((await me.patch({ nextCreditNoteNumber: 12 })).status).toBe(200)
    const next = await kit.credited(token, invoice.id, {
      reason: 'other',
      items: [{ invoiceItemId: line, quantity: 1 }],
    })
    expect(next.number).toBe('GS-0012')
    expect(await kit.numbers(token)).toEqual(['GS-0012', 'GS-0010', 'CN-0001'])
  })
})

describe('frozen data and dates', () => {
  test("when the profile's time zone is far east or far west, then issueDate is today there and issuedAt the moment", async () => {
    const { token, customerId } = await seller({ timezone: 'Pacific/Kiritimati' })
    const invoice = await kit.issued(token, customerId, [units])
    const line = invoice.items[0]!.id
    const before = Date.now()
    const east = await kit.credited(token, invoice.id, {
      reason: 'other',
      items: [{ invoiceItemId: line, quantity: 1 }],
    })
    expect(east.issueDate).toBe(dayIn('Pacific/Kiritimati'))
    expect(east.issuedAt).toMatch(ISO)
    expect(ms(east.issuedAt)).toBeGreaterThanOrEqual(before - 1)
    expect(ms(east.issuedAt)).toBeLessThanOrEqual(Date.now())

    expect((await kit.api(token).me.patch({ timezone: 'Pacific/Pago_Pago' })).status).toBe(200)
    const west = await kit.credited(token, invoice.id, {
      reason: 'other',
      items: [{ invoiceItemId: line, quantity: 1 }],
    })
    expect(west.issueDate).toBe(dayIn('Pacific/Pago_Pago'))
    // 25 hours apart: the two days always differ, so one of them is not the UTC day.
    expect(west.issueDate < east.issueDate).toBe(true)
  })

  test('when the customer and the profile are renamed after the note, then the note keeps the names it was issued with', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [units])
    const note = await kit.credited(token, invoice.id, {
      reason: 'other',
      items: [{ invoiceItemId: invoice.items[0]!.id, quantity: 1 }],
    })
    expect(note.billTo).toMatchObject({ name: 'Ada Lovelace', email: 'ada@example.com' })
    expect(note.from).toMatchObject({ companyName: 'Seller GmbH' })

    const api = kit.api(token)
    expect(
      (await api.customers({ id: customerId }).patch({ name: 'Renamed Ltd', email: 'new@example.com' }))
        .status,
    ).toBe(200)
    expect((await api.me.patch({ companyName: 'New Name AG' })).status).toBe(200)

    const again = await kit.note(token, note.id)
    expect(again.data.billTo).toMatchObject({ name: 'Ada Lovelace', email: 'ada@example.com' })
    expect(again.data.from).toMatchObject({ companyName: 'Seller GmbH' })
    expect(again.data).toEqual(note)
    const listed = await kit.list(token, { invoiceId: invoice.id })
    expect(listed.data.data[0]!.billTo.name).toBe('Ada Lovelace')
  })
})

describe('concurrency', () => {
  test('when eight full credit notes race on one invoice, then exactly one is issued and the numbers stay gapless', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [design, hosting])
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => kit.credit(token, invoice.id, { reason: 'duplicate' })),
    )
    const statuses = answers.map((a) => a.status)
    expect(statuses.filter((s) => s === 201)).toHaveLength(1)
    expect(statuses.filter((s) => s === 409 || s === 422)).toHaveLength(7)
    const winner = answers.find((a) => a.status === 201)!.data
    expect(winner).toMatchObject({ number: 'CN-0001', total: invoice.total })
    expect(await kit.invoice(token, invoice.id)).toMatchObject({
      status: 'credited',
      creditedTotal: invoice.total,
    })
    expect(await kit.numbers(token)).toEqual(['CN-0001'])
    expect((await kit.profile(token)).nextCreditNoteNumber).toBe(2)
    expect((await kit.events(token, invoice.id)).filter((e) => e.type === 'credited')).toHaveLength(1)

    const next = await kit.issued(token, customerId, [units])
    expect((await kit.credited(token, next.id, { reason: 'duplicate' })).number).toBe('CN-0002')
  })

  test('when eight one-unit credits race on a five-unit line, then exactly five are issued, the rest 422, and they add up to the line', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [
      { description: 'Seats', quantity: 5, unitPrice: 1999, taxRate: 19 },
      { description: 'Setup', quantity: 1, unitPrice: 500, taxRate: 0 },
    ])
    const seats = lineOf(invoice, 'Seats')
    expect(seats.total).toBe(11894)
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        kit.credit(token, invoice.id, {
          reason: 'order_change',
          items: [{ invoiceItemId: seats.id, quantity: 1 }],
        }),
      ),
    )
    const issued = answers.filter((a) => a.status === 201).map((a) => a.data)
    const refused = answers.filter((a) => a.status !== 201)
    expect(issued).toHaveLength(5)
    expect(refused.map(failure)).toEqual(
      Array.from({ length: 3 }, () =>
        expect.objectContaining({ status: 422, code: 'CREDIT_EXCEEDS_INVOICE' }),
      ),
    )
    expect(sum(issued.map((n) => n.total))).toBe(seats.total)
    expect(issued.map((n) => n.number).sort()).toEqual([
      'CN-0001',
      'CN-0002',
      'CN-0003',
      'CN-0004',
      'CN-0005',
    ])
    expect(await kit.invoice(token, invoice.id)).toMatchObject({
      status: 'sent',
      creditedTotal: seats.total,
      amountDue: 500,
    })
    expect((await kit.profile(token)).nextCreditNoteNumber).toBe(6)
  })

  test('when notes on five invoices race three invoices being sent, then both series stay gapless and independent', async () => {
    const { token, customerId } = await seller()
    const invoices = await Promise.all(
      Array.from({ length: 5 }, () => kit.issued(token, customerId, [units])),
    )
    const drafts = await Promise.all(Array.from({ length: 3 }, () => kit.draft(token, customerId, [units])))
    const [notes, sent] = await Promise.all([
      Promise.all(invoices.map((inv) => kit.credit(token, inv.id, { reason: 'duplicate' }))),
      Promise.all(drafts.map((d) => kit.api(token).invoices({ id: d.id })['mark-as-sent'].post())),
    ])
    expect(notes.map((n) => n.status)).toEqual([201, 201, 201, 201, 201])
    expect(sent.map((r) => r.status)).toEqual([200, 200, 200])
    expect(notes.map((n) => n.data.number).sort()).toEqual([
      'CN-0001',
      'CN-0002',
      'CN-0003',
      'CN-0004',
      'CN-0005',
    ])
    expect(sent.map((r) => r.data?.number).sort()).toEqual(['INV-0006', 'INV-0007', 'INV-0008'])
    notes.forEach((n, i) => {
      expect(n.data.invoiceId).toBe(invoices[i]!.id)
    })
    expect(await kit.profile(token)).toMatchObject({ nextInvoiceNumber: 9, nextCreditNoteNumber: 6 })
  })

  test('when one Idempotency-Key races eight times, then one note is issued and every answer is that note', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [units])
    const body = { reason: 'other', items: [{ invoiceItemId: invoice.items[0]!.id, quantity: 1 }] }
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        kit.credit(token, invoice.id, body, { 'idempotency-key': 'race-credit' }),
      ),
    )
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(201))
    expect(new Set(answers.map((a) => a.data.id)).size).toBe(1)
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(7)
    expect(await kit.numbers(token)).toEqual(['CN-0001'])
    expect((await kit.invoice(token, invoice.id)).creditedTotal).toBe(1000)
  })

  /**
   * Seven payments of `payment` and seven credit notes of `quantity` units race on one 10 000 invoice of a new user;
   * then the invoice must be what its successful answers add up to.
   */
  async function raceOnOneInvoice(payment: number, quantity: number) {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [units])
    const line = invoice.items[0]!.id
    type Result = { kind: 'pay' | 'credit'; status: number; code?: string; amount: number; applied: number }
    const requests: Promise<Result>[] = []
    for (let i = 0; i < 7; i++) {
      requests.push(
        kit.pay(token, invoice.id, payment).then((r) => ({
          kind: 'pay',
          status: r.status,
          code: (r.error?.value as { error?: { code: string } } | undefined)?.error?.code,
          amount: payment,
          applied: payment,
        })),
      )
      requests.push(
        kit
          .credit(token, invoice.id, { reason: 'other', items: [{ invoiceItemId: line, quantity }] })
          .then((r) => {
            if (r.status === 201) expect(r.data.appliedToBalance + r.data.refundDue).toBe(r.data.total)
            return {
              kind: 'credit',
              status: r.status,
              code: r.error?.code,
              amount: r.status === 201 ? r.data.total : 0,
              applied: r.status === 201 ? r.data.appliedToBalance : 0,
            }
          }),
      )
    }
    const results = await Promise.all(requests)
    for (const r of results) {
      const allowed =
        r.status === 201 ||
        (r.status === 409 && r.code === 'INVALID_STATUS_TRANSITION') ||
        (r.status === 422 &&
          r.code === (r.kind === 'pay' ? 'PAYMENT_EXCEEDS_BALANCE' : 'CREDIT_EXCEEDS_INVOICE'))
      expect({ ...r, allowed }).toMatchObject({ allowed: true })
    }
    const ok = results.filter((r) => r.status === 201)
    const payments = ok.filter((r) => r.kind === 'pay')
    const credits = ok.filter((r) => r.kind === 'credit')
    const paid = sum(payments.map((r) => r.amount))
    const credited = sum(credits.map((r) => r.amount))
    const applied = sum(credits.map((r) => r.applied))
    expect(credits.length).toBeGreaterThan(0)

    const final = await kit.invoice(token, invoice.id)
    expect({ amountPaid: final.amountPaid, creditedTotal: final.creditedTotal }).toEqual({
      amountPaid: paid,
      creditedTotal: credited,
    })
    expect(credited).toBeLessThanOrEqual(invoice.total)
    // Every payment and the applied part of every credit came out of what was due, never more.
    expect(paid + applied + final.amountDue).toBe(invoice.total)
    expect(final.amountDue).toBe(Math.max(0, invoice.total - paid - credited))
    const expected =
      credited === invoice.total
        ? 'credited'
        : final.amountDue === 0
          ? 'paid'
          : paid > 0
            ? 'partially_paid'
            : 'sent'
    expect(final.status).toBe(expected)
    expect(final.payments).toHaveLength(payments.length)
    expect(final.creditNotes).toHaveLength(credits.length)
    const trail = (await kit.events(token, invoice.id)).map((e) => e.type)
    expect(trail.filter((e) => e === 'credited')).toHaveLength(credits.length)
    expect(trail.filter((e) => e === 'payment_recorded')).toHaveLength(payments.length)
    expect(trail.filter((e) => e === 'paid')).toHaveLength(final.paidAt === null ? 0 : 1)
    const numbers = final.creditNotes.map((n) => n.number).sort()
    expect(numbers).toEqual(numbers.map((_, i) => `CN-${String(i + 1).padStart(4, '0')}`))
    expect((await kit.profile(token)).nextCreditNoteNumber).toBe(credits.length + 1)
  }

  test('when credit notes race payments on one invoice, given credits that can reach the total or not, then paid plus applied never passes the total and the status follows the balance', async () => {
    await Promise.all([raceOnOneInvoice(2000, 2), raceOnOneInvoice(3000, 1), raceOnOneInvoice(1500, 1.5)])
  })
})

describe('the PDF', () => {
  test('when the link is asked for, then it downloads the stored PDF with the recorded hash naming the note and the invoice', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [design])
    const note = await kit.credited(token, invoice.id, { reason: 'order_change', memo: 'Returned one seat' })

    const link = await kit.pdfLink(token, note.id)
    expect(link.status).toBe(200)
    expect(link.headers.get('cache-control')).toBe('no-store')
    expect(ms(link.data.expiresAt)).toBeGreaterThan(Date.now())
    const url = new URL(link.data.url)
    const file = await t.request(url.pathname + url.search)
    expect(file.status).toBe(200)
    expect(file.headers.get('content-type')).toBe('application/pdf')
    expect(file.headers.get('content-disposition')).toBe('attachment; filename="CN-0001.pdf"')
    const bytes = new Uint8Array(await file.arrayBuffer())
    expect(sha256(bytes)).toBe(note.pdf.sha256)
    expect(bytes.byteLength).toBe(note.pdf.size)
    const { pages } = await extractPdfText(bytes)
    const text = pages.map((p) => p.text).join('\n')
    for (const expected of [
      'Credit note',
      'CN-0001',
      'INV-0001',
      'Ada Lovelace',
      'Seller GmbH',
      'Returned one seat',
    ]) {
      expect(text).toContain(expected)
    }
    expect(text).toContain('Order change')
    expect(pages.flatMap((p) => p.lines)).toContain(
      `Credit note CN-0001 — for invoice INV-0001 of ${formatDate(invoice.issueDate)}`,
    )
  })

  test('when the stored object is lost, then asking for the link renders it again with the same hash', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [design])
    const note = await kit.credited(token, invoice.id, { reason: 'duplicate' })
    const me = (await kit.api(token).me.get()).data!
    const { pdf_key } = await t.deps.database.db
      .selectFrom('credit_notes')
      .select('pdf_key')
      .where('user_id', '=', me.id)
      .where('id', '=', note.id)
      .executeTakeFirstOrThrow()
    const path = join(t.deps.config.dataDir, 'objects', pdf_key)
    await rm(path)
    expect(await Bun.file(path).exists()).toBe(false)

    const link = await kit.pdfLink(token, note.id)
    expect(link.status).toBe(200)
    const url = new URL(link.data.url)
    const file = await t.request(url.pathname + url.search)
    expect(file.status).toBe(200)
    expect(sha256(new Uint8Array(await file.arrayBuffer()))).toBe(note.pdf.sha256)
    expect(await Bun.file(path).exists()).toBe(true)
    expect((await kit.note(token, note.id)).data.pdf.sha256).toBe(note.pdf.sha256)
  })
})

describe('idempotency and preconditions', () => {
  test('when the same Idempotency-Key and body are sent again, then the first 201 is replayed and one note exists; another body is 409', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [units])
    const body = { reason: 'other', items: [{ invoiceItemId: invoice.items[0]!.id, quantity: 2 }] }
    const headers = { 'idempotency-key': `credit-${invoice.id}` }
    const first = await kit.credit(token, invoice.id, body, headers)
    expect(first.status).toBe(201)
    const again = await kit.credit(token, invoice.id, body, headers)
    expect(again.status).toBe(201)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.headers.get('location')).toBe(first.headers.get('location'))
    expect(again.headers.get('etag')).toBe(first.headers.get('etag'))
    expect(again.data).toEqual(first.data)
    expect(await kit.numbers(token)).toEqual(['CN-0001'])
    expect((await kit.invoice(token, invoice.id)).creditedTotal).toBe(2000)

    const reused = await kit.credit(token, invoice.id, { ...body, memo: 'different' }, headers)
    expect(failure(reused)).toMatchObject({ status: 409, code: 'IDEMPOTENCY_KEY_REUSED' })
    expect(await kit.numbers(token)).toEqual(['CN-0001'])
  })

  test('when If-Match carries a stale invoice ETag, then 412 and nothing is issued; the current ETag succeeds', async () => {
    const { token, customerId } = await seller()
    const invoice = await kit.issued(token, customerId, [units])
    const { etag } = await kit.invoice(token, invoice.id)
    expect(etag).toBe(`"invoice-${invoice.id}-${invoice.version}"`)
    expect((await kit.pay(token, invoice.id, 100)).status).toBe(201)

    const stale = await kit.credit(token, invoice.id, { reason: 'duplicate' }, { 'if-match': etag })
    expect(failure(stale)).toMatchObject({ status: 412, code: 'PRECONDITION_FAILED' })
    expect(await kit.numbers(token)).toEqual([])
    const current = await kit.invoice(token, invoice.id)
    expect(current.creditedTotal).toBe(0)

    const ok = await kit.credit(token, invoice.id, { reason: 'duplicate' }, { 'if-match': current.etag })
    expect(ok.status).toBe(201)
    expect(ok.data).toMatchObject({ total: 10000, appliedToBalance: 9900, refundDue: 100 })
  })
})

describe('the list', () => {
  test('when notes are listed, given filters by invoice, customer and issue date, then each answers its notes newest number first', async () => {
    const token = await kit.newUser({ timezone: 'Pacific/Pago_Pago' })
    const alice = await kit.newCustomer(token, { name: 'Alice' })
    const bob = await kit.newCustomer(token, { name: 'Bob' })
    const a1 = await kit.issued(token, alice, [units])
    const a2 = await kit.issued(token, alice, [units])
    const b1 = await kit.issued(token, bob, [units])
    const one = (id: string) => ({ reason: 'other', items: [{ invoiceItemId: id, quantity: 1 }] })

    const n1 = await kit.credited(token, a1.id, one(a1.items[0]!.id))
    expect((await kit.api(token).me.patch({ timezone: 'Pacific/Kiritimati' })).status).toBe(200)
    await kit.credited(token, a1.id, one(a1.items[0]!.id))
    const n3 = await kit.credited(token, a2.id, { reason: 'duplicate' })
    await kit.credited(token, b1.id, one(b1.items[0]!.id))
    await kit.credited(token, b1.id, one(b1.items[0]!.id))
    const west = n1.issueDate
    const east = n3.issueDate
    expect(west < east).toBe(true)

    expect(await kit.numbers(token)).toEqual(['CN-0005', 'CN-0004', 'CN-0003', 'CN-0002', 'CN-0001'])
    expect(await kit.numbers(token, { invoiceId: a1.id })).toEqual(['CN-0002', 'CN-0001'])
    expect(await kit.numbers(token, { customerId: bob })).toEqual(['CN-0005', 'CN-0004'])
    expect(await kit.numbers(token, { customerId: alice })).toEqual(['CN-0003', 'CN-0002', 'CN-0001'])
    expect(await kit.numbers(token, { issuedTo: west })).toEqual(['CN-0001'])
    expect(await kit.numbers(token, { issuedFrom: east })).toEqual([
      'CN-0005',
      'CN-0004',
      'CN-0003',
      'CN-0002',
    ])
    expect(await kit.numbers(token, { issuedFrom: west, issuedTo: west })).toEqual(['CN-0001'])
    expect(await kit.numbers(token, { issuedFrom: east, customerId: alice })).toEqual(['CN-0003', 'CN-0002'])
    expect(await kit.numbers(token, { invoiceId: a2.id, customerId: bob })).toEqual([])

    const full = (await kit.list(token)).data
    expect(full.nextCursor).toBeNull()
    expect(full.data[4]).toEqual(n1)
  })

  test('when the list is walked with limit 2, then every note is visited exactly once and altered cursors are 400', async () => {
    const { token, customerId } = await seller()
    const other = await kit.issued(token, customerId, [units])
    await kit.credited(token, other.id, {
      reason: 'other',
      items: [{ invoiceItemId: other.items[0]!.id, quantity: 1 }],
    })
    const invoice = await kit.issued(token, customerId, [units])
    const line = invoice.items[0]!.id
    const oneUnit = { reason: 'other', items: [{ invoiceItemId: line, quantity: 1 }] }
    for (let i = 0; i < 5; i++) await kit.credited(token, invoice.id, oneUnit)

    /** Follows nextCursor from the first page; `between` runs after each page. */
    async function walk(filter: Record<string, string>, between: () => Promise<unknown> = async () => {}) {
      const pages: string[][] = []
      const cursors: string[] = []
      let cursor: string | null = null
      do {
        const page = await kit.list(token, { ...filter, limit: 2, ...(cursor ? { cursor } : {}) })
        expect(page.status).toBe(200)
        pages.push(page.data.data.map((n) => n.number))
        cursor = page.data.nextCursor
        if (cursor) cursors.push(cursor)
        await between()
      } while (cursor && pages.length < 10)
      return { pages, cursors }
    }

    const { pages, cursors } = await walk({})
    expect(pages).toEqual([
      ['CN-0006', 'CN-0005'],
      ['CN-0004', 'CN-0003'],
      ['CN-0002', 'CN-0001'],
    ])
    expect((await walk({ invoiceId: invoice.id })).pages).toEqual([
      ['CN-0006', 'CN-0005'],
      ['CN-0004', 'CN-0003'],
      ['CN-0002'],
    ])
    // Notes issued during the walk come before its start: the walk still visits each earlier note once.
    const during = await walk({ invoiceId: invoice.id }, () => kit.credited(token, invoice.id, oneUnit))
    expect(during.pages).toEqual([['CN-0006', 'CN-0005'], ['CN-0004', 'CN-0003'], ['CN-0002']])
    expect(await kit.numbers(token, { invoiceId: invoice.id })).toHaveLength(8)

    const valid = cursors[0]!
    const flipped = valid.slice(0, -2) + (valid.at(-2) === 'A' ? 'B' : 'A') + valid.at(-1)
    // The cursor's own content, when it is readable JSON, with every listed value replaced by one of the wrong kind.
    let forged = `${valid.slice(1)}A`
    try {
      const decoded = JSON.parse(Buffer.from(valid, 'base64url').toString('utf8')) as Record<string, unknown>
      const retyped = Object.fromEntries(
        Object.entries(decoded).map(([k, v]) => [k, Array.isArray(v) ? v.map(() => ({ x: 1 })) : v]),
      )
      forged = Buffer.from(JSON.stringify(retyped)).toString('base64url')
    } catch {
      // An opaque cursor: the shifted one above is altered enough.
    }
    const foreign = Buffer.from(
      JSON.stringify({ s: '-issueDate', k: ['2026-01-01', randomUUID()] }),
    ).toString('base64url')
    for (const bad of ['abc', `${valid}x`, flipped, forged, foreign, 'e30', '!!!']) {
      const res = await kit.list(token, { limit: 2, cursor: bad })
      expect({ bad, ...failure(res) }).toMatchObject({ bad, status: 400, code: 'VALIDATION_ERROR' })
    }
    const invalid: Record<string, string | number>[] = [
      { limit: 0 },
      { limit: 101 },
      { invoiceId: 'nope' },
      { issuedFrom: '2026-13-01' },
      { foo: 1 },
      { issuedFrom: '2026-05-01', issuedTo: '2026-04-01' },
    ]
    for (const query of invalid) {
      const res = await kit.list(token, query)
      expect({ query, status: res.status }).toEqual({ query, status: 400 })
    }
  })
})

describe('ownership', () => {
  test("when another user's credit note or invoice is used, then every route answers 404 and nothing changes", async () => {
    const owner = await seller()
    const invoice = await kit.issued(owner.token, owner.customerId, [units])
    const note = await kit.credited(owner.token, invoice.id, {
      reason: 'other',
      items: [{ invoiceItemId: invoice.items[0]!.id, quantity: 1 }],
    })
    const intruder = await seller()

    expect(failure(await kit.note(intruder.token, note.id))).toMatchObject({ status: 404, code: 'NOT_FOUND' })
    expect(failure(await kit.pdfLink(intruder.token, note.id))).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
    })
    expect(failure(await kit.credit(intruder.token, invoice.id, { reason: 'duplicate' }))).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
    })
    expect(await kit.numbers(intruder.token)).toEqual([])
    expect(await kit.numbers(intruder.token, { invoiceId: invoice.id })).toEqual([])
    expect(await kit.numbers(intruder.token, { customerId: owner.customerId })).toEqual([])
    expect(failure(await kit.note(owner.token, randomUUID()))).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
    })
    expect(failure(await kit.pdfLink(owner.token, randomUUID()))).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
    })

    expect(await kit.invoice(owner.token, invoice.id)).toMatchObject({ status: 'sent', creditedTotal: 1000 })
    expect((await kit.profile(intruder.token)).nextCreditNoteNumber).toBe(1)
    expect(await kit.numbers(owner.token)).toEqual(['CN-0001'])
  })
})

describe('with S3 storage', () => {
  let s3: S3rverHandle
  let client: S3Client
  let s3t: TestApp
  let s3kit: ReturnType<typeof creditNoteKit>
  beforeAll(async () => {
    s3 = await startS3rver('credit-notes-test')
    client = new S3Client({ ...s3.s3Options })
    s3t = await createTestApp({
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      STORAGE_TIMEOUT_MS: '1500',
    })
    s3kit = creditNoteKit(s3t)
  })
  afterAll(async () => {
    await s3t.close()
    client.destroy()
    await s3.close()
  })

  test('when the object store is down, then 502 PDF_GENERATION_FAILED, nothing is consumed, and the retry gets CN-0001', async () => {
    const token = await s3kit.newUser()
    const customerId = await s3kit.newCustomer(token)
    const invoice = await s3kit.issued(token, customerId, [design])
    const before = await s3kit.invoice(token, invoice.id)
    const trail = await s3kit.events(token, invoice.id)
    const headers = { 'idempotency-key': `credit-${invoice.id}` }
    const body = { reason: 'duplicate', items: [{ invoiceItemId: invoice.items[0]!.id, quantity: 1 }] }

    await s3.stop()
    try {
      const res = await s3kit.credit(token, invoice.id, body, headers)
      expect(failure(res)).toMatchObject({ status: 502, code: 'PDF_GENERATION_FAILED' })
      const after = await s3kit.invoice(token, invoice.id)
      expect({
        version: after.version,
        status: after.status,
        creditedTotal: after.creditedTotal,
        etag: after.etag,
      }).toEqual({
        version: before.version,
        status: 'sent',
        creditedTotal: 0,
        etag: before.etag,
      })
      expect(after.creditNotes).toEqual([])
      expect(await s3kit.events(token, invoice.id)).toEqual(trail)
      expect(await s3kit.numbers(token)).toEqual([])
      expect((await s3kit.profile(token)).nextCreditNoteNumber).toBe(1)
    } finally {
      await s3.restart()
    }

    const retried = await s3kit.credit(token, invoice.id, body, headers)
    expect(retried.status).toBe(201)
    expect(retried.headers.get('idempotent-replayed')).toBeNull()
    expect(retried.data.number).toBe('CN-0001')
    expect((await s3kit.profile(token)).nextCreditNoteNumber).toBe(2)
  })

  test('when the note is stored in S3, then the presigned link downloads it, and a deleted object is rendered again', async () => {
    const token = await s3kit.newUser()
    const customerId = await s3kit.newCustomer(token)
    const invoice = await s3kit.issued(token, customerId, [design])
    const note = await s3kit.credited(token, invoice.id, { reason: 'duplicate' })

    const first = await s3kit.pdfLink(token, note.id)
    expect(first.status).toBe(200)
    expect(new URL(first.data.url).origin).toBe(s3.endpoint)
    const download = await fetch(first.data.url)
    expect(download.status).toBe(200)
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="CN-0001.pdf"')
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(note.pdf.sha256)

    const me = (await s3kit.api(token).me.get()).data!
    const { pdf_key } = await s3t.deps.database.db
      .selectFrom('credit_notes')
      .select('pdf_key')
      .where('user_id', '=', me.id)
      .where('id', '=', note.id)
      .executeTakeFirstOrThrow()
    await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: pdf_key }))
    const second = await s3kit.pdfLink(token, note.id)
    expect(second.status).toBe(200)
    const again = await fetch(second.data.url)
    expect(again.status).toBe(200)
    expect(sha256(new Uint8Array(await again.arrayBuffer()))).toBe(note.pdf.sha256)
  })
})
