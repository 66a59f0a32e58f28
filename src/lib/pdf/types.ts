import type { AddressJson } from '../../../db/schema.ts'
import type { InvoiceTotals } from '../../shared/money.ts'

export type Address = AddressJson

export type SellerSnapshot = {
  companyName: string | null
  email: string | null
  phone: string | null
  taxId: string | null
  address: Address | null
}

export type BillToSnapshot = {
  name: string
  email: string | null
  taxId: string | null
  address: Address | null
}

/** One invoice line; money in integer minor units of the invoice currency. */
export type InvoiceItemSnapshot = {
  description: string
  quantity: number
  unitPrice: number
  taxRate: number
  subtotal: number
  discount: number
  tax: number
  total: number
}

/** The frozen data of an issued invoice: everything the PDF shows, nothing it has to look up. */
export type InvoiceSnapshot = InvoiceTotals & {
  number: string
  currency: string
  /** YYYY-MM-DD */
  issueDate: string
  /** YYYY-MM-DD */
  dueDate: string
  sentAt: Date | string
  discountPercent: number
  notes: string | null
  /** BCP 47 tag for number and date formatting; `en-US` when absent. */
  locale?: string
  from: SellerSnapshot
  billTo: BillToSnapshot
  items: InvoiceItemSnapshot[]
}
