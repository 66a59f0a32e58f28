import { type Kysely, sql } from 'kysely'

/**
 * Delivering documents (API.md "Delivery: email, hosted page, reminders").
 *
 * - The profile fields delivery needs: `locale` (BCP 47, formats amounts and dates), `contact_name`,
 *   `payment_instructions`, `bank_account` ({ iban, bic, accountName }), and the reminder settings.
 * - `hosted_token` on invoices and credit notes: the secret of the hosted page (`/i/{token}`), replaced on
 *   rotation: 64 hex digits from two `gen_random_uuid()` (244 random bits from the server's cryptographic
 *   generator), given to every row by the column's default. A draft has one too, unused: the page and
 *   `hostedUrl` exist for issued documents only.
 * - `emails`: one row per message asked for (or per reminder), its status moved by its job. A reminder's step
 *   (`reminder_days`) is unique per invoice, so that two processes running the reminder job cannot both send it.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are written against the database as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table users
    add column locale text not null default 'en-US',
    add column contact_name text,
    add column payment_instructions text,
    add column bank_account jsonb,
    add column reminders_enabled boolean not null default false,
    add column reminder_days integer[] not null default '{3,10,30}'
  `.execute(db)

  // A volatile default: every row, existing or new, gets its own token (adding the column rewrites the table).
  const token = sql`(replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''))`
  await sql`set local statement_timeout = 0`.execute(db)
  for (const table of ['invoices', 'credit_notes']) {
    await sql`alter table ${sql.table(table)} add column hosted_token text not null default ${token}`.execute(
      db,
    )
    await sql`create unique index ${sql.id(`${table}_hosted_token_key`)} on ${sql.table(table)} (hosted_token)`.execute(
      db,
    )
  }

  // A credit note's money never changes, but its hosted link can be rotated: its ETag follows this version.
  await sql`alter table credit_notes add column version integer not null default 1`.execute(db)

  await sql`create table emails (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references users (id) on delete cascade,
    invoice_id uuid references invoices (id) on delete cascade,
    credit_note_id uuid references credit_notes (id) on delete cascade,
    kind text not null check (kind in ('document', 'reminder')),
    reminder_step integer,
    recipients text[] not null,
    cc text[] not null default '{}',
    subject text not null,
    message text,
    attach_pdf boolean not null,
    status text not null default 'queued' check (status in ('queued', 'sending', 'retrying', 'sent', 'failed')),
    attempts integer not null default 0,
    attempt_job text,
    message_id text not null,
    last_error text,
    next_attempt_at timestamptz,
    sent_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint emails_one_document check ((invoice_id is null) <> (credit_note_id is null)),
    constraint emails_reminder_step check ((kind = 'reminder') = (reminder_step is not null)),
    constraint emails_reminder_of_invoice check (kind <> 'reminder' or invoice_id is not null),
    -- Written flat: a BETWEEN nested in AND comes back from a dump and restore as a different definition.
    constraint emails_recipients
      check (cardinality(recipients) >= 1 and cardinality(recipients) <= 10 and cardinality(cc) <= 10)
  )`.execute(db)
  await sql`create index emails_invoice_idx on emails (invoice_id, created_at desc) where invoice_id is not null`.execute(
    db,
  )
  await sql`create index emails_credit_note_idx on emails (credit_note_id, created_at desc)
    where credit_note_id is not null`.execute(db)
  await sql`create unique index emails_reminder_step_key on emails (invoice_id, reminder_step)
    where kind = 'reminder'`.execute(db)
  await sql`create index emails_user_idx on emails (user_id)`.execute(db)
}

// biome-ignore lint/suspicious/noExplicitAny: see up
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table emails`.execute(db)
  await sql`alter table credit_notes drop column hosted_token, drop column version`.execute(db)
  await sql`alter table invoices drop column hosted_token`.execute(db)
  await sql`alter table users
    drop column locale, drop column contact_name, drop column payment_instructions, drop column bank_account,
    drop column reminders_enabled, drop column reminder_days`.execute(db)
}
