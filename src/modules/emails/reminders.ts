import type { Database } from '../../lib/db'
import type { JobQueue } from '../../lib/jobs'
import type { Logger } from '../../lib/logger'
import { isAllowed } from '../invoices/lifecycle'
import { getInvoice } from '../invoices/service'
import { insertReminder, remindersDue } from './repository'
import { EMAIL_JOB, type EmailJob, messageIdFor } from './service'
import { defaultSubject } from './templates'

export const REMINDERS_JOB = 'email-reminders'

/** How many reminders one run queues before it yields; the next run continues. */
const BATCH = 500

export interface ReminderDeps {
  db: Database
  jobs: Pick<JobQueue, 'send'>
  logger: Logger
  mailFrom: string
  /** The clock that decides how many days past due each invoice is; tests set the date. */
  now: () => Date
}

/**
 * Queues the payment reminders that are due (API.md "Delivery"): for users with reminders on, each open invoice
 * whose days past due (in the profile's time zone) reach a step of `daysAfterDue` gets one reminder for the
 * latest step reached, unless a reminder of that step or a later one exists. Run every few minutes by a recurring
 * job. Once per step whatever the number of runs, processes or instances: the reminder row is inserted with
 * `on conflict do nothing` on the unique (invoice, step) index, and its send job is queued in the same
 * transaction, so only the run that inserted it sends it. Invoices whose bill-to has no email are skipped.
 * Answers how many reminders were queued.
 */
export async function queueReminders(deps: ReminderDeps): Promise<number> {
  const { db } = deps
  const due = await remindersDue(db, deps.now(), BATCH)
  let queued = 0
  for (const reminder of due) {
    if (!reminder.recipient) continue
    const done = await db.transaction().execute(async (trx) => {
      const invoice = await getInvoice(trx, reminder.userId, reminder.invoiceId)
      // A reminder asks for payment: none for an invoice that takes no more (paid, void, credited meanwhile).
      if (!isAllowed(invoice.status, 'pay')) return false
      const id = crypto.randomUUID()
      const row = await insertReminder(trx, {
        id,
        user_id: reminder.userId,
        invoice_id: reminder.invoiceId,
        kind: 'reminder',
        reminder_step: reminder.step,
        recipients: [reminder.recipient!],
        subject: defaultSubject({
          kind: 'reminder',
          number: invoice.number ?? '',
          seller: invoice.from.companyName,
        }),
        attach_pdf: true,
        message_id: messageIdFor(id, deps.mailFrom),
      })
      if (!row) return false
      await deps.jobs.send(trx, EMAIL_JOB, {
        userId: reminder.userId,
        emailId: row.id,
        attempt: 0,
      } satisfies EmailJob)
      return true
    })
    if (done) queued++
  }
  if (queued > 0) deps.logger.info({ queued }, 'payment reminders queued')
  return queued
}
