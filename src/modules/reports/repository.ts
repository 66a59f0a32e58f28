import { type RawBuilder, sql } from 'kysely'
import type { Database } from '../../lib/db'
import type { AgingRow, RevenueRow, SummaryRow } from './model'
import type { Period } from './period'

/**
 * Whose invoices, and the clock they are read with: `today` is the date in the profile's time zone, and
 * `paid_at` instants are placed on calendar days in that zone.
 */
export interface ReportScope {
  userId: string
  timeZone: string
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
}

/**
 * What was issued, credited and collected in each span of calendar days `spans(k, first_day, last_day)` of the
 * profile's time zone, as rows `facts(k, currency, invoiced, issued, credited, credit_notes, collected, payments)`
 * to be summed. `invoiced` is gross (every issued invoice's total, credited ones included); the credit notes
 * issued in the span are `credited`.
 *
 * Issued invoices and credit notes count by their issue dates, which report_daily_totals keys its rows by. Payments count by the local
 * day of `paid_at`, and the table keeps them by UTC day: a local span [starts, ends) rarely begins or ends at a
 * UTC midnight, so its payments are read as the UTC days from `d1` to `d2` (each end moved to the UTC midnight
 * nearest to it) corrected by the payments between each end and that midnight, added where the span reaches
 * past the midnight and subtracted where the days do. At most twelve hours of payments per end come from the
 * payments index, the rest from the day totals, and the result is exact in any zone. A span with no room for
 * this (`ok` false: shorter than the time between the two midnights) is read from the payments alone.
 *
 * Each range of days (the issue dates of a span, its UTC days of payments) is read as its whole calendar months
 * from report_monthly_totals and the days before the first and after the last of them from report_daily_totals:
 * a year by months is a dozen rows per currency instead of 365.
 */
const periodFacts = ({ userId, timeZone }: ReportScope, spansCarryInstants = false) => sql`
  instants as (
    ${
      spansCarryInstants
        ? sql`select k, first_day, last_day, starts, ends from spans`
        : sql`select k, first_day, last_day, first_day::timestamp at time zone ${timeZone} as starts,
           (last_day + 1)::timestamp at time zone ${timeZone} as ends
    from spans`
    }
  ), utc_days as (
    -- UTC days as numbers of days since 1970-01-01: plain arithmetic, no time zone lookup per row.
    select k, first_day, last_day, starts, ends,
           date_part('epoch', starts) as s_epoch, date_part('epoch', ends) as e_epoch,
           floor(date_part('epoch', starts) / 86400) as fa, floor(date_part('epoch', ends) / 86400) as fb
    from instants
  ), nearest as (
    select k, first_day, last_day, starts, ends,
           case when s_epoch - fa * 86400 <= 43200 then fa else fa + 1 end as n1,
           case when e_epoch - fb * 86400 >= 43200 then fb + 1 else fb end as n2
    from utc_days
  ), moments as (
    select k, first_day, last_day, starts, ends,
           date '1970-01-01' + n1::integer as d1, date '1970-01-01' + n2::integer as d2,
           to_timestamp(n1 * 86400) as m1, to_timestamp(n2 * 86400) as m2
    from nearest
  ), edges as (
    select k, first_day, last_day, d1,
           case when ok then d2 else d1 end as d2,
           case when ok then least(starts, m1) else starts end as head_from,
           case when ok then greatest(starts, m1) else ends end as head_to,
           case when ok and m1 < starts then -1 else 1 end as head_sign,
           case when ok then least(ends, m2) else ends end as tail_from,
           case when ok then greatest(ends, m2) else ends end as tail_to,
           case when m2 < ends then 1 else -1 end as tail_sign
    from (select *, d1 <= d2 and m1 <= ends and starts <= m2 as ok from moments) m
  ), ranges as (
    select k, true as by_issue, first_day as lo, last_day + 1 as hi from edges
    union all
    select k, false, d1, d2 from edges
  ), split as (
    select k, by_issue, lo, hi,
           case when lo = date_trunc('month', lo::timestamp)::date then lo
                else (date_trunc('month', lo::timestamp) + interval '1 month')::date end as m_lo,
           date_trunc('month', hi::timestamp)::date as m_hi
    from ranges
    where lo < hi
  ), pieces as (
    select k, by_issue, true as by_month, m_lo as lo, m_hi as hi from split where m_lo < m_hi
    union all
    select k, by_issue, false, lo, case when m_lo < m_hi then m_lo else hi end from split
    union all
    select k, by_issue, false, m_hi, hi from split where m_lo < m_hi
  ), sums as (
    select p.k, p.by_issue, t.currency, t.invoiced, t.issued, t.credited, t.credit_notes, t.collected, t.payments
    from pieces p
    cross join lateral (
      select currency, invoiced, issued, credited, credit_notes, collected, payments from report_monthly_totals
      where p.by_month and user_id = ${userId} and month >= p.lo and month < p.hi
      union all
      select currency, invoiced, issued, credited, credit_notes, collected, payments from report_daily_totals
      where not p.by_month and user_id = ${userId} and day >= p.lo and day < p.hi
    ) t
    where p.lo < p.hi
  ), facts as (
    select k, currency,
           case when by_issue then invoiced else 0 end as invoiced,
           case when by_issue then issued else 0 end as issued,
           case when by_issue then credited else 0 end as credited,
           case when by_issue then credit_notes else 0 end as credit_notes,
           case when by_issue then 0 else collected end as collected,
           case when by_issue then 0 else payments end as payments
    from sums
    union all
    select e.k, p.currency, 0, 0, 0, 0, e.head_sign * p.amount, e.head_sign
    from edges e
    join payments p on p.user_id = ${userId} and p.paid_at >= e.head_from and p.paid_at < e.head_to
    union all
    select e.k, p.currency, 0, 0, 0, 0, e.tail_sign * p.amount, e.tail_sign
    from edges e
    join payments p on p.user_id = ${userId} and p.paid_at >= e.tail_from and p.paid_at < e.tail_to
  )`

/**
 * From the report tables only (db/migrations/20261126210000_report_rollups.ts, 20261202110000_report_credits.ts):
 * open balances per currency and due date (what is due: total − paid − credited), draft counts, and per-day and
 * per-month totals. `invoiced` is net: the totals issued less the credit notes issued in the period. A currency
 * appears when it has drafts, open invoices, or invoices or credit notes issued or payments received in the
 * period.
 */
export const summaryQuery = (scope: ReportScope, period: Period) => {
  const today = sql`cast(${scope.today} as date)`
  return sql<RawSummaryRow>`
    with spans (k, first_day, last_day) as (values (1, cast(${period.from} as date), cast(${period.to} as date))),
    ${periodFacts(scope)},
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
      from facts
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
 * Every month of the period (its first and last month cut to the period) for every currency with activity in
 * the period; `invoiced` net of the month's credit notes.
 */
export const revenueQuery = (scope: ReportScope, months: readonly MonthSpan[]) => sql<RawRevenueRow>`
  with spans (k, first_day, last_day, starts, ends) as (
    select * from unnest(
      cast(${literalArray(months.map((m) => m.month))} as date[]),
      cast(${literalArray(months.map((m) => m.first))} as date[]),
      cast(${literalArray(months.map((m) => m.last))} as date[]),
      cast(${literalArray(months.map((m) => m.starts))} as timestamptz[]),
      cast(${literalArray(months.map((m) => m.ends))} as timestamptz[])
    )
  ),
  ${periodFacts(scope, true)},
  totals as (
    select k as month, currency, sum(invoiced) - sum(credited) as invoiced, sum(credited) as credited,
           sum(collected) as collected, sum(issued) + sum(credit_notes) + sum(payments) as facts
    from facts
    group by k, currency
  )
  select to_char(s.k, 'YYYY-MM') as month, c.currency,
         coalesce(t.invoiced, 0)::bigint as invoiced, coalesce(t.credited, 0)::bigint as credited,
         coalesce(t.collected, 0)::bigint as collected
  from spans s
  cross join (select distinct currency from totals where facts > 0) c
  left join totals t on t.month = s.k and t.currency = c.currency
  order by s.k, c.currency`

/** The profile's IANA time zone: the only part of the profile a report reads. */
export async function profileTimeZone(db: Database, userId: string): Promise<string | undefined> {
  const row = await db.selectFrom('users').select('timezone').where('id', '=', userId).executeTakeFirst()
  return row?.timezone
}

export async function summaryRows(db: Database, scope: ReportScope, period: Period): Promise<SummaryRow[]> {
  const { rows } = await summaryQuery(scope, period).execute(db)
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
  const { rows } = await agingQuery(scope).execute(db)
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

/** A month of a revenue period: the part inside the period, and its first and last instants in the time zone. */
export interface MonthSpan {
  month: string
  first: string
  last: string
  starts: string
  ends: string
}

/**
 * The months of a period with the instants their days begin and end in a time zone, computed by PostgreSQL's own
 * time zone rules (a local midnight that does not exist or happens twice resolves as it does everywhere else in
 * the reports). Answers the same for the same zone and period, so revenueRows caches them: the conversions cost
 * a third of the revenue query's time when they ran inside it for every request (docs/reports-explain.md).
 */
export const monthSpansQuery = (timeZone: string, period: Period) => sql<MonthSpan>`
  select to_char(month, 'YYYY-MM-DD') as month, first_day::text as first, last_day::text as last,
         to_char(first_day::timestamp at time zone ${timeZone} at time zone 'UTC', ${UTC_INSTANT}) as starts,
         to_char((last_day + 1)::timestamp at time zone ${timeZone} at time zone 'UTC', ${UTC_INSTANT}) as ends
  from (
    select m.month,
           greatest(m.month::date, cast(${period.from} as date)) as first_day,
           least((m.month + interval '1 month')::date - 1, cast(${period.to} as date)) as last_day
    from generate_series(
           date_trunc('month', cast(${period.from} as date)::timestamp),
           date_trunc('month', cast(${period.to} as date)::timestamp),
           interval '1 month'
         ) as m(month)
  ) months
  order by month`

const UTC_INSTANT = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'

/** An array literal of values that need no quoting (dates, UTC instants). */
const literalArray = (values: readonly string[]) => `{${values.join(',')}}`

/** Month spans by `zone|from|to`, least recently used dropped past MONTH_SPANS_CACHED. */
const monthSpansCache = new Map<string, readonly MonthSpan[]>()
const MONTH_SPANS_CACHED = 1_000

async function monthSpans(db: Database, timeZone: string, period: Period): Promise<readonly MonthSpan[]> {
  const key = `${timeZone}|${period.from}|${period.to}`
  const cached = monthSpansCache.get(key)
  if (cached) {
    monthSpansCache.delete(key)
    monthSpansCache.set(key, cached)
    return cached
  }
  const { rows } = await monthSpansQuery(timeZone, period).execute(db)
  monthSpansCache.set(key, rows)
  if (monthSpansCache.size > MONTH_SPANS_CACHED) {
    monthSpansCache.delete(monthSpansCache.keys().next().value as string)
  }
  return rows
}

export async function revenueRows(db: Database, scope: ReportScope, period: Period): Promise<RevenueRow[]> {
  const { rows } = await revenueQuery(scope, await monthSpans(db, scope.timeZone, period)).execute(db)
  return rows.map((row) => ({
    month: row.month,
    currency: row.currency,
    invoiced: Number(row.invoiced),
    credited: Number(row.credited),
    collected: Number(row.collected),
  }))
}
