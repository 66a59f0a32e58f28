import type { BillToJson, SellerJson } from '../../../db/schema'
import type { InvoiceSnapshot } from '../../lib/pdf'
import type { InvoiceRecord, ItemRecord } from '../invoices/service'

export const billToOf = (customer: {
  name: string
  email: string | null
  taxId: string | null
  address: BillToJson['address']
}): BillToJson => ({
  name: customer.name,
  email: customer.email,
  taxId: customer.taxId,
  address: customer.address,
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
    from: invoice.seller,
    billTo: invoice.billTo,
    items: items.map(({ id: _, ...item }) => item),
    subtotal: invoice.subtotal,
    discountTotal: invoice.discountTotal,
    taxTotal: invoice.taxTotal,
    total: invoice.total,
    amountPaid: 0,
    amountDue: invoice.total,
  }
}
