import { type Kysely, type RawBuilder, sql } from 'kysely'

// The report tables (db/migrations/20261126210000_report_rollups.ts) count credit notes (API.md "Credit notes"):
//
// - report_daily_totals and report_monthly_totals gain `credited` (the totals of the credit notes issued that
//   day, by the note's `issue_date`, and that month) and `credit_notes` (how many). `invoiced` stays gross: a
//   credited invoice is still issued and its total stays where its issue date put it; the reports subtract
//   `credited` to answer a net `invoiced`. The primary keys carry the new sums too (INCLUDE), so the reports
//   still read index pages only.
// - An invoice's open amount is `total - amount_paid - credited_total`, and `credited` is an issued status.
//   The invoice trigger also fires when `credited_total` changes.
// - A trigger on credit notes adds to the day and month of their issue date. Credit notes are immutable
//   (credit_notes_immutable), so only an insert or a delete moves these sums.
//
// Lock order, as documented in the rollups migration: a transaction adds to at most one open-balance row, then
// to day and month rows, each day row before its month's. The credit-note service locks the invoice and then the
// user's row (for the number, as issuing does, before any report row), updates the invoice (its trigger moves
// the invoice's open-balance row only: an invoice stays issued when credited, with the same total and issue
// date, so no day row moves) and inserts the credit note after (its trigger adds to one day row, then that
// day's month row). Payments take the same order without the user's row.

// biome-ignore lint/suspicious/noExplicitAny: migrations are written against the database as it was then
export async function up(db: Kysely<any>): Promise<void> {
  for (const [table, day] of [
    ['report_daily_totals', 'day'],
    ['report_monthly_totals', 'month'],
  ] as const) {
    await sql`alter table ${sql.table(table)}
      add column credited bigint not null default 0,
      add column credit_notes integer not null default 0,
      drop constraint ${sql.ref(`${table}_pkey`)},
      add constraint ${sql.ref(`${table}_pkey`)} primary key (user_id, ${sql.ref(day)}, currency)
        include (invoiced, issued, collected, payments, credited, credit_notes)`.execute(db)
  }

  await sql`create function report_add_credit(p_user uuid, p_currency char(3), p_day date, p_credited bigint,
      p_count integer)
    returns void language sql as $$
      insert into report_daily_totals as d (user_id, currency, day, credited, credit_notes)
      values (p_user, p_currency, p_day, p_credited, p_count)
      on conflict (user_id, day, currency) do update
        set credited = d.credited + excluded.credited, credit_notes = d.credit_notes + excluded.credit_notes;
      insert into report_monthly_totals as m (user_id, currency, month, credited, credit_notes)
      values (p_user, p_currency, date_trunc('month', p_day::timestamp)::date, p_credited, p_count)
      on conflict (user_id, month, currency) do update
        set credited = m.credited + excluded.credited, credit_notes = m.credit_notes + excluded.credit_notes;
    $$`.execute(db)

  await trackInvoice(db, {
    open: (row) => sql`${row}.total - ${row}.amount_paid - ${row}.credited_total`,
    issued: sql`('sent', 'partially_paid', 'paid', 'credited')`,
  })

  await sql`create function report_track_credit_note() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' then
        perform report_add_credit(old.user_id, old.currency, old.issue_date, -old.total, -1);
      else
        perform report_add_credit(new.user_id, new.currency, new.issue_date, new.total, 1);
      end if;
      return null;
    end $$`.execute(db)
  await sql`create trigger credit_notes_report after insert or delete on credit_notes
    for each row execute function report_track_credit_note()`.execute(db)

  await sql`drop trigger invoices_report_update on invoices`.execute(db)
  await sql`create trigger invoices_report_update
    after update of user_id, status, currency, issue_date, due_date, total, amount_paid, credited_total
    on invoices for each row when (old.status <> 'draft' or new.status <> 'draft') execute function report_track_invoice()`.execute(
    db,
  )

  await sql`create or replace function report_rebuild_rollups() returns void language sql as $$
      delete from report_open_balances;
      delete from report_draft_counts;
      delete from report_daily_totals;
      delete from report_monthly_totals;
      insert into report_open_balances (user_id, currency, due_date, amount_due, invoices)
      select user_id, currency, due_date, sum(total - amount_paid - credited_total), count(*)
      from invoices where status in ('sent', 'partially_paid')
      group by user_id, currency, due_date;
      insert into report_draft_counts (user_id, currency, drafts)
      select user_id, currency, count(*) from invoices where status = 'draft' group by user_id, currency;
      insert into report_daily_totals (user_id, currency, day, invoiced, issued, collected, payments, credited,
        credit_notes)
      select user_id, currency, day, sum(invoiced), sum(issued), sum(collected), sum(payments), sum(credited),
             sum(credit_notes)
      from (
        select user_id, currency, issue_date as day, total as invoiced, 1 as issued, 0 as collected, 0 as payments,
               0 as credited, 0 as credit_notes
        from invoices where status in ('sent', 'partially_paid', 'paid', 'credited')
        union all
        select user_id, currency, (paid_at at time zone 'UTC')::date, 0, 0, amount, 1, 0, 0
        from payments
        union all
        select user_id, currency, issue_date, 0, 0, 0, 0, total, 1
        from credit_notes
      ) facts
      group by user_id, currency, day;
      insert into report_monthly_totals (user_id, currency, month, invoiced, issued, collected, payments, credited,
        credit_notes)
      select user_id, currency, date_trunc('month', day::timestamp)::date, sum(invoiced), sum(issued), sum(collected),
             sum(payments), sum(credited), sum(credit_notes)
      from report_daily_totals
      group by user_id, currency, date_trunc('month', day::timestamp);
    $$`.execute(db)
  await sql`select report_rebuild_rollups()`.execute(db)
}

/**
 * report_track_invoice() with the given open amount (of the row `old` or `new`) and issued statuses; the rest is
 * the rollups migration's function as it was.
 */
async function trackInvoice(
  // biome-ignore lint/suspicious/noExplicitAny: see up()
  db: Kysely<any>,
  of: { open: (row: RawBuilder<unknown>) => RawBuilder<unknown>; issued: RawBuilder<unknown> },
) {
  const open = (row: 'old' | 'new') => of.open(sql.raw(row))
  await sql`create or replace function report_track_invoice() returns trigger language plpgsql as $$
    declare
      was_open boolean := coalesce(old.status in ('sent', 'partially_paid'), false);
      is_open boolean := coalesce(new.status in ('sent', 'partially_paid'), false);
      was_issued boolean := coalesce(old.status in ${of.issued}, false);
      is_issued boolean := coalesce(new.status in ${of.issued}, false);
    begin
      if was_open and is_open and (old.user_id, old.currency, old.due_date) = (new.user_id, new.currency, new.due_date) then
        if ${open('new')} <> ${open('old')} then
          perform report_add_open(new.user_id, new.currency, new.due_date, (${open('new')}) - (${open('old')}), 0);
        end if;
      else
        if was_open then
          perform report_add_open(old.user_id, old.currency, old.due_date, -(${open('old')}), -1);
        end if;
        if is_open then
          perform report_add_open(new.user_id, new.currency, new.due_date, ${open('new')}, 1);
        end if;
      end if;

      if was_issued and is_issued and (old.user_id, old.currency, old.issue_date) = (new.user_id, new.currency, new.issue_date) then
        if new.total <> old.total then
          perform report_add_day(new.user_id, new.currency, new.issue_date, new.total - old.total, 0, 0, 0);
        end if;
      else
        if was_issued then
          perform report_add_day(old.user_id, old.currency, old.issue_date, -old.total, -1, 0, 0);
        end if;
        if is_issued then
          perform report_add_day(new.user_id, new.currency, new.issue_date, new.total, 1, 0, 0);
        end if;
      end if;
      return null;
    end $$`.execute(db)
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger invoices_report_update on invoices`.execute(db)
  await sql`create trigger invoices_report_update after update of user_id, status, currency, issue_date, due_date, total, amount_paid
    on invoices for each row when (old.status <> 'draft' or new.status <> 'draft') execute function report_track_invoice()`.execute(
    db,
  )
  await sql`drop trigger credit_notes_report on credit_notes`.execute(db)
  await sql`drop function report_track_credit_note()`.execute(db)
  await trackInvoice(db, {
    open: (row) => sql`${row}.total - ${row}.amount_paid`,
    issued: sql`('sent', 'partially_paid', 'paid')`,
  })
  await sql`drop function report_add_credit(uuid, char(3), date, bigint, integer)`.execute(db)
  await sql`create or replace function report_rebuild_rollups() returns void language sql as $$
      delete from report_open_balances;
      delete from report_draft_counts;
      delete from report_daily_totals;
      delete from report_monthly_totals;
      insert into report_open_balances (user_id, currency, due_date, amount_due, invoices)
      select user_id, currency, due_date, sum(total - amount_paid), count(*)
      from invoices where status in ('sent', 'partially_paid')
      group by user_id, currency, due_date;
      insert into report_draft_counts (user_id, currency, drafts)
      select user_id, currency, count(*) from invoices where status = 'draft' group by user_id, currency;
      insert into report_daily_totals (user_id, currency, day, invoiced, issued, collected, payments)
      select user_id, currency, day, sum(invoiced), sum(issued), sum(collected), sum(payments)
      from (
        select user_id, currency, issue_date as day, total as invoiced, 1 as issued, 0 as collected, 0 as payments
        from invoices where status in ('sent', 'partially_paid', 'paid')
        union all
        select user_id, currency, (paid_at at time zone 'UTC')::date, 0, 0, amount, 1
        from payments
      ) facts
      group by user_id, currency, day;
      insert into report_monthly_totals (user_id, currency, month, invoiced, issued, collected, payments)
      select user_id, currency, date_trunc('month', day::timestamp)::date, sum(invoiced), sum(issued), sum(collected), sum(payments)
      from report_daily_totals
      group by user_id, currency, date_trunc('month', day::timestamp);
    $$`.execute(db)
  for (const [table, day] of [
    ['report_daily_totals', 'day'],
    ['report_monthly_totals', 'month'],
  ] as const) {
    await sql`alter table ${sql.table(table)}
      drop constraint ${sql.ref(`${table}_pkey`)},
      drop column credit_notes,
      drop column credited,
      add constraint ${sql.ref(`${table}_pkey`)} primary key (user_id, ${sql.ref(day)}, currency)
        include (invoiced, issued, collected, payments)`.execute(db)
  }
  await sql`select report_rebuild_rollups()`.execute(db)
}
