import { type RawBuilder, sql } from 'kysely'
import type { Database } from '../../lib/db'
import { precompiled } from '../../lib/precompiled'
import type { AgingRow, PeriodQuery, RevenueRow, SummaryRow } from './model'

/**
 * Whose report, at which instant. The date it is (`today`) is the date of `now` in the profile's time zone,
 * worked out by the report's own statement: a report is one round trip (reading the zone first was a second one,
 * and the writes to the database's socket were a third of the API's time per report).
 */
export interface ReportScope {
  userId: string
  now: Date
}

/** What a report statement answers besides its rows: the profile's date, which the period checks need. */
export interface Dated<Row> {
  today: string
  rows: Row[]
}

/** Sums and counts arrive as int8 text; amounts in minor units stay far below 2^53. */
type Int8Text = string

/** Every report row carries the date; a user without activity answers one row whose other columns are null. */
type WithToday<Row> = { today: string } & ({ [K in keyof Row]: Row[K] } | { [K in keyof Row]: null })

interface RawSummaryRow {
  currency: string
  outstanding: Int8Text
  overdue: Int8Text
  invoiced: Int8Text
  credited: Int8Text
  collected: Int8Text
  draft: Int8Text
  open: Int8Text
  overdue_count: Int8Text
}

interface RawAgingRow {
  currency: string
  current: Int8Text
  days_1_30: Int8Text
  days_31_60: Int8Text
  days_61_90: Int8Text
  days_over_90: Int8Text
}

interface RawRevenueRow {
  month: string
  currency: string
  invoiced: Int8Text
  credited: Int8Text
  collected: Int8Text
  facts: Int8Text
}

/**
 * `me (today)`: the profile's date at `now`, by PostgreSQL's time zone rules; no row for an unknown user. And,
 * for a period query, `bounds (first_day, last_day)`: `to` defaults to today and `from` to January 1 of `to`'s
 * year, as resolvePeriod (period.ts) resolves them; the service checks the period against that date after.
 */
const clock = ({ userId, now }: ReportScope) => sql`
  me as (
    select (cast(${now} as timestamptz) at time zone timezone)::date as today from users where id = ${userId}
  )`

const bounds = (query: PeriodQuery) => sql`
  last_day as (select coalesce(cast(${query.to ?? null} as date), today) as last_day from me),
  bounds as (
    select coalesce(cast(${query.from ?? null} as date), date_trunc('year', last_day::timestamp)::date) as first_day,
           last_day
    from last_day
  )`

/**
 * The report-table rows of the period in `bounds`, `(month, currency, invoiced, issued, credited, credit_notes,
 * collected, payments)` to be summed: its whole calendar months from report_monthly_totals, the days before the
 * first of them and after the last from report_daily_totals (`month` the first day of the day's month). Every row
 * of those tables is a local day of the profile's zone, issue dates and payments alike
 * (db/migrations/20261204100000_report_local_days.ts), so a period is three index range scans: a year is a dozen
 * rows per currency instead of 365, and no instant or time zone enters the reading.
 *
 * The period's days are [from, wholeFrom) ∪ [wholeFrom, wholeTo) ∪ [wholeTo, to]: `wholeFrom` is the first day of
 * the first month that starts inside the period, `wholeTo` the first day of the month that `to + 1` falls in.
 * Without a whole month (wholeTo ≤ wholeFrom) the first range runs to `to` and the last is empty. `day::timestamp`:
 * date_trunc of a bare date would go through timestamptz and the session's zone. The bounds are scalar subqueries,
 * computed once, so each range is an index range scan.
 */
const periodTotals = (userId: string) => {
  const first = sql`(select first_day from bounds)`
  const last = sql`(select last_day from bounds)`
  const wholeFrom = sql`(select case when extract(day from first_day) = 1 then first_day
    else (date_trunc('month', first_day::timestamp) + interval '1 month')::date end from bounds)`
  const wholeTo = sql`(select date_trunc('month', (last_day + 1)::timestamp)::date from bounds)`
  const figures = sql`currency, invoiced, issued, credited, credit_notes, collected, payments`
  return sql`
    select month, ${figures} from report_monthly_totals
    where user_id = ${userId} and month >= ${wholeFrom} and month < ${wholeTo}
    union all
    select date_trunc('month', day::timestamp)::date, ${figures} from report_daily_totals
    where user_id = ${userId} and day >= ${first} and day < least(${wholeFrom}, ${last} + 1)
    union all
    select date_trunc('month', day::timestamp)::date, ${figures} from report_daily_totals
    where user_id = ${userId} and day >= greatest(${wholeTo}, ${wholeFrom}) and day <= ${last}`
}

/** The report's rows beside `me`, or one row of nulls with the date when there are none. */
const dated = (report: RawBuilder<unknown>, orderBy: RawBuilder<unknown>) => sql`
  select me.today::text as today, r.*
  from me left join (${report}) r on true
  order by ${orderBy}`

/**
 * From the report tables only (db/migrations/20261126210000_report_rollups.ts, 20261202110000_report_credits.ts,
 * 20261204100000_report_local_days.ts):
 * open balances per currency and due date (what is due: total − paid − credited), draft counts, and per-day and
 * per-month totals. `invoiced` is net: the totals issued less the credit notes issued in the period. A currency
 * appears when it has drafts, open invoices, or invoices or credit notes issued or payments received in the
 * period.
 */
export const summaryQuery = (scope: ReportScope, query: PeriodQuery) => {
  const today = sql`(select today from me)`
  return sql<WithToday<RawSummaryRow>>`
    with ${clock(scope)}, ${bounds(query)},
    open_invoices as (
      select currency,
             sum(amount_due) as outstanding,
             sum(amount_due) filter (where due_date < ${today}) as overdue,
             sum(invoices) as open,
             sum(invoices) filter (where due_date < ${today}) as overdue_count
      from report_open_balances
      where user_id = ${scope.userId}
      group by currency
    ), drafts as (
      select currency, drafts as draft
      from report_draft_counts
      where user_id = ${scope.userId} and drafts > 0
    ), period as (
      select currency, sum(invoiced) - sum(credited) as invoiced, sum(credited) as credited,
             sum(collected) as collected
      from (${periodTotals(scope.userId)}) facts
      group by currency
      having sum(issued) > 0 or sum(credit_notes) > 0 or sum(payments) > 0
    )
    ${dated(
      sql`select currency,
           coalesce(outstanding, 0)::bigint as outstanding, coalesce(overdue, 0)::bigint as overdue,
           coalesce(invoiced, 0)::bigint as invoiced, coalesce(credited, 0)::bigint as credited,
           coalesce(collected, 0)::bigint as collected,
           coalesce(draft, 0) as draft, coalesce(open, 0) as open, coalesce(overdue_count, 0) as overdue_count
        from open_invoices
        full join drafts using (currency)
        full join period using (currency)`,
      sql`r.currency`,
    )}`
}

export const agingQuery = (scope: ReportScope) => {
  const today = sql`(select today from me)`
  const due = (filter: RawBuilder<unknown>) =>
    sql`coalesce(sum(amount_due) filter (where ${filter}), 0)::bigint`
  return sql<WithToday<RawAgingRow>>`
    with ${clock(scope)}
    ${dated(
      sql`select currency,
           ${due(sql`due_date >= ${today}`)} as current,
           ${due(sql`due_date between ${today} - 30 and ${today} - 1`)} as days_1_30,
           ${due(sql`due_date between ${today} - 60 and ${today} - 31`)} as days_31_60,
           ${due(sql`due_date between ${today} - 90 and ${today} - 61`)} as days_61_90,
           ${due(sql`due_date < ${today} - 90`)} as days_over_90
        from report_open_balances
        where user_id = ${scope.userId}
        group by currency`,
      sql`r.currency`,
    )}`
}

/**
 * The months of the period with activity (its first and last month cut to the period), per currency;
 * `invoiced` net of the month's credit notes, `facts` how many invoices, credit notes and payments it counts.
 * revenueRows lays them out on every month of the period.
 */
export const revenueQuery = (scope: ReportScope, query: PeriodQuery) => sql<WithToday<RawRevenueRow>>`
  with ${clock(scope)}, ${bounds(query)}
  ${dated(
    sql`select to_char(month, 'YYYY-MM') as month, currency, sum(invoiced) - sum(credited) as invoiced,
           sum(credited) as credited, sum(collected) as collected,
           sum(issued) + sum(credit_notes) + sum(payments) as facts
        from (${periodTotals(scope.userId)}) facts
        group by month, currency`,
    sql`r.month, r.currency`,
  )}`

/**
 * The report statements, compiled once (precompiled): a report's database time is a fraction of a millisecond,
 * and building, compiling and guarding its SQL on every request cost the API more than that.
 */
type Args = 'userId' | 'now' | 'from' | 'to'
const scopeOfArgs = (arg: (name: Args) => string): ReportScope => ({
  userId: arg('userId'),
  now: arg('now') as unknown as Date,
})
const queryOfArgs = (arg: (name: Args) => string): PeriodQuery => ({ from: arg('from'), to: arg('to') })

const summaryStatement = precompiled<Args, WithToday<RawSummaryRow>>((db, arg) => ({
  compile: () => summaryQuery(scopeOfArgs(arg), queryOfArgs(arg)).compile(db),
}))
const agingStatement = precompiled<Args, WithToday<RawAgingRow>>((db, arg) => ({
  compile: () => agingQuery(scopeOfArgs(arg)).compile(db),
}))
const revenueStatement = precompiled<Args, WithToday<RawRevenueRow>>((db, arg) => ({
  compile: () => revenueQuery(scopeOfArgs(arg), queryOfArgs(arg)).compile(db),
}))

const argsOf = ({ userId, now }: ReportScope, query: PeriodQuery = {}) => ({
  userId,
  now,
  from: query.from ?? null,
  to: query.to ?? null,
})

/** The date and the rows with a currency; undefined when the user does not exist (no `me` row). */
function split<Row extends { currency: string }>(rows: WithToday<Row>[]): Dated<Row> | undefined {
  const first = rows[0]
  if (!first) return undefined
  return {
    today: first.today,
    rows: rows.filter((row): row is { today: string } & Row => row.currency !== null),
  }
}

export async function summaryRows(
  db: Database,
  scope: ReportScope,
  query: PeriodQuery,
): Promise<Dated<SummaryRow> | undefined> {
  const answer = split(await summaryStatement(db, argsOf(scope, query)))
  return (
    answer && {
      today: answer.today,
      rows: answer.rows.map((row) => ({
        currency: row.currency,
        outstanding: Number(row.outstanding),
        overdue: Number(row.overdue),
        invoiced: Number(row.invoiced),
        credited: Number(row.credited),
        collected: Number(row.collected),
        counts: { draft: Number(row.draft), open: Number(row.open), overdue: Number(row.overdue_count) },
      })),
    }
  )
}

export async function agingRows(db: Database, scope: ReportScope): Promise<AgingRow[] | undefined> {
  const answer = split(await agingStatement(db, argsOf(scope)))
  return answer?.rows.map((row) => ({
    currency: row.currency,
    buckets: {
      current: Number(row.current),
      '1-30': Number(row.days_1_30),
      '31-60': Number(row.days_31_60),
      '61-90': Number(row.days_61_90),
      '90+': Number(row.days_over_90),
    },
  }))
}

/** A month's sums per currency, as the statement found them: only months and currencies with activity. */
export type RevenueFound = RevenueRow & { facts: number }

export async function revenueRows(
  db: Database,
  scope: ReportScope,
  query: PeriodQuery,
): Promise<Dated<RevenueFound> | undefined> {
  const answer = split(await revenueStatement(db, argsOf(scope, query)))
  return (
    answer && {
      today: answer.today,
      rows: answer.rows.map((row) => ({
        month: row.month,
        currency: row.currency,
        invoiced: Number(row.invoiced),
        credited: Number(row.credited),
        collected: Number(row.collected),
        facts: Number(row.facts),
      })),
    }
  )
}
