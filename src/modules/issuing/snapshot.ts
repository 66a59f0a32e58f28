import type { BillToJson, SellerJson } from '../../../db/schema'
import type { BillToSnapshot, InvoiceItemSnapshot, InvoiceSnapshot, SellerSnapshot } from '../../lib/pdf'
import type { InvoiceRecord, ItemRecord } from '../invoices/service'

/** The buyer a document freezes, with its buyer reference (EN 16931 BT-10) for e-invoices. */
export const billToOf = (customer: {
  name: string
  email: string | null
  taxId: string | null
  address: BillToJson['address']
  buyerReference: string | null
}): BillToJson => ({
  name: customer.name,
  email: customer.email,
  taxId: customer.taxId,
  address: customer.address,
  buyerReference: customer.buyerReference,
})

/**
 * The parties and lines as the PDF shows them, and exactly those fields: the PDF's identity is derived from the
 * whole snapshot, so what only e-invoices read (contact, bank account, categories, units) stays out of it and a
 * document renders to the same bytes as before they existed.
 */
export const sellerSnapshot = (seller: SellerJson): SellerSnapshot => ({
  companyName: seller.companyName,
  email: seller.email,
  phone: seller.phone,
  taxId: seller.taxId,
  address: seller.address,
})
export const billToSnapshot = (billTo: BillToJson): BillToSnapshot => ({
  name: billTo.name,
  email: billTo.email,
  taxId: billTo.taxId,
  address: billTo.address,
})
export const itemSnapshot = (item: InvoiceItemSnapshot): InvoiceItemSnapshot => ({
  description: item.description,
  quantity: item.quantity,
  unitPrice: item.unitPrice,
  taxRate: item.taxRate,
  subtotal: item.subtotal,
  discount: item.discount,
  tax: item.tax,
  total: item.total,
})

type Frozen = Pick<
  InvoiceRecord,
  | 'currency'
  | 'issueDate'
  | 'dueDate'
  | 'discountPercent'
  | 'notes'
  | 'subtotal'
  | 'discountTotal'
  | 'taxTotal'
  | 'total'
> & { number: string; sentAt: Date; billTo: BillToJson; seller: SellerJson }

/**
 * What the PDF shows, from frozen columns only, so that rendering it again later gives the same bytes.
 * The PDF is the invoice as issued: nothing was paid yet, whatever payments came afterwards.
 */
export function toSnapshot(invoice: Frozen, items: readonly ItemRecord[]): InvoiceSnapshot {
  return {
    number: invoice.number,
    currency: invoice.currency,
    issueDate: invoice.issueDate,
    dueDate: invoice.dueDate,
    sentAt: invoice.sentAt,
    discountPercent: invoice.discountPercent,
    notes: invoice.notes,
    from: sellerSnapshot(invoice.seller),
    billTo: billToSnapshot(invoice.billTo),
    items: items.map(itemSnapshot),
    subtotal: invoice.subtotal,
    discountTotal: invoice.discountTotal,
    taxTotal: invoice.taxTotal,
    total: invoice.total,
    amountPaid: 0,
    amountDue: invoice.total,
  }
}
