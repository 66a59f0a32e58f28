import { type Kysely, sql } from 'kysely'

// The overdue list reads every open, past-due invoice of a user by due date and sorts them for the page:
// carrying the sort columns in the index lets that read skip the table (an index-only scan).

// biome-ignore lint/suspicious/noExplicitAny: migrations are written against the database as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index invoices_user_open_due_date_idx`.execute(db)
  await sql`create index invoices_user_open_due_date_idx on invoices (user_id, due_date, id)
    include (issue_date, total, number_seq, customer_id) where status in ('sent', 'partially_paid')`.execute(
    db,
  )
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index invoices_user_open_due_date_idx`.execute(db)
  await sql`create index invoices_user_open_due_date_idx on invoices (user_id, due_date, id)
    where status in ('sent', 'partially_paid')`.execute(db)
}
