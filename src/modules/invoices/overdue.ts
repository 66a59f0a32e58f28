import { sql } from 'kysely'
import { crossTenant, type Database } from '../../lib/db'
import type { Outbox } from '../webhooks/outbox'
import { getInvoice } from './service'

/** How many invoices one run announces before it yields; the next run continues. */
const BATCH = 500

/**
 * Announces `invoice.overdue` once per invoice, the day its due date has passed in its profile's time zone
 * (API.md "Webhooks"). Run every few minutes by a recurring job, so each zone's midnight is met soon after it
 * passes; `overdue_announced_at` makes it once, whatever the number of runs, processes or instances: each
 * invoice is claimed by the UPDATE that stamps it, in the transaction that writes its event. Answers how many
 * were announced.
 */
export async function announceOverdue(db: Database, outbox: Outbox): Promise<number> {
  const due = await sql<{ id: string; user_id: string }>`
    select i.id, i.user_id
      from invoices i join users u on u.id = i.user_id
     where i.status in ('sent', 'partially_paid') and i.overdue_announced_at is null
       and i.due_date < (now() at time zone u.timezone)::date
     order by i.due_date
     limit ${BATCH}`.execute(crossTenant(db))
  let announced = 0
  for (const { id, user_id: userId } of due.rows) {
    const done = await db.transaction().execute(async (trx) => {
      const claimed = await trx
        .updateTable('invoices')
        .set({ overdue_announced_at: sql<Date>`now()` })
        .where('user_id', '=', userId)
        .where('id', '=', id)
        .where('overdue_announced_at', 'is', null)
        .where('status', 'in', ['sent', 'partially_paid'])
        .executeTakeFirst()
      if (claimed.numUpdatedRows === 0n) return false
      await outbox.record(trx, userId, 'invoice.overdue', await getInvoice(trx, userId, id))
      return true
    })
    if (done) announced++
  }
  return announced
}
