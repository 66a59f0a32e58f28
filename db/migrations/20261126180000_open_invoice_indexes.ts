import { type Kysely, sql } from 'kysely'

// The list's `status=overdue` filter reads only open invoices (sent or partially paid) and keeps those past
// due: these partial indexes serve it in the default order and by due date without reading settled ones.
// The statuses are literals in the query too, so that prepared (generic) plans still match the predicate.

// biome-ignore lint/suspicious/noExplicitAny: migrations are written against the database as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index invoices_user_open_issue_date_idx on invoices (user_id, issue_date desc, id desc)
    where status in ('sent', 'partially_paid')`.execute(db)
  await sql`create index invoices_user_open_due_date_idx on invoices (user_id, due_date, id)
    where status in ('sent', 'partially_paid')`.execute(db)
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index invoices_user_open_due_date_idx`.execute(db)
  await sql`drop index invoices_user_open_issue_date_idx`.execute(db)
}
