import { type Kysely, sql } from 'kysely'

// biome-ignore lint/suspicious/noExplicitAny: migrations are written against the database as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('cognito_sub', 'text', (c) => c.notNull().unique())
    .addColumn('email', 'text')
    .addColumn('company_name', 'text')
    .addColumn('profile_email', 'text')
    .addColumn('phone', 'text')
    .addColumn('tax_id', 'text')
    .addColumn('address', 'jsonb')
    .addColumn('default_currency', 'char(3)')
    .addColumn('payment_terms_days', 'integer', (c) =>
      c.notNull().defaultTo(30).check(sql`payment_terms_days between 0 and 365`),
    )
    .addColumn('default_tax_rate', sql`numeric(6,3)`, (c) =>
      c.notNull().defaultTo(0).check(sql`default_tax_rate between 0 and 100`),
    )
    .addColumn('invoice_prefix', 'text', (c) => c.notNull().defaultTo('INV-'))
    .addColumn('next_invoice_number', 'bigint', (c) =>
      c.notNull().defaultTo(1).check(sql`next_invoice_number >= 1`),
    )
    .addColumn('last_invoice_number', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('timezone', 'text', (c) => c.notNull().defaultTo('UTC'))
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('users_next_number_after_last', sql`next_invoice_number > last_invoice_number`)
    .execute()
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('users').execute()
}
