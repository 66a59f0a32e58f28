import type { Config } from '../../config'
import type { Database } from '../../lib/db'
import type { JobQueue } from '../../lib/jobs'
import type { Logger } from '../../lib/logger'
import type { MailOutcome, MailTransport, OutgoingMail } from '../../lib/mail'
import { todayIn } from '../../shared/dates'
import { AppError } from '../../shared/errors'
import { type CreditNoteDeps, getCreditNote, storedCreditNotePdf } from '../credit-notes/service'
import { isAllowed } from '../invoices/lifecycle'
import { getInvoice } from '../invoices/service'
import { recordEmailEvent } from '../invoices/writes'
import { storedPdf } from '../issuing/service'
import { getMe } from '../me/service'
import { retryDelaySeconds } from '../webhooks/deliver'
import type { Outbox } from '../webhooks/outbox'
import { claimAttempt, type EmailRow, recordAttempt } from './repository'
import { EMAIL_JOB, type EmailJob } from './service'
import { type DocumentFacts, messageView, type ProfileFacts, renderMessage } from './templates'

export interface EmailJobDeps {
  db: Database
  jobs: Pick<JobQueue, 'send'>
  logger: Logger
  outbox: Outbox
  transport: MailTransport
  config: { mail: Pick<Config['mail'], 'from'>; emails: Config['emails'] }
  /** Reads stored PDFs and puts a lost one back, as the PDF routes do. */
  documents: Omit<CreditNoteDeps, 'outbox'>
  /** Seen by metrics: each attempt's outcome (a reminder found no longer due is `cancelled`, not `failed`). */
  onAttempt?: (outcome: EmailAttemptOutcome) => void
}

export type EmailAttemptOutcome = 'sent' | 'retrying' | 'failed' | 'cancelled'

/** Why a reminder is not sent after all: nothing is due any more. Recorded as the email's `lastError`. */
export const REMINDER_CANCELLED = 'cancelled: the invoice is no longer due (paid, voided or credited)'

type Composed = { mail: OutgoingMail } | { cancelled: string }

const daysBetween = (from: string, to: string) =>
  Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000)

/**
 * The message of an email, read fresh at each attempt: the document as it is now (the amount due after any
 * payment), the profile's locale and payment details, and the stored PDF when it is to be attached. A reminder
 * of an invoice that is no longer open is cancelled instead.
 */
async function compose(row: EmailRow, deps: EmailJobDeps): Promise<Composed> {
  const { db } = deps
  const userId = row.user_id
  const me = await getMe(db, userId)
  const { profile } = me
  let facts: DocumentFacts
  let daysOverdue: number | null = null
  /** Where the PDF to attach is, once it is asked for (after the message is built). */
  let attachment: (() => Promise<{ key: string; filename: string }>) | undefined
  if (row.invoice_id !== null) {
    const invoice = await getInvoice(db, userId, row.invoice_id)
    if (row.kind === 'reminder') {
      const open = isAllowed(invoice.status, 'pay') && invoice.amountDue > 0
      if (!open) return { cancelled: REMINDER_CANCELLED }
      // The step reached, or more when the reminder goes out later than the day it became due.
      daysOverdue = Math.max(row.reminder_step ?? 0, daysBetween(invoice.dueDate, todayIn(profile.timezone)))
    }
    facts = {
      kind: row.kind === 'reminder' ? 'reminder' : 'invoice',
      number: invoice.number ?? '',
      currency: invoice.currency,
      total: invoice.total,
      amountDue: invoice.amountDue,
      dueDate: invoice.dueDate,
      customerName: invoice.billTo.name,
      seller: invoice.from.companyName,
      hostedUrl: invoice.hostedUrl,
    }
    if (row.attach_pdf) {
      const invoiceId = row.invoice_id
      attachment = () => storedPdf(db, deps.documents, userId, invoiceId)
    }
  } else {
    const creditNoteId = row.credit_note_id!
    const note = await getCreditNote(db, userId, creditNoteId)
    facts = {
      kind: 'credit_note',
      number: note.number,
      currency: note.currency,
      total: note.total,
      invoiceNumber: note.invoiceNumber,
      customerName: note.billTo.name,
      seller: note.from.companyName,
      hostedUrl: note.hostedUrl,
    }
    if (row.attach_pdf) attachment = () => storedCreditNotePdf(db, deps.documents, userId, creditNoteId)
  }
  const profileFacts: ProfileFacts = {
    locale: profile.locale,
    contactName: profile.contactName,
    paymentInstructions: profile.paymentInstructions,
    bankAccount: profile.bankAccount,
  }
  const view = messageView(facts, profileFacts, {
    message: row.message,
    attached: row.attach_pdf,
    daysOverdue,
  })
  const { text, html } = renderMessage(view, profile.locale)

  const attachments: NonNullable<OutgoingMail['attachments']>[number][] = []
  if (attachment) {
    const { key, filename } = await attachment()
    const bytes = await deps.documents.storage.get(key)
    // Put back a moment ago, gone again: the store is in trouble; the attempt fails and is retried.
    if (!bytes) throw new Error(`the stored PDF ${filename} could not be read`)
    attachments.push({ filename, content: bytes, contentType: 'application/pdf' })
  }
  const replyTo = profile.email ?? me.email ?? undefined
  return {
    mail: {
      from: deps.config.mail.from,
      to: row.recipients,
      cc: row.cc,
      ...(replyTo ? { replyTo } : {}),
      subject: row.subject,
      text,
      html,
      messageId: row.message_id,
      attachments,
    },
  }
}

/** A failure before anything was sent: a document gone (4xx) will not come back; anything else may pass later. */
function composeFailure(error: unknown): MailOutcome {
  const message = error instanceof Error ? error.message : String(error)
  const permanent = error instanceof AppError && error.status < 500
  return {
    ok: false,
    temporary: !permanent,
    error: `the message could not be prepared: ${message}`.slice(0, 500),
  }
}

/**
 * One attempt of an email, as a job: claim it (fenced by the attempt number and this job's id, so a duplicate
 * job finds nothing), build and send the message, record the outcome. Sent: `sent`, and for an invoice the
 * `emailed` (or `reminder_sent`) event and `invoice.emailed`. A temporary failure (4xx, timeouts, refused
 * connections) schedules the next attempt of the retry schedule, its job queued in the transaction that records
 * this one; a permanent failure (5xx) or the last attempt ends `failed`, with `email_failed` and
 * `invoice.email_failed`. A reminder whose invoice is no longer due is cancelled (`failed`, REMINDER_CANCELLED,
 * no event): nobody is reminded of a paid invoice.
 */
export async function sendEmailJob(job: { id: string; data: EmailJob }, deps: EmailJobDeps): Promise<void> {
  const { userId, emailId, attempt: made } = job.data
  const row = await claimAttempt(deps.db, userId, emailId, made, job.id)
  if (!row) return
  const attempts = made + 1

  let outcome: MailOutcome
  let cancelled: string | undefined
  try {
    const composed = await compose(row, deps)
    if ('cancelled' in composed) {
      cancelled = composed.cancelled
      outcome = { ok: false, temporary: false, error: composed.cancelled }
    } else {
      outcome = await deps.transport.send(composed.mail)
    }
  } catch (error) {
    outcome = composeFailure(error)
  }

  const schedule = deps.config.emails.retryScheduleSeconds
  const status = outcome.ok
    ? 'sent'
    : outcome.temporary && attempts <= schedule.length
      ? 'retrying'
      : 'failed'
  const delay = status === 'retrying' ? retryDelaySeconds(schedule, attempts - 1) : 0
  const fence = { attempts, jobId: job.id }

  const recorded = await deps.db.transaction().execute(async (trx) => {
    const written = await recordAttempt(trx, userId, emailId, fence, {
      status,
      last_error: outcome.ok ? null : outcome.error,
      next_attempt_at: status === 'retrying' ? new Date(Date.now() + delay * 1000) : null,
      ...(status === 'sent' ? { sent_at: new Date() } : {}),
    })
    if (!written) return false
    if (status === 'retrying') {
      await deps.jobs.send(trx, EMAIL_JOB, { userId, emailId, attempt: attempts } satisfies EmailJob, {
        startAfterSeconds: delay,
      })
    } else if (row.invoice_id !== null && cancelled === undefined) {
      // The invoice's trail and its webhook event, with the outcome they announce.
      const type =
        status === 'sent' ? (row.kind === 'reminder' ? 'reminder_sent' : 'emailed') : 'email_failed'
      await recordEmailEvent(trx, userId, row.invoice_id, type, {
        emailId,
        to: row.recipients,
        attempts,
        ...(row.reminder_step !== null ? { reminderStep: row.reminder_step } : {}),
        ...(outcome.ok ? {} : { error: outcome.error }),
      })
      const invoice = await getInvoice(trx, userId, row.invoice_id)
      await deps.outbox.record(
        trx,
        userId,
        status === 'sent' ? 'invoice.emailed' : 'invoice.email_failed',
        invoice,
      )
    }
    return true
  })
  if (!recorded) return
  deps.onAttempt?.(cancelled === undefined ? status : 'cancelled')
  const context = { emailId, kind: row.kind, attempts, status }
  if (outcome.ok) deps.logger.info(context, 'email sent')
  else if (cancelled) deps.logger.info({ ...context, reason: cancelled }, 'reminder cancelled')
  else deps.logger.warn({ ...context, error: outcome.error }, 'email attempt failed')
}
