import type { BillToJson, SellerJson } from '../../../db/schema'
import type { Database, Transaction } from '../../lib/db'
import { AppError, notFound } from '../../shared/errors'
import { expectedVersion } from '../../shared/etag'
import { foldForSearch } from '../../shared/search'
import { amountDue, assertAllowed, ENTRY_EVENTS, statusOf } from './lifecycle'
import {
  appendEvent,
  appendEvents,
  type InvoiceRecord,
  lockInvoice,
  type NewEvent,
  type StoredPdfRef,
  updateDraftSearchText,
  updateInvoice,
} from './repository'

/**
 * The writes other modules make to an invoice. This module owns the invoices, their lines and their events:
 * issuing, payments and credit notes call these functions, in their own transaction, with the invoice they
 * locked through `lockForChange`, and never write those tables themselves.
 */

export const ETAG_KIND = 'invoice'

/** What the search of the list matches: the number and the customer's name, folded. */
export const invoiceSearchText = (number: string | null, customerName: string) =>
  [number ?? '', customerName].map(foldForSearch).join('\n')

/** The invoice locked until the transaction ends; 404 when it is not this user's. */
export async function lockInvoiceRecord(
  trx: Transaction,
  userId: string,
  id: string,
): Promise<InvoiceRecord> {
  const record = await lockInvoice(trx, userId, id)
  if (!record) throw notFound('Invoice')
  return record
}

/** The invoice locked for a change: 404 when it is not this user's, 412 when `If-Match` names another version. */
export async function lockForChange(
  trx: Transaction,
  userId: string,
  id: string,
  ifMatch: string | null,
): Promise<InvoiceRecord> {
  const record = await lockInvoiceRecord(trx, userId, id)
  expectedVersion(ifMatch, ETAG_KIND, record.id, record.version)
  return record
}

export interface Issue {
  number: string
  numberSeq: number
  sentAt: Date
  billTo: BillToJson
  seller: SellerJson
  pdf: StoredPdfRef
  /** The PDF is a Factur-X with its CII embedded (the profile's `eInvoiceFormat`). */
  facturx?: boolean
  actorId: string
}

/**
 * Records the issue of a locked draft: number, frozen parties, the stored PDF, and the status. Nothing is due
 * on a zero-total invoice: it is issued straight to paid (events `sent`, `paid`), or it would turn overdue
 * unpayable.
 */
export async function recordIssue(
  trx: Transaction,
  invoice: InvoiceRecord,
  issue: Issue,
): Promise<Array<'sent' | 'paid'>> {
  assertAllowed(invoice, 'send')
  const settled = invoice.total === 0
  await updateInvoice(trx, invoice.userId, invoice.id, {
    status: settled ? 'paid' : 'sent',
    ...(settled ? { paid_at: issue.sentAt } : {}),
    number: issue.number,
    number_seq: issue.numberSeq,
    sent_at: issue.sentAt,
    bill_to: issue.billTo,
    seller: issue.seller,
    search_text: invoiceSearchText(issue.number, issue.billTo.name),
    pdf_key: issue.pdf.key,
    pdf_sha256: issue.pdf.sha256,
    pdf_size: issue.pdf.size,
    pdf_generated_at: issue.pdf.generatedAt,
    pdf_facturx: issue.facturx ?? false,
  })
  const event = (type: NewEvent['type'], data: object): NewEvent => ({
    invoiceId: invoice.id,
    userId: invoice.userId,
    type,
    actorId: issue.actorId,
    data,
  })
  await appendEvents(trx, [
    event(ENTRY_EVENTS.sent, { number: issue.number, total: invoice.total, pdfSha256: issue.pdf.sha256 }),
    ...(settled ? [event(ENTRY_EVENTS.paid, { amountPaid: 0 })] : []),
  ])
  return settled ? ['sent', 'paid'] : ['sent']
}

/**
 * Books a payment on a locked invoice: at most what is due (422 PAYMENT_EXCEEDS_BALANCE), the status follows,
 * and the trail records the payment and, when nothing is left due, `paid`. The caller writes the payment row
 * afterwards: the same order of report-total updates as every other writer
 * (db/migrations/20261126210000_report_rollups.ts), so concurrent writers cannot deadlock.
 */
export async function applyPayment(
  trx: Transaction,
  invoice: InvoiceRecord,
  payment: { id: string; amount: number; paidAt: Date; actorId: string },
): Promise<InvoiceRecord['status']> {
  assertAllowed(invoice, 'pay')
  const due = amountDue(invoice)
  if (payment.amount > due) {
    throw new AppError('PAYMENT_EXCEEDS_BALANCE', `The payment exceeds the amount due (${due})`, {
      details: [{ path: '/amount', message: `must be at most ${due}` }],
    })
  }
  const amountPaid = invoice.amountPaid + payment.amount
  const status = statusOf({ ...invoice, amountPaid })
  await updateInvoice(trx, invoice.userId, invoice.id, {
    amount_paid: amountPaid,
    status,
    ...(status === 'paid' ? { paid_at: payment.paidAt } : {}),
  })
  const base = { invoiceId: invoice.id, userId: invoice.userId, actorId: payment.actorId }
  await appendEvents(trx, [
    {
      ...base,
      type: 'payment_recorded',
      data: { paymentId: payment.id, amount: payment.amount, amountPaid },
    },
    ...(status === 'paid' ? [{ ...base, type: ENTRY_EVENTS.paid, data: { amountPaid } }] : []),
  ])
  return status
}

export interface AppliedCredit {
  /** What the credit took off the amount due. */
  appliedToBalance: number
  /** What was already paid and is now owed back: the rest of the credit. */
  refundDue: number
  status: InvoiceRecord['status']
}

/**
 * Books a credit note on a locked invoice: never more than is left to credit (422 CREDIT_EXCEEDS_INVOICE), the
 * part that lowers the amount due and the part owed back, the status that the new balance means, and the trail
 * (`credited`, and `paid` when nothing is left due). The caller writes the credit note afterwards.
 */
export async function applyCredit(
  trx: Transaction,
  invoice: InvoiceRecord,
  note: { id: string; number: string; total: number; at: Date; actorId: string },
): Promise<AppliedCredit> {
  assertAllowed(invoice, 'credit')
  const left = invoice.total - invoice.creditedTotal
  if (note.total > left) {
    throw new AppError('CREDIT_EXCEEDS_INVOICE', `The credit note exceeds what is left to credit (${left})`, {
      details: [{ path: '/items', message: `the credit note's total must be at most ${left}` }],
    })
  }
  const due = amountDue(invoice)
  const appliedToBalance = Math.min(note.total, due)
  const creditedTotal = invoice.creditedTotal + note.total
  const status = statusOf({ ...invoice, creditedTotal })
  const becamePaid = status === 'paid' && invoice.status !== 'paid'
  await updateInvoice(trx, invoice.userId, invoice.id, {
    credited_total: creditedTotal,
    status,
    ...(becamePaid && invoice.paidAt === null ? { paid_at: note.at } : {}),
  })
  const base = { invoiceId: invoice.id, userId: invoice.userId, actorId: note.actorId }
  await appendEvents(trx, [
    {
      ...base,
      type: ENTRY_EVENTS.credited,
      data: { creditNoteId: note.id, number: note.number, total: note.total, creditedTotal, status },
    },
    ...(becamePaid ? [{ ...base, type: ENTRY_EVENTS.paid, data: { amountPaid: invoice.amountPaid } }] : []),
  ])
  return { appliedToBalance, refundDue: note.total - appliedToBalance, status }
}

/**
 * Records a PDF put back from the frozen snapshot (`pdf_regenerated`), with the old hash when the bytes differ.
 */
export async function recordPdfRegenerated(
  trx: Transaction,
  invoice: InvoiceRecord,
  pdf: StoredPdfRef,
  actorId: string,
): Promise<void> {
  const previous = invoice.pdf?.sha256 ?? null
  await updateInvoice(trx, invoice.userId, invoice.id, {
    pdf_sha256: pdf.sha256,
    pdf_size: pdf.size,
    pdf_generated_at: pdf.generatedAt,
  })
  await appendEvent(trx, {
    invoiceId: invoice.id,
    userId: invoice.userId,
    type: 'pdf_regenerated',
    actorId,
    data: pdf.sha256 === previous ? { sha256: pdf.sha256 } : { sha256: pdf.sha256, previousSha256: previous },
  })
}

/** Called when a customer is renamed: drafts show the live name, so their search follows it. */
export async function refreshDraftSearch(
  db: Database | Transaction,
  userId: string,
  customerId: string,
  customerName: string,
): Promise<void> {
  await updateDraftSearchText(db, userId, customerId, invoiceSearchText(null, customerName))
}

/** What happened to an email of the invoice, as its trail records it. */
export type EmailEventType = 'emailed' | 'email_failed' | 'reminder_sent'

/**
 * Records the outcome of an email of the invoice (`emailed`, `reminder_sent`, or `email_failed` once it is given
 * up), in the transaction of the email module that records it on the message. The email job acts for the user
 * who asked for it (or enabled the reminders), who is therefore the actor.
 */
export async function recordEmailEvent(
  trx: Transaction,
  userId: string,
  invoiceId: string,
  type: EmailEventType,
  data: { emailId: string; to: readonly string[]; attempts: number; error?: string; reminderStep?: number },
): Promise<void> {
  await appendEvent(trx, { invoiceId, userId, type, actorId: userId, data })
}
