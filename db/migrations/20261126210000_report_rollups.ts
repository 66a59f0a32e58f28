import { type Kysely, sql } from 'kysely'

// Reports read per-day sums kept up to date by triggers, in the transaction of each write, instead of every
// open invoice and every payment of the period: a busy user's summary reads a few hundred rows, not tens of
// thousands, and reports no longer queue behind one another on a loaded database.
//
// - report_open_balances: open invoices (sent, partially paid) per user, currency and due date: what is due
//   and how many. A row goes when its last invoice is settled or voided.
// - report_draft_counts: drafts per user and currency. Kept by a trigger deferred to commit, so that creating
//   a draft holds the count's row lock only while committing, not for the rest of its transaction.
// - report_daily_totals: per user, currency and day, what was issued on that issue date (invoices neither
//   draft nor void) and what was collected on that UTC day of `paid_at`. Payments are kept by UTC day because
//   the profile's time zone may change; a report takes the UTC days that lie wholly inside its local period
//   from here and the few payments of the partial days at either end from the payments index.
// - report_monthly_totals: the same sums per calendar month (of the issue date, of the UTC day), so that a
//   period of months reads one row per month and currency, and days only where it starts or ends mid-month.
//
// Lock order: a transaction adds to at most one open-balance row, then to day and month rows, each day row
// before its month's (the invoice trigger before
// the payment trigger: recordPayment settles the invoice before inserting the payment), then, at commit, to
// draft counts in currency order; so no two writers can wait on each other in a cycle.
//
// The primary keys carry the sums (INCLUDE), so reports read index pages only: a user's rows are spread over as
// many heap pages as there are days.

// biome-ignore lint/suspicious/noExplicitAny: migrations are written against the database as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table report_open_balances (
    user_id uuid not null references users (id) on delete cascade,
    currency char(3) not null,
    due_date date not null,
    amount_due bigint not null,
    invoices integer not null,
    primary key (user_id, currency, due_date) include (amount_due, invoices)
  )`.execute(db)
  await sql`create table report_draft_counts (
    user_id uuid not null references users (id) on delete cascade,
    currency char(3) not null,
    drafts integer not null,
    primary key (user_id, currency) include (drafts)
  )`.execute(db)
  await sql`create table report_daily_totals (
    user_id uuid not null references users (id) on delete cascade,
    currency char(3) not null,
    day date not null,
    invoiced bigint not null default 0,
    issued integer not null default 0,
    collected bigint not null default 0,
    payments integer not null default 0,
    primary key (user_id, day, currency) include (invoiced, issued, collected, payments)
  )`.execute(db)
  await sql`create table report_monthly_totals (
    user_id uuid not null references users (id) on delete cascade,
    currency char(3) not null,
    month date not null check (extract(day from month) = 1),
    invoiced bigint not null default 0,
    issued integer not null default 0,
    collected bigint not null default 0,
    payments integer not null default 0,
    primary key (user_id, month, currency) include (invoiced, issued, collected, payments)
  )`.execute(db)

  await sql`create function report_add_open(p_user uuid, p_currency char(3), p_due date, p_amount bigint, p_count integer)
    returns void language plpgsql as $$
    declare
      remaining integer;
    begin
      insert into report_open_balances as b (user_id, currency, due_date, amount_due, invoices)
      values (p_user, p_currency, p_due, p_amount, p_count)
      on conflict (user_id, currency, due_date) do update
        set amount_due = b.amount_due + excluded.amount_due, invoices = b.invoices + excluded.invoices
      returning b.invoices into remaining;
      if remaining = 0 then
        delete from report_open_balances where user_id = p_user and currency = p_currency and due_date = p_due;
      end if;
    end $$`.execute(db)

  await sql`create function report_add_drafts(p_user uuid, p_currency char(3), p_count integer)
    returns void language sql as $$
      insert into report_draft_counts as c (user_id, currency, drafts) values (p_user, p_currency, p_count)
      on conflict (user_id, currency) do update set drafts = c.drafts + excluded.drafts
    $$`.execute(db)

  await sql`create function report_add_day(p_user uuid, p_currency char(3), p_day date, p_invoiced bigint,
      p_issued integer, p_collected bigint, p_payments integer)
    returns void language sql as $$
      insert into report_daily_totals as d (user_id, currency, day, invoiced, issued, collected, payments)
      values (p_user, p_currency, p_day, p_invoiced, p_issued, p_collected, p_payments)
      on conflict (user_id, day, currency) do update
        set invoiced = d.invoiced + excluded.invoiced, issued = d.issued + excluded.issued,
            collected = d.collected + excluded.collected, payments = d.payments + excluded.payments;
      insert into report_monthly_totals as m (user_id, currency, month, invoiced, issued, collected, payments)
      values (p_user, p_currency, date_trunc('month', p_day::timestamp)::date, p_invoiced, p_issued, p_collected, p_payments)
      on conflict (user_id, month, currency) do update
        set invoiced = m.invoiced + excluded.invoiced, issued = m.issued + excluded.issued,
            collected = m.collected + excluded.collected, payments = m.payments + excluded.payments;
    $$`.execute(db)

  // OLD is null on INSERT and NEW on DELETE, so the flags below are false there.
  await sql`create function report_track_invoice() returns trigger language plpgsql as $$
    declare
      was_open boolean := coalesce(old.status in ('sent', 'partially_paid'), false);
      is_open boolean := coalesce(new.status in ('sent', 'partially_paid'), false);
      was_issued boolean := coalesce(old.status in ('sent', 'partially_paid', 'paid'), false);
      is_issued boolean := coalesce(new.status in ('sent', 'partially_paid', 'paid'), false);
    begin
      if was_open and is_open and (old.user_id, old.currency, old.due_date) = (new.user_id, new.currency, new.due_date) then
        if new.total - new.amount_paid <> old.total - old.amount_paid then
          perform report_add_open(new.user_id, new.currency, new.due_date,
            (new.total - new.amount_paid) - (old.total - old.amount_paid), 0);
        end if;
      else
        if was_open then
          perform report_add_open(old.user_id, old.currency, old.due_date, -(old.total - old.amount_paid), -1);
        end if;
        if is_open then
          perform report_add_open(new.user_id, new.currency, new.due_date, new.total - new.amount_paid, 1);
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

  await sql`create function report_track_draft() returns trigger language plpgsql as $$
    declare
      was_draft boolean := coalesce(old.status = 'draft', false);
      is_draft boolean := coalesce(new.status = 'draft', false);
    begin
      if was_draft and is_draft and (old.user_id, old.currency) = (new.user_id, new.currency) then
        return null;
      end if;
      if was_draft and is_draft and old.currency > new.currency then
        perform report_add_drafts(new.user_id, new.currency, 1);
        perform report_add_drafts(old.user_id, old.currency, -1);
      else
        if was_draft then
          perform report_add_drafts(old.user_id, old.currency, -1);
        end if;
        if is_draft then
          perform report_add_drafts(new.user_id, new.currency, 1);
        end if;
      end if;
      return null;
    end $$`.execute(db)

  await sql`create function report_track_payment() returns trigger language plpgsql as $$
    begin
      if old.id is not null then
        perform report_add_day(old.user_id, old.currency, (old.paid_at at time zone 'UTC')::date, 0, 0, -old.amount, -1);
      end if;
      if new.id is not null then
        perform report_add_day(new.user_id, new.currency, (new.paid_at at time zone 'UTC')::date, 0, 0, new.amount, 1);
      end if;
      return null;
    end $$`.execute(db)

  // Drafts never count in a report, so creating, editing and deleting them does not call the function.
  await sql`create trigger invoices_report_insert after insert on invoices
    for each row when (new.status <> 'draft') execute function report_track_invoice()`.execute(db)
  await sql`create trigger invoices_report_update after update of user_id, status, currency, issue_date, due_date, total, amount_paid
    on invoices for each row when (old.status <> 'draft' or new.status <> 'draft') execute function report_track_invoice()`.execute(
    db,
  )
  await sql`create trigger invoices_report_delete after delete on invoices
    for each row when (old.status <> 'draft') execute function report_track_invoice()`.execute(db)
  await sql`create constraint trigger invoices_report_drafts_insert after insert on invoices
    deferrable initially deferred for each row when (new.status = 'draft') execute function report_track_draft()`.execute(
    db,
  )
  await sql`create constraint trigger invoices_report_drafts_update after update of user_id, status, currency on invoices
    deferrable initially deferred for each row when (old.status = 'draft' or new.status = 'draft')
    execute function report_track_draft()`.execute(db)
  await sql`create constraint trigger invoices_report_drafts_delete after delete on invoices
    deferrable initially deferred for each row when (old.status = 'draft') execute function report_track_draft()`.execute(
    db,
  )
  await sql`create trigger payments_report after insert or delete or update of user_id, currency, paid_at, amount
    on payments for each row execute function report_track_payment()`.execute(db)

  // Rebuilds the four tables from the invoices and payments, set-based: for data loaded with triggers disabled.
  await sql`create function report_rebuild_rollups() returns void language sql as $$
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
  await sql`select report_rebuild_rollups()`.execute(db)

  // The reports no longer read invoices through these indexes.
  await sql`drop index invoices_user_issued_idx`.execute(db)
  await sql`drop index invoices_user_unsettled_idx`.execute(db)
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index invoices_user_unsettled_idx on invoices (user_id, status, currency, due_date)
    include (total, amount_paid) where status in ('draft', 'sent', 'partially_paid')`.execute(db)
  await sql`create index invoices_user_issued_idx on invoices (user_id, issue_date)
    include (id, currency, total) where status in ('sent', 'partially_paid', 'paid')`.execute(db)
  await sql`drop trigger payments_report on payments`.execute(db)
  await sql`drop trigger invoices_report_drafts_delete on invoices`.execute(db)
  await sql`drop trigger invoices_report_drafts_update on invoices`.execute(db)
  await sql`drop trigger invoices_report_drafts_insert on invoices`.execute(db)
  await sql`drop trigger invoices_report_delete on invoices`.execute(db)
  await sql`drop trigger invoices_report_update on invoices`.execute(db)
  await sql`drop trigger invoices_report_insert on invoices`.execute(db)
  await sql`drop function report_rebuild_rollups()`.execute(db)
  await sql`drop function report_track_payment()`.execute(db)
  await sql`drop function report_track_draft()`.execute(db)
  await sql`drop function report_add_drafts(uuid, char(3), integer)`.execute(db)
  await sql`drop function report_track_invoice()`.execute(db)
  await sql`drop function report_add_day(uuid, char(3), date, bigint, integer, bigint, integer)`.execute(db)
  await sql`drop function report_add_open(uuid, char(3), date, bigint, integer)`.execute(db)
  await sql`drop table report_monthly_totals`.execute(db)
  await sql`drop table report_daily_totals`.execute(db)
  await sql`drop table report_draft_counts`.execute(db)
  await sql`drop table report_open_balances`.execute(db)
}
