import { describe, expect, test } from 'bun:test'
import {
  type CreditNoteReason,
  type CreditNoteSnapshot,
  renderCreditNotePdf,
  renderDocumentPdf,
  renderInvoicePdf,
} from '../../src/lib/pdf/index.ts'
import { sampleCreditNoteSnapshot, sampleInvoiceSnapshot } from '../../src/lib/pdf/sample.ts'
import { formatMoney } from '../../src/shared/money.ts'
import { extractPdfText } from '../helpers/pdf-text.ts'

const trailerId = (bytes: Uint8Array) =>
  /\/ID \[<([0-9a-f]+)>/.exec(new TextDecoder('latin1').decode(bytes))?.[1]
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b))
const eur = (amount: number) => formatMoney(amount, 'EUR')

/** Nothing had been paid: the whole credit comes off the balance and nothing is refunded. */
const unpaid = (snapshot: CreditNoteSnapshot): CreditNoteSnapshot => ({
  ...snapshot,
  appliedToBalance: snapshot.total,
  refundDue: 0,
})

describe('renderCreditNotePdf', () => {
  test('when rendering a credit note, then it names the invoice, the reason and memo, and how the credit was settled', async () => {
    const snapshot = sampleCreditNoteSnapshot(3)
    const { pages, info } = await extractPdfText(await renderCreditNotePdf(snapshot))
    expect(pages).toHaveLength(1)
    const { text, lines } = pages[0]!
    expect(text).toContain('Credit note')
    expect(lines).toContain('Number CN-0001')
    expect(text).toContain('Issue date Jan 20, 2026')
    expect(text).toContain('Invoice INV-0042')
    expect(lines).toContain('Credit note CN-0001 — for invoice INV-0042 of Jan 15, 2026')
    expect(lines).toContain('Description Quantity Unit price Tax rate Total')
    expect(text).toContain(`CREDIT TOTAL\nООО Ромашка\n${eur(snapshot.total)}`)
    expect(text).toContain(`Subtotal ${eur(snapshot.subtotal)}`)
    expect(text).toContain(`Discount (10%) ${eur(-snapshot.discountTotal)}`)
    expect(text).toContain(`Tax ${eur(snapshot.taxTotal)}`)
    expect(lines).toContain(`Credit total ${eur(snapshot.total)}`)
    expect(lines).toContain(`Applied to balance ${eur(snapshot.appliedToBalance)}`)
    expect(lines).toContain('Refund due €500.00')
    expect(text).toContain('REASON')
    expect(text).toContain('Order change')
    expect(text).toContain('MEMO')
    expect(lines).toContain('Credited in full as agreed on 19 January.')
    expect(text).toContain('The workshop series was cancelled by the')
    for (const invoiceOnly of ['Due date', 'Amount due', 'Amount paid', 'NOTES']) {
      expect(text).not.toContain(invoiceOnly)
    }
    expect(lines.at(-1)).toBe('CN-0001 · Αθήνα Ltd Page 1 of 1')
    expect(info['Title']).toBe('Credit note CN-0001')
    expect(info['CreationDate']).toBe('D:20260120140500Z')
    expect(info['ModDate']).toBe('D:20260120140500Z')
  })

  test('when nothing is to be refunded, then Refund due is left out and the whole credit is applied', async () => {
    const snapshot = unpaid(sampleCreditNoteSnapshot(3))
    const { pages } = await extractPdfText(await renderCreditNotePdf(snapshot))
    const { text, lines } = pages[0]!
    expect(lines).toContain(`Applied to balance ${eur(snapshot.total)}`)
    expect(text).not.toContain('Refund due')
  })

  test('when rendering each reason, then it is shown in words; without a memo there is no memo block', async () => {
    const words: Record<CreditNoteReason, string> = {
      duplicate: 'Duplicate',
      fraudulent: 'Fraudulent',
      order_change: 'Order change',
      product_unsatisfactory: 'Product unsatisfactory',
      other: 'Other',
    }
    for (const [reason, expected] of Object.entries(words) as [CreditNoteReason, string][]) {
      const snapshot = sampleCreditNoteSnapshot(1, { reason, memo: null })
      const { pages } = await extractPdfText(await renderCreditNotePdf(snapshot))
      expect(pages[0]!.lines).toContain(expected)
      expect(pages[0]!.text).not.toContain(reason)
      expect(pages[0]!.text).not.toContain('MEMO')
    }
  })

  test('when the memo is long, then it goes below the totals, flows on and every line of it is shown', async () => {
    const memo = Array.from({ length: 40 }, (_, i) => `Point ${i + 1}: returned goods were checked.`).join(
      '\n',
    )
    const { pages } = await extractPdfText(await renderCreditNotePdf(sampleCreditNoteSnapshot(8, { memo })))
    for (const [i, page] of pages.entries()) {
      expect(page.lines.at(-1)).toEndWith(`Page ${i + 1} of ${pages.length}`)
    }
    const lines = pages.flatMap((page) => page.lines)
    for (let n = 1; n <= 40; n++) expect(lines).toContain(`Point ${n}: returned goods were checked.`)
    expect(lines.indexOf('REASON')).toBeLessThan(lines.indexOf('MEMO'))
  })

  test('when rendering 120 lines, then they span several pages, each with the table header and its page count', async () => {
    const snapshot = sampleCreditNoteSnapshot(120)
    const { pages } = await extractPdfText(await renderCreditNotePdf(snapshot))
    expect(pages.length).toBeGreaterThan(2)
    for (const [i, page] of pages.entries()) {
      expect(page.lines).toContain('Description Quantity Unit price Tax rate Total')
      expect(page.lines.at(-1)).toEndWith(`Page ${i + 1} of ${pages.length}`)
      if (i > 0) expect(page.lines[0]).toBe('Credit note CN-0001 (continued)')
    }
    const all = pages.map((page) => page.text).join('\n')
    for (let n = 1; n <= 120; n++) {
      if (snapshot.items[n - 1]!.description.startsWith('Annual maintenance')) continue
      expect(all.match(new RegExp(`#${n}\\b`, 'g'))).toHaveLength(1)
    }
    expect(pages.at(-1)!.lines).toContain(`Credit total ${eur(snapshot.total)}`)
  })

  test('when rendering the same snapshot twice, then the bytes are identical whatever the key order or date type', async () => {
    const snapshot = sampleCreditNoteSnapshot(10)
    const first = await renderCreditNotePdf(snapshot)
    await renderCreditNotePdf(sampleCreditNoteSnapshot(1, { reason: 'fraudulent' }))
    expect(same(await renderCreditNotePdf(structuredClone(snapshot)), first)).toBe(true)

    const reordered = Object.fromEntries(Object.entries(snapshot).reverse()) as CreditNoteSnapshot
    const asDate = await renderCreditNotePdf({ ...reordered, issuedAt: new Date(snapshot.issuedAt) })
    expect(same(asDate, first)).toBe(true)
  })

  test('when credit notes differ, then their document ids differ from each other and from the invoice', async () => {
    const a = await renderCreditNotePdf(sampleCreditNoteSnapshot(3))
    const b = await renderCreditNotePdf(sampleCreditNoteSnapshot(3, { number: 'CN-0002' }))
    const invoice = await renderInvoicePdf(sampleInvoiceSnapshot(3))
    expect(trailerId(a)).toMatch(/^[0-9a-f]{32}$/)
    expect(new Set([trailerId(a), trailerId(b), trailerId(invoice)]).size).toBe(3)
  })

  test('when issuedAt is not a date or the reason is unknown, then rendering fails loudly', async () => {
    await expect(renderCreditNotePdf(sampleCreditNoteSnapshot(1, { issuedAt: 'yesterday' }))).rejects.toThrow(
      RangeError,
    )
    const reason = 'changed_mind' as CreditNoteReason
    await expect(renderCreditNotePdf(sampleCreditNoteSnapshot(1, { reason }))).rejects.toThrow(RangeError)
  })
})

describe('renderDocumentPdf', () => {
  test('when given a credit note, then it renders the credit note', async () => {
    const snapshot = sampleCreditNoteSnapshot(3)
    expect(same(await renderDocumentPdf(snapshot), await renderCreditNotePdf(snapshot))).toBe(true)
  })

  test('when given an invoice, with or without kind, then the bytes are those of renderInvoicePdf', async () => {
    const invoice = sampleInvoiceSnapshot(10)
    const expected = await renderInvoicePdf(invoice)
    expect(same(await renderDocumentPdf(invoice), expected)).toBe(true)
    expect(same(await renderDocumentPdf({ ...invoice, kind: 'invoice' }), expected)).toBe(true)
  })
})
