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

/** Why a credit note was issued; the PDF shows it in words. */
export type CreditNoteReason =
  | 'duplicate'
  | 'fraudulent'
  | 'order_change'
  | 'product_unsatisfactory'
  | 'other'

/**
 * The frozen data of an issued credit note: its lines and amounts are what it credits (lines keep the
 * sign of the invoice lines they credit; the total is positive), and `appliedToBalance + refundDue = total`.
 */
export type CreditNoteSnapshot = {
  kind: 'credit_note'
  number: string
  /** The number of the invoice it corrects. */
  invoiceNumber: string
  /** YYYY-MM-DD, the corrected invoice's issue date. */
  invoiceIssueDate: string
  currency: string
  /** YYYY-MM-DD */
  issueDate: string
  issuedAt: Date | string
  reason: CreditNoteReason
  memo: string | null
  discountPercent: number
  /** BCP 47 tag for number and date formatting; `en-US` when absent. */
  locale?: string
  from: SellerSnapshot
  billTo: BillToSnapshot
  items: InvoiceItemSnapshot[]
  subtotal: number
  discountTotal: number
  taxTotal: number
  total: number
  /** What the note took off the invoice's balance. */
  appliedToBalance: number
  /** Money already paid that is owed back. */
  refundDue: number
}

/** Anything the renderer turns into a PDF; a snapshot without `kind` is an invoice. */
export type DocumentSnapshot = (InvoiceSnapshot & { kind?: 'invoice' }) | CreditNoteSnapshot
