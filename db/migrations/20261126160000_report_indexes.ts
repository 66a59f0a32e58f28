import { type Kysely, sql } from 'kysely'

// Covering indexes for the reports: each report reads only index pages (index-only scans), so its cost
// follows the invoices that matter (unsettled ones, or those in the period), not all of the user's invoices.

// biome-ignore lint/suspicious/noExplicitAny: migrations are written against the database as it was then
export async function up(db: Kysely<any>): Promise<void> {
  // Outstanding, overdue and draft counts (summary) and the aging buckets.
  await sql`create index invoices_user_unsettled_idx on invoices (user_id, status, currency, due_date)
    include (total, amount_paid) where status in ('draft', 'sent', 'partially_paid')`.execute(db)
  // Invoiced by issue date; and the currency of a paid invoice, by id, for collected amounts.
  await sql`create index invoices_user_issued_idx on invoices (user_id, issue_date)
    include (id, currency, total) where status in ('sent', 'partially_paid', 'paid')`.execute(db)
  // The same key as before, now carrying what the collected amounts read.
  await sql`drop index payments_user_paid_at_idx`.execute(db)
  await sql`create index payments_user_paid_at_idx on payments (user_id, paid_at) include (invoice_id, amount)`.execute(
    db,
  )
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index payments_user_paid_at_idx`.execute(db)
  await sql`create index payments_user_paid_at_idx on payments (user_id, paid_at)`.execute(db)
  await sql`drop index invoices_user_issued_idx`.execute(db)
  await sql`drop index invoices_user_unsettled_idx`.execute(db)
}
