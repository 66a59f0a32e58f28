import type { Database, Transaction } from '../../lib/db'
import type { JobQueue } from '../../lib/jobs'
import { AppError, type ErrorDetail } from '../../shared/errors'
import { trimStrings } from '../../shared/input'
import { getCreditNote } from '../credit-notes/service'
import { assertAllowed } from '../invoices/lifecycle'
import { findInvoiceRecord, getInvoice } from '../invoices/service'
import type { Email, EmailQueued, SendEmail } from './model'
import { type EmailRow, type EmailTarget, insertEmail, listEmails } from './repository'
import { defaultSubject } from './templates'

export const EMAIL_JOB = 'email-send'

/** An email job: attempt `attempt + 1` of an email (`attempt` is how many were made before). */
export interface EmailJob extends Record<string, unknown> {
  userId: string
  emailId: string
  attempt: number
}

/** The document a route names. */
export type EmailDocument = { type: 'invoice'; id: string } | { type: 'credit_note'; id: string }

export const targetOf = (document: EmailDocument): EmailTarget =>
  document.type === 'invoice' ? { invoiceId: document.id } : { creditNoteId: document.id }

export function toEmail(row: EmailRow): Email {
  return {
    id: row.id,
    kind: row.kind,
    to: row.recipients,
    cc: row.cc,
    subject: row.subject,
    status: row.status,
    attempts: row.attempts,
    sentAt: row.sent_at?.toISOString() ?? null,
    lastError: row.last_error,
    createdAt: row.created_at.toISOString(),
  }
}

const validation = (details: ErrorDetail[]) =>
  new AppError('VALIDATION_ERROR', 'Request validation failed', { details })

const LINE_BREAK = /[\r\n]/

/**
 * A header value must stay one line, or it would add headers of its own. The body's checks refuse CR and LF
 * already (the `email` format, the text rules of single-line fields); this keeps the rule next to the headers
 * whatever the route's schema becomes.
 */
function assertHeaderSafe(to: readonly string[], cc: readonly string[], subject: string): void {
  const details: ErrorDetail[] = [
    ...to.flatMap((address, i) =>
      LINE_BREAK.test(address) ? [{ path: `/to/${i}`, message: 'must be one line' }] : [],
    ),
    ...cc.flatMap((address, i) =>
      LINE_BREAK.test(address) ? [{ path: `/cc/${i}`, message: 'must be one line' }] : [],
    ),
    ...(LINE_BREAK.test(subject) ? [{ path: '/subject', message: 'must be one line' }] : []),
  ]
  if (details.length > 0) throw validation(details)
}

/** `<uuid@domain of MAIL_FROM>`: unique, and the same on every attempt of the email. */
export function messageIdFor(emailId: string, mailFrom: string): string {
  const address = /<([^<>]+)>\s*$/.exec(mailFrom)?.[1] ?? mailFrom
  const domain =
    address
      .split('@')
      .pop()
      ?.trim()
      .replace(/[^A-Za-z0-9.-]/g, '') || 'localhost'
  return `<${emailId}@${domain}>`
}

/** What a message needs to know of its document when it is queued. */
interface Addressed {
  number: string
  seller: string | null
  billToEmail: string | null
}

async function addressed(trx: Transaction, userId: string, document: EmailDocument): Promise<Addressed> {
  if (document.type === 'invoice') {
    const invoice = await getInvoice(trx, userId, document.id)
    // Issued and not void or credited (lifecycle: `email`): sent, partially paid or paid.
    assertAllowed(invoice, 'email')
    return {
      number: invoice.number ?? '',
      seller: invoice.from.companyName,
      billToEmail: invoice.billTo.email,
    }
  }
  const note = await getCreditNote(trx, userId, document.id)
  return { number: note.number, seller: note.from.companyName, billToEmail: note.billTo.email }
}

/**
 * Queues an email of an issued invoice or a credit note: the row and its first attempt's job in the caller's
 * transaction, so that an email exists exactly when its job does. Recipients default to the bill-to's email.
 */
export async function queueEmail(
  trx: Transaction,
  deps: { jobs: Pick<JobQueue, 'send'>; mailFrom: string },
  userId: string,
  document: EmailDocument,
  sent: SendEmail,
): Promise<EmailQueued> {
  // Blank fields are named before anything is looked up, as every other body's are.
  const body = trimStrings(sent)
  const doc = await addressed(trx, userId, document)
  const to = body.to ?? (doc.billToEmail ? [doc.billToEmail] : [])
  if (to.length === 0) {
    throw validation([{ path: '/to', message: 'required: the bill-to of the document has no email address' }])
  }
  const cc = body.cc ?? []
  const subject =
    body.subject ?? defaultSubject({ kind: document.type === 'invoice' ? 'invoice' : 'credit_note', ...doc })
  assertHeaderSafe(to, cc, subject)
  const id = crypto.randomUUID()
  await insertEmail(trx, {
    id,
    user_id: userId,
    ...(document.type === 'invoice' ? { invoice_id: document.id } : { credit_note_id: document.id }),
    kind: 'document',
    recipients: to,
    cc,
    subject,
    message: body.message ?? null,
    attach_pdf: body.attachPdf ?? true,
    message_id: messageIdFor(id, deps.mailFrom),
  })
  await deps.jobs.send(trx, EMAIL_JOB, { userId, emailId: id, attempt: 0 } satisfies EmailJob)
  return { id, status: 'queued' }
}

/** The emails of a document (reminders included), newest first; 404 when the document is not this user's. */
export async function listDocumentEmails(
  db: Database,
  userId: string,
  document: EmailDocument,
): Promise<{ data: Email[] }> {
  if (document.type === 'invoice') await findInvoiceRecord(db, userId, document.id)
  else await getCreditNote(db, userId, document.id)
  const rows = await listEmails(db, userId, targetOf(document))
  return { data: rows.map(toEmail) }
}
