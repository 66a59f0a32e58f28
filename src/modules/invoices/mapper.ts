import type { BillToJson, SellerJson } from '../../../db/schema'
import { hostedUrl } from '../../shared/links'
import { amountDue } from './lifecycle'
import type { Invoice, InvoiceEvent, Payment } from './model'
import type { EventRow, InvoiceView, PaymentRecord } from './repository'

const iso = (value: Date) => value.toISOString()
const isoOrNull = (value: Date | null) => (value === null ? null : iso(value))

export function toPayment(record: PaymentRecord): Payment {
  return {
    id: record.id,
    invoiceId: record.invoiceId,
    amount: record.amount,
    paidAt: iso(record.paidAt),
    method: record.method,
    reference: record.reference,
    createdAt: iso(record.createdAt),
  }
}

/** The parties as the API answers them: the frozen JSON also keeps what only e-invoices read. */
export const sellerAnswer = (seller: SellerJson) => ({
  companyName: seller.companyName,
  email: seller.email,
  phone: seller.phone,
  taxId: seller.taxId,
  address: seller.address,
})
export const billToAnswer = (billTo: BillToJson) => ({
  name: billTo.name,
  email: billTo.email,
  taxId: billTo.taxId,
  address: billTo.address,
})

/** The answer for an invoice: drafts show the live customer and profile, issued ones their frozen copies. */
export function toInvoice(view: InvoiceView): Invoice {
  const draft = view.status === 'draft'
  return {
    id: view.id,
    number: view.number,
    status: view.status,
    customerId: view.customerId,
    billTo: billToAnswer(!draft && view.billTo ? view.billTo : view.customer),
    from: sellerAnswer(!draft && view.seller ? view.seller : view.profile),
    currency: view.currency,
    issueDate: view.issueDate,
    dueDate: view.dueDate,
    discountPercent: view.discountPercent,
    notes: view.notes,
    taxCalculation: view.taxCalculation,
    taxExemptionReasons: view.taxExemptionReasons,
    purchaseOrderReference: view.purchaseOrderReference,
    deliveryDate: view.deliveryDate,
    deliverTo: view.deliverTo,
    items: view.items,
    subtotal: view.subtotal,
    discountTotal: view.discountTotal,
    taxTotal: view.taxTotal,
    total: view.total,
    amountPaid: view.amountPaid,
    creditedTotal: view.creditedTotal,
    // A draft may total below zero (it cannot be sent so); nothing is ever due below zero.
    amountDue: amountDue(view),
    isOverdue: view.isOverdue,
    creditNotes: view.creditNotes.map((note) => ({ ...note, issuedAt: iso(note.issuedAt) })),
    payments: view.payments.map(toPayment),
    pdf: view.pdf && { sha256: view.pdf.sha256, size: view.pdf.size, generatedAt: iso(view.pdf.generatedAt) },
    hostedUrl: draft ? null : hostedUrl(view.hostedToken),
    sentAt: isoOrNull(view.sentAt),
    paidAt: isoOrNull(view.paidAt),
    voidedAt: isoOrNull(view.voidedAt),
    version: view.version,
    createdAt: iso(view.createdAt),
    updatedAt: iso(view.updatedAt),
  }
}

export function toEvent(row: EventRow): InvoiceEvent {
  return {
    id: row.id,
    type: row.type,
    at: iso(row.at),
    actorId: row.actor_id,
    data: (row.data ?? {}) as Record<string, unknown>,
  }
}
