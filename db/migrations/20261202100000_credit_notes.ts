import { type Kysely, sql } from 'kysely'

/**
 * Credit notes: the lawful correction of an issued invoice (API.md "Credit notes").
 *
 * - `credit_notes` and their lines, immutable once written, numbered in a second gapless series per user
 *   (`credit_note_prefix`, `next_credit_note_number`, `last_credit_note_number` on the user, allocated under the
 *   user's row lock like invoice numbers).
 * - `invoices.credited_total`, the sum of the invoice's credit notes, and the `credited` status: an invoice is
 *   `credited` exactly when its credit notes add up to its total. The status lists below are the lifecycle
 *   table of `src/modules/invoices/lifecycle.ts` at this point; a test compares the two.
 * - The rules that matter are the database's as well as the service's: each note adds up to its lines, the
 *   invoice's `credited_total` is the sum of its notes, and the credits of an invoice line never exceed the
 *   line, in quantity or in any amount (a constraint trigger deferred to commit, once per note).
 * - `invoice_number_skips` gains the series it records, since `nextCreditNoteNumber` may be raised too.
 */
const STATUSES = sql`('draft', 'sent', 'partially_paid', 'paid', 'void', 'credited')`
const EVENT_TYPES = sql`('created', 'updated', 'sent', 'payment_recorded', 'paid', 'voided', 'credited',
  'emailed', 'email_failed', 'reminder_sent', 'pdf_regenerated')`
const REASONS = sql`('duplicate', 'fraudulent', 'order_change', 'product_unsatisfactory', 'other')`

// biome-ignore lint/suspicious/noExplicitAny: migrations are written against the database as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table users
    add column credit_note_prefix text not null default 'CN-',
    add column next_credit_note_number bigint not null default 1 check (next_credit_note_number >= 1),
    add column last_credit_note_number bigint not null default 0,
    add constraint users_next_credit_note_after_last check (next_credit_note_number > last_credit_note_number)
  `.execute(db)

  await sql`alter table invoice_number_skips add column series text not null default 'invoice'
    check (series in ('invoice', 'credit_note'))`.execute(db)
  await sql`alter table invoice_number_skips drop constraint invoice_number_skips_pkey`.execute(db)
  await sql`alter table invoice_number_skips add constraint invoice_number_skips_pkey
    primary key (user_id, series, after_seq)`.execute(db)

  await sql`alter table invoices drop constraint invoices_status_check`.execute(db)
  await sql`alter table invoices add constraint invoices_status_check check (status in ${STATUSES})`.execute(
    db,
  )
  await sql`alter table invoice_events drop constraint invoice_events_type_check`.execute(db)
  await sql`alter table invoice_events add constraint invoice_events_type_check
    check (type in ${EVENT_TYPES})`.execute(db)

  await sql`alter table invoices
    add column credited_total bigint not null default 0,
    add constraint invoices_credited_within_total
      check (credited_total = 0 or (status <> 'draft' and credited_total > 0 and credited_total <= total)),
    add constraint invoices_credited_status check ((status = 'credited') = (credited_total > 0 and credited_total = total))
  `.execute(db)
  // Open means something is due, paid means nothing is: NOT VALID keeps rows written before credit notes as
  // they are (db:verify reports them) while every new write is held to it.
  await sql`alter table invoices add constraint invoices_status_follows_balance check (
      (status not in ('sent', 'partially_paid') or amount_paid + credited_total < total)
      and (status <> 'paid' or amount_paid + credited_total >= total)
    ) not valid`.execute(db)

  await sql`create table credit_notes (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references users (id) on delete cascade,
    invoice_id uuid not null references invoices (id) on delete restrict,
    customer_id uuid not null references customers (id) on delete restrict,
    number text not null,
    number_seq bigint not null,
    reason text not null check (reason in ${REASONS}),
    memo text,
    currency char(3) not null,
    discount_percent numeric(6,3) not null,
    subtotal bigint not null,
    discount_total bigint not null,
    tax_total bigint not null,
    total bigint not null check (total > 0),
    applied_to_balance bigint not null check (applied_to_balance >= 0),
    refund_due bigint not null check (refund_due >= 0),
    bill_to jsonb not null,
    seller jsonb not null,
    issue_date date not null,
    issued_at timestamptz not null,
    pdf_key text not null,
    pdf_sha256 text not null,
    pdf_size integer not null,
    pdf_generated_at timestamptz not null,
    created_at timestamptz not null default now(),
    constraint credit_notes_total_adds_up check (total = subtotal - discount_total + tax_total),
    constraint credit_notes_applied_and_refund check (applied_to_balance + refund_due = total)
  )`.execute(db)
  await sql`create unique index credit_notes_user_number_seq_key on credit_notes (user_id, number_seq)`.execute(
    db,
  )
  await sql`create unique index credit_notes_user_number_key on credit_notes (user_id, number)`.execute(db)
  await sql`create index credit_notes_invoice_idx on credit_notes (invoice_id, number_seq)`.execute(db)
  await sql`create index credit_notes_user_customer_idx on credit_notes (user_id, customer_id, number_seq)`.execute(
    db,
  )
  await sql`create index credit_notes_user_issue_date_idx on credit_notes (user_id, issue_date, number_seq)`.execute(
    db,
  )

  await sql`create table credit_note_items (
    id uuid primary key default gen_random_uuid(),
    credit_note_id uuid not null references credit_notes (id) on delete cascade,
    user_id uuid not null references users (id) on delete cascade,
    invoice_item_id uuid not null references invoice_items (id) on delete restrict,
    position integer not null,
    description text not null,
    quantity numeric(13,3) not null check (quantity > 0),
    unit_price bigint not null,
    tax_rate numeric(6,3) not null check (tax_rate between 0 and 100),
    subtotal bigint not null,
    discount bigint not null,
    tax bigint not null,
    total bigint not null,
    constraint credit_note_items_total_adds_up check (total = subtotal - discount + tax),
    constraint credit_note_items_note_position_key unique (credit_note_id, position)
  )`.execute(db)
  await sql`create index credit_note_items_invoice_item_idx on credit_note_items (invoice_item_id)`.execute(
    db,
  )

  await sql`
    create function credit_notes_check() returns trigger language plpgsql as $$
    declare
      target uuid;
      marker text := pg_current_xact_id()::text || ':';
      checked text := coalesce(current_setting('invoice_api.credit_notes_checked', true), '');
      note record;
      lines record;
      credited bigint;
      overrun record;
    begin
      if tg_table_name = 'credit_notes' then
        target := new.id;
      else
        target := new.credit_note_id;
      end if;
      if left(checked, length(marker)) <> marker then
        checked := marker;
      end if;
      if strpos(checked, target::text) > 0 then
        return null;
      end if;
      perform set_config('invoice_api.credit_notes_checked', checked || target::text || ',', true);

      select invoice_id, subtotal, discount_total, tax_total, total into note from credit_notes where id = target;
      if not found then
        return null;
      end if;
      select coalesce(sum(subtotal), 0) as subtotal, coalesce(sum(discount), 0) as discount,
             coalesce(sum(tax), 0) as tax, coalesce(sum(total), 0) as total
        into lines from credit_note_items where credit_note_id = target;
      if (note.subtotal, note.discount_total, note.tax_total, note.total)
         is distinct from (lines.subtotal, lines.discount, lines.tax, lines.total) then
        raise exception 'credit note % totals are not the sums of its lines', target
          using errcode = 'check_violation', constraint = 'credit_notes_totals_are_sums_of_lines';
      end if;

      select coalesce(sum(total), 0) into credited from credit_notes where invoice_id = note.invoice_id;
      if credited <> (select credited_total from invoices where id = note.invoice_id) then
        raise exception 'invoice % credited_total is not the sum of its credit notes (%)', note.invoice_id, credited
          using errcode = 'check_violation', constraint = 'invoices_credited_total_is_sum_of_credit_notes';
      end if;

      -- Every credit of a line has the line's sign and together they never pass it, in quantity or amount.
      select it.id into overrun
        from invoice_items it
        join (select invoice_item_id, sum(quantity) as quantity, sum(subtotal) as subtotal, sum(discount) as discount,
                     sum(tax) as tax, sum(total) as total
                from credit_note_items
               where invoice_item_id in (select invoice_item_id from credit_note_items where credit_note_id = target)
               group by invoice_item_id) c on c.invoice_item_id = it.id
       where c.quantity > it.quantity
          or c.subtotal * sign(it.subtotal) > abs(it.subtotal) or c.subtotal * sign(it.subtotal) < 0
          or c.discount * sign(it.discount) > abs(it.discount) or c.discount * sign(it.discount) < 0
          or c.tax * sign(it.tax) > abs(it.tax) or c.tax * sign(it.tax) < 0
          or c.total * sign(it.total) > abs(it.total) or c.total * sign(it.total) < 0
          or (it.subtotal = 0 and c.subtotal <> 0) or (it.discount = 0 and c.discount <> 0)
          or (it.tax = 0 and c.tax <> 0) or (it.total = 0 and c.total <> 0)
       limit 1;
      if found then
        raise exception 'the credits of invoice line % exceed the line', overrun.id
          using errcode = 'check_violation', constraint = 'credit_note_items_within_invoice_line';
      end if;
      return null;
    end
    $$
  `.execute(db)
  await sql`create constraint trigger credit_notes_consistent after insert on credit_notes
    deferrable initially deferred for each row execute function credit_notes_check()`.execute(db)
  await sql`create constraint trigger credit_note_items_consistent after insert on credit_note_items
    deferrable initially deferred for each row execute function credit_notes_check()`.execute(db)
  // Issued documents are never rewritten: a credit note and its lines are final.
  // Only a lost PDF put back from the snapshot may update the row (its hash, size and time).
  await sql`create function credit_notes_immutable() returns trigger language plpgsql as $$
    begin
      raise exception 'credit notes are immutable' using errcode = 'check_violation', constraint = 'credit_notes_immutable';
    end $$`.execute(db)
  await sql`create trigger credit_notes_no_update before update on credit_notes
    for each row when ((old.id, old.user_id, old.invoice_id, old.customer_id, old.number, old.number_seq, old.reason,
      old.memo, old.currency, old.discount_percent, old.subtotal, old.discount_total, old.tax_total, old.total,
      old.applied_to_balance, old.refund_due, old.bill_to, old.seller, old.issue_date, old.issued_at, old.pdf_key,
      old.created_at)
      is distinct from (new.id, new.user_id, new.invoice_id, new.customer_id, new.number, new.number_seq, new.reason,
      new.memo, new.currency, new.discount_percent, new.subtotal, new.discount_total, new.tax_total, new.total,
      new.applied_to_balance, new.refund_due, new.bill_to, new.seller, new.issue_date, new.issued_at, new.pdf_key,
      new.created_at))
    execute function credit_notes_immutable()`.execute(db)
  await sql`create trigger credit_note_items_no_update before update on credit_note_items
    for each row execute function credit_notes_immutable()`.execute(db)
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table credit_note_items`.execute(db)
  await sql`drop table credit_notes`.execute(db)
  await sql`drop function credit_notes_immutable()`.execute(db)
  await sql`drop function credit_notes_check()`.execute(db)
  await sql`alter table invoices drop constraint invoices_status_follows_balance,
    drop constraint invoices_credited_status, drop constraint invoices_credited_within_total,
    drop column credited_total`.execute(db)
  await sql`alter table invoice_events drop constraint invoice_events_type_check`.execute(db)
  await sql`alter table invoice_events add constraint invoice_events_type_check check (type in
    ('created', 'updated', 'sent', 'payment_recorded', 'paid', 'voided', 'pdf_regenerated'))`.execute(db)
  await sql`alter table invoices drop constraint invoices_status_check`.execute(db)
  await sql`alter table invoices add constraint invoices_status_check
    check (status in ('draft', 'sent', 'partially_paid', 'paid', 'void'))`.execute(db)
  await sql`alter table invoice_number_skips drop constraint invoice_number_skips_pkey`.execute(db)
  await sql`delete from invoice_number_skips where series <> 'invoice'`.execute(db)
  await sql`alter table invoice_number_skips add constraint invoice_number_skips_pkey primary key (user_id, after_seq)`.execute(
    db,
  )
  await sql`alter table invoice_number_skips drop column series`.execute(db)
  await sql`alter table users drop constraint users_next_credit_note_after_last,
    drop column last_credit_note_number, drop column next_credit_note_number, drop column credit_note_prefix`.execute(
    db,
  )
}
