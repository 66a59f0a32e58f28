import { type Kysely, sql } from 'kysely'

// Payments count in report_daily_totals and report_monthly_totals on their local calendar day: the day of
// `paid_at` in the profile's time zone, as invoices and credit notes already count on their issue dates. A row
// of those tables now means one thing, a local day (or month) of the user, and a report of any period is a
// range read of month rows and of the day rows at its ends, with no time zone arithmetic and no payments read.
// Until now payments were kept by UTC day, and every report corrected each end of its period with the payments
// between the local midnight and the nearest UTC one; for the revenue report that was two probes of the totals
// and two of the payments index per month, most of its database time.
//
// What the profile's zone changes, a trigger on users moves: `report_rezone_payments` recounts the user's
// payment sums by the new zone's days in the transaction that changes it (a grouped read of the user's
// payments; a rare write, so it pays for the reports' speed).
// This migration moves the sums already kept the same way, for every user at once (moveAllPayments below).
//
// Races with payments are closed by a lock per user (an advisory lock, so no row is written to take it): the
// payment trigger takes it shared before it reads the zone, the zone change takes it exclusively before it
// recounts. A payment that got it first is committed before the recount reads the payments (each statement in
// these functions reads with a new snapshot), and one that comes after waits for the zone change to commit and
// then reads the new zone. Lock order: the zone change holds the user's row (its UPDATE) and then takes the
// zone lock; payments never lock the user's row (their foreign key takes KEY SHARE, which the UPDATE of a
// non-key column does not block), so the two cannot wait on each other. The recount then writes day rows
// before month rows, as every other writer does (db/migrations/20261126210000_report_rollups.ts).

const REBUILD = (paymentDay: string) =>
  sql.raw(`
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
        select p.user_id, p.currency, ${paymentDay}, 0, 0, p.amount, 1, 0, 0
        from payments p join users u on u.id = p.user_id
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
`)

/**
 * Statements that recount the payment sums (`collected`, `payments`) of the day and month rows from the payments,
 * by the day `paymentDay` gives (of `p.paid_at`, with the user as `u`), for the users `scope` selects (a condition
 * on the user column it is given). The other sums of the rows are not touched, so writers of invoices and credit
 * notes may run beside it. Rows left with nothing in them are deleted, so that a zone change leaves no trail of
 * empty days.
 */
const recountPayments = (paymentDay: string, scope: (column: string) => string) => `
      update report_daily_totals set collected = 0, payments = 0
        where ${scope('user_id')} and (collected, payments) <> (0, 0);
      insert into report_daily_totals as d (user_id, currency, day, collected, payments)
        select p.user_id, p.currency, ${paymentDay}, sum(p.amount), count(*)
        from payments p join users u on u.id = p.user_id
        where ${scope('p.user_id')}
        group by 1, 2, 3
        on conflict (user_id, day, currency) do update
          set collected = excluded.collected, payments = excluded.payments;
      delete from report_daily_totals
        where ${scope('user_id')} and (invoiced, issued, collected, payments, credited, credit_notes) = (0, 0, 0, 0, 0, 0);
      update report_monthly_totals set collected = 0, payments = 0
        where ${scope('user_id')} and (collected, payments) <> (0, 0);
      insert into report_monthly_totals as m (user_id, currency, month, collected, payments)
        select user_id, currency, date_trunc('month', day::timestamp)::date, sum(collected), sum(payments)
        from report_daily_totals
        where ${scope('user_id')} and payments <> 0
        group by 1, 2, 3
        on conflict (user_id, month, currency) do update
          set collected = excluded.collected, payments = excluded.payments;
      delete from report_monthly_totals
        where ${scope('user_id')} and (invoiced, issued, collected, payments, credited, credit_notes) = (0, 0, 0, 0, 0, 0);
`

const LOCAL_DAY = '(p.paid_at at time zone u.timezone)::date'
const UTC_DAY = "(p.paid_at at time zone 'UTC')::date"

/**
 * Moves every payment sum to the days `paymentDay` gives, with the payments held still (SHARE: a payment written
 * meanwhile by a process still on the previous release waits for the commit, and then runs the trigger as it is
 * from then on). Invoices and credit notes go on being written: the recount leaves their sums alone. A report
 * answered by a previous release during the deployment reads these days its own way (collected off by the
 * payments near each end of its period) until that process is replaced.
 */
// biome-ignore lint/suspicious/noExplicitAny: see up()
async function moveAllPayments(db: Kysely<any>, paymentDay: string) {
  // One pass over every payment; on a large database that outlasts the pool's statement timeout, and a
  // migration cut off halfway is worse than a slow one (each runs in its own transaction).
  await sql`set local statement_timeout = 0`.execute(db)
  await sql`lock table payments in share mode`.execute(db)
  for (const statement of recountPayments(paymentDay, () => 'true')
    .split(';')
    .filter((text) => text.trim())) {
    await sql.raw(statement).execute(db)
  }
}

// biome-ignore lint/suspicious/noExplicitAny: migrations are written against the database as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create function report_zone_lock(p_user uuid) returns bigint language sql immutable as $$
      select hashtextextended('report-zone:' || p_user::text, 0)
    $$`.execute(db)

  await sql`create function report_payment_day(p_user uuid, p_paid_at timestamptz) returns date
    language plpgsql as $$
    declare
      zone text;
    begin
      perform pg_advisory_xact_lock_shared(report_zone_lock(p_user));
      select timezone into zone from users where id = p_user;
      return (p_paid_at at time zone zone)::date;
    end $$`.execute(db)

  await sql`create or replace function report_track_payment() returns trigger language plpgsql as $$
    begin
      if old.id is not null then
        perform report_add_day(old.user_id, old.currency, report_payment_day(old.user_id, old.paid_at), 0, 0,
          -old.amount, -1);
      end if;
      if new.id is not null then
        perform report_add_day(new.user_id, new.currency, report_payment_day(new.user_id, new.paid_at), 0, 0,
          new.amount, 1);
      end if;
      return null;
    end $$`.execute(db)

  await sql`create function report_rezone_payments(p_user uuid) returns void language plpgsql as $$
    begin
      perform pg_advisory_xact_lock(report_zone_lock(p_user));
      ${sql.raw(recountPayments(LOCAL_DAY, (column) => `${column} = p_user`))}
    end $$`.execute(db)

  await sql`create function report_track_timezone() returns trigger language plpgsql as $$
    begin
      perform report_rezone_payments(new.id);
      return null;
    end $$`.execute(db)
  await sql`create trigger users_report_timezone after update of timezone on users
    for each row when (old.timezone is distinct from new.timezone) execute function report_track_timezone()`.execute(
    db,
  )

  await sql`create or replace function report_rebuild_rollups() returns void language sql as $$
    ${REBUILD(LOCAL_DAY)}
    $$`.execute(db)
  await moveAllPayments(db, LOCAL_DAY)
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger users_report_timezone on users`.execute(db)
  await sql`drop function report_track_timezone()`.execute(db)
  await sql`drop function report_rezone_payments(uuid)`.execute(db)
  await sql`create or replace function report_track_payment() returns trigger language plpgsql as $$
    begin
      if old.id is not null then
        perform report_add_day(old.user_id, old.currency, (old.paid_at at time zone 'UTC')::date, 0, 0, -old.amount, -1);
      end if;
      if new.id is not null then
        perform report_add_day(new.user_id, new.currency, (new.paid_at at time zone 'UTC')::date, 0, 0, new.amount, 1);
      end if;
      return null;
    end $$`.execute(db)
  await sql`drop function report_payment_day(uuid, timestamptz)`.execute(db)
  await sql`drop function report_zone_lock(uuid)`.execute(db)
  await sql`create or replace function report_rebuild_rollups() returns void language sql as $$
    ${REBUILD(UTC_DAY)}
    $$`.execute(db)
  await moveAllPayments(db, UTC_DAY)
}
