import { type Insertable, type Selectable, sql } from 'kysely'
import type { EmailStatus, EmailsTable } from '../../../db/schema'
import { crossTenant, type Database, type Transaction } from '../../lib/db'
import { statusesAllowing } from '../invoices/lifecycle'

/** The only writer of `emails`. */

export type EmailRow = Selectable<EmailsTable>
export type NewEmail = Insertable<EmailsTable>

/** The document an email is about: an invoice or a credit note. */
export type EmailTarget = { invoiceId: string } | { creditNoteId: string }

export async function insertEmail(trx: Transaction, values: NewEmail): Promise<EmailRow> {
  return trx.insertInto('emails').values(values).returningAll().executeTakeFirstOrThrow()
}

/**
 * A reminder for one step of an invoice, unless that step already has one: the unique index on (invoice, step)
 * decides between two processes inserting it at once, so each step is queued once whatever runs the job.
 * Undefined when it existed.
 */
export async function insertReminder(trx: Transaction, values: NewEmail): Promise<EmailRow | undefined> {
  return (
    trx
      .insertInto('emails')
      .values({ ...values, kind: 'reminder' })
      // The index's predicate as a literal: a bound parameter there matches the partial index only when the
      // statement is planned with its values, not when it is planned generically (the embedded database).
      .onConflict((oc) =>
        oc.columns(['invoice_id', 'reminder_step']).where('kind', '=', sql.lit('reminder')).doNothing(),
      )
      .returningAll()
      .executeTakeFirst()
  )
}

/** The emails of one document, newest first. */
export async function listEmails(db: Database, userId: string, target: EmailTarget): Promise<EmailRow[]> {
  const query = db.selectFrom('emails').selectAll().where('user_id', '=', userId)
  const scoped =
    'invoiceId' in target
      ? query.where('invoice_id', '=', target.invoiceId)
      : query.where('credit_note_id', '=', target.creditNoteId)
  return scoped.orderBy('created_at', 'desc').orderBy('id', 'desc').execute()
}

export async function findEmail(db: Database, userId: string, id: string): Promise<EmailRow | undefined> {
  return db
    .selectFrom('emails')
    .selectAll()
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .executeTakeFirst()
}

/**
 * Claims attempt `attempt + 1` of an email for job `jobId`: while the email waits for that attempt, or when the same
 * job claimed it before and its process died mid-attempt (the job runs again: at least once). Another job for the
 * same attempt finds nothing to claim. The email is `sending` while the attempt runs.
 */
export async function claimAttempt(
  db: Database,
  userId: string,
  id: string,
  attempt: number,
  jobId: string,
): Promise<EmailRow | undefined> {
  return db
    .updateTable('emails')
    .set({ status: 'sending', attempts: attempt + 1, attempt_job: jobId, updated_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .where((eb) =>
      eb.or([
        eb.and([eb('status', 'in', ['queued', 'retrying']), eb('attempts', '=', attempt)]),
        eb.and([
          eb('status', '=', 'sending'),
          eb('attempts', '=', attempt + 1),
          eb('attempt_job', '=', jobId),
        ]),
      ]),
    )
    .returningAll()
    .executeTakeFirst()
}

/**
 * Records an attempt's outcome, fenced by the attempt and its job: false when another job took the email over
 * meanwhile (then that job records its own).
 */
export async function recordAttempt(
  db: Database,
  userId: string,
  id: string,
  fence: { attempts: number; jobId: string },
  values: { status: EmailStatus; last_error: string | null; next_attempt_at: Date | null; sent_at?: Date },
): Promise<boolean> {
  const result = await db
    .updateTable('emails')
    .set({ ...values, updated_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .where('status', '=', 'sending')
    .where('attempts', '=', fence.attempts)
    .where('attempt_job', '=', fence.jobId)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/** An open invoice of a user with reminders on, and the latest reminder step its days past due reach. */
export interface ReminderDue {
  userId: string
  invoiceId: string
  step: number
  recipient: string | null
}

/** The statuses that take payments (the lifecycle's), as literals so that the planner sees constants. */
const PAYABLE = sql.join(statusesAllowing('pay').map((status) => sql.lit(status)))

/**
 * Open invoices whose days past due, counted in their profile's time zone at `now`, reach a step of the profile's
 * `reminder_days` that no reminder of the invoice covers yet: the latest step reached, so that reminders enabled
 * late send the one that is due rather than every missed one, and a reminder of a later step covers the earlier
 * ones. Across users by design (a background job).
 */
export async function remindersDue(db: Database, now: Date, limit: number): Promise<ReminderDue[]> {
  const { rows } = await sql<{ user_id: string; invoice_id: string; step: number; recipient: string | null }>`
    with open as (
      select i.id, i.user_id, i.bill_to ->> 'email' as recipient, u.reminder_days,
             ((${now}::timestamptz at time zone u.timezone)::date - i.due_date) as days_past
        from invoices i join users u on u.id = i.user_id
       where u.reminders_enabled and i.status in (${PAYABLE})
         and i.due_date < (${now}::timestamptz at time zone u.timezone)::date
    ), due as (
      select o.*, (select max(d) from unnest(o.reminder_days) d where d <= o.days_past) as step
        from open o
    )
    select d.user_id, d.id as invoice_id, d.step, d.recipient
      from due d
     where d.step is not null
       and not exists (select 1 from emails e
                        where e.invoice_id = d.id and e.kind = 'reminder' and e.reminder_step >= d.step)
     order by d.id
     limit ${limit}`.execute(crossTenant(db))
  return rows.map((row) => ({
    userId: row.user_id,
    invoiceId: row.invoice_id,
    step: row.step,
    recipient: row.recipient,
  }))
}
