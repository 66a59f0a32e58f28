import { describe, expect, test } from 'bun:test'
import { renderInvoicePdf } from '../../src/lib/pdf'
import type { CreditNoteRecord } from '../../src/modules/credit-notes/repository'
import { toSnapshot as creditNoteSnapshot } from '../../src/modules/credit-notes/snapshot'
import type { ItemRecord } from '../../src/modules/invoices/service'
import { toSnapshot } from '../../src/modules/issuing/snapshot'

const address = {
  line1: 'Lindenstraße 12',
  line2: null,
  city: 'Berlin',
  region: null,
  postalCode: '10969',
  country: 'DE',
}
const seller = {
  companyName: 'Nordlicht GmbH',
  email: 'a@b.example',
  phone: null,
  taxId: 'DE123456789',
  address,
}
const billTo = { name: 'Stadtwerke', email: null, taxId: null, address }
const invoice = {
  number: 'INV-0001',
  sentAt: new Date('2026-01-15T10:00:00.000Z'),
  currency: 'EUR',
  issueDate: '2026-01-15',
  dueDate: '2026-02-14',
  discountPercent: 0,
  notes: null,
  subtotal: 5997,
  discountTotal: 0,
  taxTotal: 1139,
  total: 7136,
}
const line = {
  description: 'Design',
  quantity: 3,
  unitPrice: 1999,
  taxRate: 19,
  subtotal: 5997,
  discount: 0,
  tax: 1139,
  total: 7136,
}
const item: ItemRecord = { id: crypto.randomUUID(), ...line, unitCode: 'HUR', taxCategory: 'S' }

describe('the PDF snapshot of documents frozen with e-invoice data', () => {
  test('when the frozen parties and lines carry e-invoice fields, then the PDF snapshot and bytes are those without them', async () => {
    const before = { ...invoice, seller, billTo }
    const after = {
      ...invoice,
      seller: {
        ...seller,
        contactName: 'Mara Voss',
        bankAccount: { iban: 'DE02120300000000202051', bic: null, accountName: null },
        electronicAddress: 'a@b.example',
      },
      billTo: { ...billTo, buyerReference: '04011000-12345-67' },
    }
    const plain = toSnapshot(before, [{ ...item, unitCode: 'C62', taxCategory: 'S' }])
    const withData = toSnapshot(after, [item])
    expect(withData).toEqual(plain)
    expect(Object.keys(withData.from).sort()).toEqual(['address', 'companyName', 'email', 'phone', 'taxId'])
    expect(Object.keys(withData.items[0]!).sort()).toEqual(Object.keys(line).sort())
    expect(
      Buffer.from(await renderInvoicePdf(withData)).equals(Buffer.from(await renderInvoicePdf(plain))),
    ).toBe(true)
  })

  test('when a credit note froze e-invoice data, then its PDF snapshot leaves it out too', () => {
    const note = {
      number: 'CN-0001',
      invoiceNumber: 'INV-0001',
      invoiceIssueDate: '2026-01-15',
      currency: 'EUR',
      issueDate: '2026-01-20',
      issuedAt: new Date('2026-01-20T10:00:00.000Z'),
      reason: 'other',
      memo: null,
      discountPercent: 0,
      seller: { ...seller, contactName: 'Mara Voss', electronicAddress: 'a@b.example' },
      billTo: { ...billTo, buyerReference: 'X' },
      items: [{ id: 'x', invoiceItemId: 'y', ...line }],
      subtotal: 5997,
      discountTotal: 0,
      taxTotal: 1139,
      total: 7136,
      appliedToBalance: 7136,
      refundDue: 0,
    } as unknown as CreditNoteRecord
    const snapshot = creditNoteSnapshot(note)
    expect(snapshot.from).toEqual(seller)
    expect(snapshot.billTo).toEqual(billTo)
    expect(snapshot.items).toEqual([line])
  })
})
