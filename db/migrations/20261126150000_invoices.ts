import { type Kysely, sql } from 'kysely'

const STATUSES = sql`('draft', 'sent', 'partially_paid', 'paid', 'void')`
const METHODS = sql`('bank_transfer', 'card', 'cash', 'check', 'other')`
const EVENT_TYPES = sql`('created', 'updated', 'sent', 'payment_recorded', 'paid', 'voided', 'pdf_regenerated')`

// biome-ignore lint/suspicious/noExplicitAny: migrations are written against the database as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('invoices')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('customer_id', 'uuid', (c) => c.notNull().references('customers.id').onDelete('restrict'))
    .addColumn('number', 'text')
    .addColumn('number_seq', 'bigint')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('draft').check(sql`status in ${STATUSES}`))
    .addColumn('currency', 'char(3)', (c) => c.notNull())
    .addColumn('issue_date', 'date', (c) => c.notNull())
    .addColumn('due_date', 'date', (c) => c.notNull())
    .addColumn('discount_percent', sql`numeric(6,3)`, (c) =>
      c.notNull().defaultTo(0).check(sql`discount_percent between 0 and 100`),
    )
    .addColumn('notes', 'text')
    .addColumn('bill_to', 'jsonb')
    .addColumn('seller', 'jsonb')
    .addColumn('search_text', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('subtotal', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('discount_total', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('tax_total', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('total', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('amount_paid', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`amount_paid >= 0`))
    .addColumn('pdf_key', 'text')
    .addColumn('pdf_sha256', 'text')
    .addColumn('pdf_size', 'integer')
    .addColumn('pdf_generated_at', 'timestamptz')
    .addColumn('sent_at', 'timestamptz')
    .addColumn('paid_at', 'timestamptz')
    .addColumn('voided_at', 'timestamptz')
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('invoices_due_after_issue', sql`due_date >= issue_date`)
    .addCheckConstraint(
      'invoices_number_when_issued',
      sql`(status = 'draft') = (number is null) and (number is null) = (number_seq is null)`,
    )
    .addCheckConstraint('invoices_paid_within_total', sql`status = 'draft' or amount_paid <= total`)
    .execute()

  // Gapless numbering is enforced by allocation under the user's row lock; these make a duplicate impossible.
  await sql`create unique index invoices_user_number_seq_key on invoices (user_id, number_seq) where number_seq is not null`.execute(
    db,
  )
  await sql`create unique index invoices_user_number_key on invoices (user_id, number) where number is not null`.execute(
    db,
  )
  // One index per sort of the list (each with the id tie-breaker of the keyset), and for the filters.
  await sql`create index invoices_user_issue_date_idx on invoices (user_id, issue_date desc, id desc)`.execute(
    db,
  )
  await sql`create index invoices_user_due_date_idx on invoices (user_id, due_date, id)`.execute(db)
  await sql`create index invoices_user_total_idx on invoices (user_id, total, id)`.execute(db)
  // Drafts have no number: they come after the numbered invoices in both directions.
  await sql`create index invoices_user_number_seq_idx on invoices (user_id, number_seq, id)`.execute(db)
  await sql`create index invoices_user_number_seq_desc_idx on invoices (user_id, number_seq desc nulls last, id desc)`.execute(
    db,
  )
  await sql`create index invoices_user_status_issue_date_idx on invoices (user_id, status, issue_date desc, id desc)`.execute(
    db,
  )
  await sql`create index invoices_user_status_due_date_idx on invoices (user_id, status, due_date, id)`.execute(
    db,
  )
  await sql`create index invoices_user_customer_issue_date_idx on invoices (user_id, customer_id, issue_date desc, id desc)`.execute(
    db,
  )
  await sql`create index invoices_customer_idx on invoices (customer_id)`.execute(db)
  await sql`create index invoices_search_text_trgm_idx on invoices using gin (search_text gin_trgm_ops)`.execute(
    db,
  )

  await db.schema
    .createTable('invoice_items')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('invoice_id', 'uuid', (c) => c.notNull().references('invoices.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('quantity', sql`numeric(13,3)`, (c) => c.notNull().check(sql`quantity > 0`))
    .addColumn('unit_price', 'bigint', (c) => c.notNull())
    .addColumn('tax_rate', sql`numeric(6,3)`, (c) => c.notNull().check(sql`tax_rate between 0 and 100`))
    .addColumn('subtotal', 'bigint', (c) => c.notNull())
    .addColumn('discount', 'bigint', (c) => c.notNull())
    .addColumn('tax', 'bigint', (c) => c.notNull())
    .addColumn('total', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('invoice_items_invoice_position_key', ['invoice_id', 'position'])
    .execute()

  await db.schema
    .createTable('payments')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('invoice_id', 'uuid', (c) => c.notNull().references('invoices.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('paid_at', 'timestamptz', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull().check(sql`method in ${METHODS}`))
    .addColumn('reference', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`create index payments_invoice_idx on payments (invoice_id, created_at, id)`.execute(db)
  await sql`create index payments_user_paid_at_idx on payments (user_id, paid_at)`.execute(db)

  await db.schema
    .createTable('invoice_events')
    .addColumn('seq', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'uuid', (c) => c.notNull().unique().defaultTo(sql`gen_random_uuid()`))
    .addColumn('invoice_id', 'uuid', (c) => c.notNull().references('invoices.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull().check(sql`type in ${EVENT_TYPES}`))
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('actor_id', 'uuid')
    .addColumn('data', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute()
  await sql`create index invoice_events_invoice_idx on invoice_events (invoice_id, seq)`.execute(db)
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('invoice_events').execute()
  await db.schema.dropTable('payments').execute()
  await db.schema.dropTable('invoice_items').execute()
  await db.schema.dropTable('invoices').execute()
}
