import type { BillToJson, SellerJson } from '../../../db/schema'
import type { InvoiceSnapshot } from '../../lib/pdf'
import { parseMinorUnits } from '../../shared/money'
import type { IssuedRow, IssuerRow, ItemRow } from './repository'

/** `INV-` + 7 → `INV-0007`; numbers past 9999 simply grow (`INV-10000`). */
export const formatNumber = (prefix: string, seq: number) => `${prefix}${String(seq).padStart(4, '0')}`

export const sellerOf = (issuer: IssuerRow): SellerJson => ({
  companyName: issuer.company_name,
  email: issuer.profile_email,
  phone: issuer.phone,
  taxId: issuer.tax_id,
  address: issuer.address,
})

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

type FrozenRow = Pick<
  IssuedRow,
  | 'currency'
  | 'issue_date'
  | 'due_date'
  | 'discount_percent'
  | 'notes'
  | 'subtotal'
  | 'discount_total'
  | 'tax_total'
  | 'total'
> & { number: string; sent_at: Date; bill_to: BillToJson; seller: SellerJson }

/**
 * What the PDF shows, from frozen columns only, so that rendering it again later gives the same bytes.
 * The PDF is the invoice as issued: nothing was paid yet, whatever payments came afterwards.
 */
export function toSnapshot(row: FrozenRow, items: readonly ItemRow[]): InvoiceSnapshot {
  const total = parseMinorUnits(row.total)
  return {
    number: row.number,
    currency: row.currency,
    issueDate: row.issue_date,
    dueDate: row.due_date,
    sentAt: row.sent_at,
    discountPercent: Number(row.discount_percent),
    notes: row.notes,
    from: row.seller,
    billTo: row.bill_to,
    items: items.map((item) => ({
      description: item.description,
      quantity: Number(item.quantity),
      unitPrice: parseMinorUnits(item.unit_price),
      taxRate: Number(item.tax_rate),
      subtotal: parseMinorUnits(item.subtotal),
      discount: parseMinorUnits(item.discount),
      tax: parseMinorUnits(item.tax),
      total: parseMinorUnits(item.total),
    })),
    subtotal: parseMinorUnits(row.subtotal),
    discountTotal: parseMinorUnits(row.discount_total),
    taxTotal: parseMinorUnits(row.tax_total),
    total,
    amountPaid: 0,
    amountDue: total,
  }
}
