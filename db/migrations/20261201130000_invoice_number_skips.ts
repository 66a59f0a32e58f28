import { type Kysely, sql } from 'kysely'

/**
 * `nextInvoiceNumber` may be raised between two issues (API.md Resources). Each raise is recorded here, keyed by
 * the last number used at the time, so that `db:verify` can tell a deliberate jump from a lost number: the series
 * stays gapless except where the profile said where it continues.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are written against the database as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('invoice_number_skips')
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('after_seq', 'bigint', (c) => c.notNull())
    .addColumn('next_seq', 'bigint', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('invoice_number_skips_pkey', ['user_id', 'after_seq'])
    .addCheckConstraint('invoice_number_skips_forward', sql`next_seq > after_seq + 1`)
    .execute()
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('invoice_number_skips').execute()
}
