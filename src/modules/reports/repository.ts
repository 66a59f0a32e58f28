import { type RawBuilder, sql } from 'kysely'
import type { Database } from '../../lib/db'
import { precompiled } from '../../lib/precompiled'
import type { AgingRow, RevenueRow, SummaryRow } from './model'
import { monthsOf, type Period } from './period'

/**
 * Whose invoices, and the day it is: `today` is the date in the profile's time zone (overdue and aging count
 * from it). The report tables already keep every fact on the profile's local day, so no query needs the zone.
 */
export interface ReportScope {
  userId: string
  today: string
}

/** Sums and counts arrive as int8 text; amounts in minor units stay far below 2^53. */
type Int8Text = string

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
 * The report-table rows of a period, `(month, currency, invoiced, issued, credited, credit_notes, collected,
 * payments)` to be summed: its whole calendar months from report_monthly_totals, the days before the first of them
 * and after the last from report_daily_totals (`month` the first day of the day's month). Every row of those tables
 * is a local day of the profile's zone, issue dates and payments alike
 * (db/migrations/20261204100000_report_local_days.ts), so a period is three index range scans: a year is a dozen
 * rows per currency instead of 365, and no instant or time zone enters the query.
 *
 * The period's days are [from, wholeFrom) ∪ [wholeFrom, wholeTo) ∪ [wholeTo, to]: `wholeFrom` is the first day of
 * the first month that starts inside the period, `wholeTo` the first day of the month that `to + 1` falls in.
 * Without a whole month (wholeTo ≤ wholeFrom) the first range runs to `to` and the last is empty. `day::timestamp`:
 * date_trunc of a bare date would go through timestamptz and the session's zone.
 */
const periodTotals = (userId: string, { from, to }: Period) => {
  const first = sql`cast(${from} as date)`
  const last = sql`cast(${to} as date)`
  const wholeFrom = sql`(case when extract(day from ${first}) = 1 then ${first}
    else (date_trunc('month', ${first}::timestamp) + interval '1 month')::date end)`
  const wholeTo = sql`date_trunc('month', (${last} + 1)::timestamp)::date`
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

/**
 * From the report tables only (db/migrations/20261126210000_report_rollups.ts, 20261202110000_report_credits.ts,
 * 20261204100000_report_local_days.ts):
 * open balances per currency and due date (what is due: total − paid − credited), draft counts, and per-day and
 * per-month totals. `invoiced` is net: the totals issued less the credit notes issued in the period. A currency
 * appears when it has drafts, open invoices, or invoices or credit notes issued or payments received in the
 * period.
 */
export const summaryQuery = (scope: ReportScope, period: Period) => {
  const today = sql`cast(${scope.today} as date)`
  return sql<RawSummaryRow>`
    with open_invoices as (
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
      from (${periodTotals(scope.userId, period)}) facts
      group by currency
      having sum(issued) > 0 or sum(credit_notes) > 0 or sum(payments) > 0
    )
    select currency,
           coalesce(outstanding, 0)::bigint as outstanding, coalesce(overdue, 0)::bigint as overdue,
           coalesce(invoiced, 0)::bigint as invoiced, coalesce(credited, 0)::bigint as credited,
           coalesce(collected, 0)::bigint as collected,
           coalesce(draft, 0) as draft, coalesce(open, 0) as open, coalesce(overdue_count, 0) as overdue_count
    from open_invoices
    full join drafts using (currency)
    full join period using (currency)
    order by currency`
}

export const agingQuery = (scope: ReportScope) => {
  const today = sql`cast(${scope.today} as date)`
  const due = (filter: RawBuilder<unknown>) =>
    sql`coalesce(sum(amount_due) filter (where ${filter}), 0)::bigint`
  return sql<RawAgingRow>`
    select currency,
           ${due(sql`due_date >= ${today}`)} as current,
           ${due(sql`due_date between ${today} - 30 and ${today} - 1`)} as days_1_30,
           ${due(sql`due_date between ${today} - 60 and ${today} - 31`)} as days_31_60,
           ${due(sql`due_date between ${today} - 90 and ${today} - 61`)} as days_61_90,
           ${due(sql`due_date < ${today} - 90`)} as days_over_90
    from report_open_balances
    where user_id = ${scope.userId}
    group by currency
    order by currency`
}

/**
 * The months of the period with activity (its first and last month cut to the period), per currency;
 * `invoiced` net of the month's credit notes, `facts` how many invoices, credit notes and payments it counts.
 * revenueRows lays them out on every month of the period.
 */
export const revenueQuery = (scope: ReportScope, period: Period) => sql<RawRevenueRow>`
  select to_char(month, 'YYYY-MM') as month, currency, sum(invoiced) - sum(credited) as invoiced,
         sum(credited) as credited, sum(collected) as collected,
         sum(issued) + sum(credit_notes) + sum(payments) as facts
  from (${periodTotals(scope.userId, period)}) facts
  group by month, currency`

/**
 * The report statements, compiled once (precompiled): a report's database time is a fraction of a millisecond,
 * and building, compiling and guarding its SQL on every request cost the API more than that.
 */
type PeriodArgs = 'userId' | 'today' | 'from' | 'to'
const scopeOfArgs = (arg: (name: PeriodArgs) => string): ReportScope => ({
  userId: arg('userId'),
  today: arg('today'),
})
const periodOfArgs = (arg: (name: PeriodArgs) => string): Period => ({ from: arg('from'), to: arg('to') })

const timeZoneStatement = precompiled<'userId', { timezone: string }>((db, arg) =>
  db.selectFrom('users').select('timezone').where('id', '=', arg('userId')),
)
const summaryStatement = precompiled<PeriodArgs, RawSummaryRow>((db, arg) => ({
  compile: () => summaryQuery(scopeOfArgs(arg), periodOfArgs(arg)).compile(db),
}))
const agingStatement = precompiled<PeriodArgs, RawAgingRow>((db, arg) => ({
  compile: () => agingQuery(scopeOfArgs(arg)).compile(db),
}))
const revenueStatement = precompiled<PeriodArgs, RawRevenueRow>((db, arg) => ({
  compile: () => revenueQuery(scopeOfArgs(arg), periodOfArgs(arg)).compile(db),
}))

const argsOf = ({ userId, today }: ReportScope, period?: Period) => ({
  userId,
  today,
  from: period?.from,
  to: period?.to,
})

/** The profile's IANA time zone: the only part of the profile a report reads. */
export async function profileTimeZone(db: Database, userId: string): Promise<string | undefined> {
  return (await timeZoneStatement(db, { userId }))[0]?.timezone
}

export async function summaryRows(db: Database, scope: ReportScope, period: Period): Promise<SummaryRow[]> {
  const rows = await summaryStatement(db, argsOf(scope, period))
  return rows.map((row) => ({
    currency: row.currency,
    outstanding: Number(row.outstanding),
    overdue: Number(row.overdue),
    invoiced: Number(row.invoiced),
    credited: Number(row.credited),
    collected: Number(row.collected),
    counts: { draft: Number(row.draft), open: Number(row.open), overdue: Number(row.overdue_count) },
  }))
}

export async function agingRows(db: Database, scope: ReportScope): Promise<AgingRow[]> {
  const rows = await agingStatement(db, argsOf(scope))
  return rows.map((row) => ({
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

/**
 * Every month of the period for every currency with activity in the period, in order of month and currency;
 * the months and currencies without any are zeros.
 */
export async function revenueRows(db: Database, scope: ReportScope, period: Period): Promise<RevenueRow[]> {
  const rows = await revenueStatement(db, argsOf(scope, period))
  const found = new Map(rows.map((row) => [`${row.month} ${row.currency}`, row]))
  const currencies = [
    ...new Set(rows.filter((row) => Number(row.facts) > 0).map((row) => row.currency)),
  ].sort()
  return monthsOf(period).flatMap((month) =>
    currencies.map((currency) => {
      const row = found.get(`${month} ${currency}`)
      return {
        month,
        currency,
        invoiced: Number(row?.invoiced ?? 0),
        credited: Number(row?.credited ?? 0),
        collected: Number(row?.collected ?? 0),
      }
    }),
  )
}
