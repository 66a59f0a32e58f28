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

/** The answer for an invoice: drafts show the live customer and profile, issued ones their frozen copies. */
export function toInvoice(view: InvoiceView): Invoice {
  const draft = view.status === 'draft'
  return {
    id: view.id,
    number: view.number,
    status: view.status,
    customerId: view.customerId,
    billTo: !draft && view.billTo ? view.billTo : view.customer,
    from: !draft && view.seller ? view.seller : view.profile,
    currency: view.currency,
    issueDate: view.issueDate,
    dueDate: view.dueDate,
    discountPercent: view.discountPercent,
    notes: view.notes,
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
