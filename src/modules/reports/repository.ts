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
  collected: Int8Text
}

// Statuses are literals, never parameters, so that generic plans still match the partial indexes.

/**
 * Payments from 00:00 of `from` to the end of `to` in the profile's time zone. Each carries its invoice's
 * currency, and only issued invoices take payments (a void one never had any), so no invoice is read.
 */
const paymentsIn = ({ userId, timeZone }: ReportScope, { from, to }: Period) => sql`payments p
  where p.user_id = ${userId}
    and p.paid_at >= (cast(${from} as date)::timestamp at time zone ${timeZone})
    and p.paid_at < ((cast(${to} as date) + 1)::timestamp at time zone ${timeZone})`

/** Invoices issued (neither draft nor void) on a day of the period. */
const issuedIn = ({ userId }: ReportScope, { from, to }: Period) => sql`invoices
  where user_id = ${userId} and status in ('sent', 'partially_paid', 'paid')
    and issue_date between cast(${from} as date) and cast(${to} as date)`

export const summaryQuery = (scope: ReportScope, period: Period) => {
  const today = sql`cast(${scope.today} as date)`
  return sql<RawSummaryRow>`
    with open_invoices as (
      select currency,
             sum(total - amount_paid) as outstanding,
             sum(total - amount_paid) filter (where due_date < ${today}) as overdue,
             count(*) as open,
             count(*) filter (where due_date < ${today}) as overdue_count
      from invoices
      where user_id = ${scope.userId} and status in ('sent', 'partially_paid')
      group by currency
    ), drafts as (
      select currency, count(*) as draft
      from invoices
      where user_id = ${scope.userId} and status = 'draft'
      group by currency
    ), invoiced as (
      select currency, sum(total) as invoiced from ${issuedIn(scope, period)} group by currency
    ), collected as (
      select p.currency, sum(p.amount) as collected from ${paymentsIn(scope, period)} group by p.currency
    )
    select currency,
           coalesce(outstanding, 0)::bigint as outstanding, coalesce(overdue, 0)::bigint as overdue,
           coalesce(invoiced, 0)::bigint as invoiced, coalesce(collected, 0)::bigint as collected,
           coalesce(draft, 0) as draft, coalesce(open, 0) as open, coalesce(overdue_count, 0) as overdue_count
    from open_invoices
    full join drafts using (currency)
    full join invoiced using (currency)
    full join collected using (currency)
    order by currency`
}

export const agingQuery = (scope: ReportScope) => {
  const today = sql`cast(${scope.today} as date)`
  const due = (filter: RawBuilder<unknown>) =>
    sql`coalesce(sum(total - amount_paid) filter (where ${filter}), 0)::bigint`
  return sql<RawAgingRow>`
    select currency,
           ${due(sql`due_date >= ${today}`)} as current,
           ${due(sql`due_date between ${today} - 30 and ${today} - 1`)} as days_1_30,
           ${due(sql`due_date between ${today} - 60 and ${today} - 31`)} as days_31_60,
           ${due(sql`due_date between ${today} - 90 and ${today} - 61`)} as days_61_90,
           ${due(sql`due_date < ${today} - 90`)} as days_over_90
    from invoices
    where user_id = ${scope.userId} and status in ('sent', 'partially_paid')
    group by currency
    order by currency`
}

/**
 * Every month of the period for every currency with activity in it. Facts are summed per currency and month
 * before the grid of months × currencies is laid over them: a grid joined first is estimated at millions of
 * rows, and planned (and costed) accordingly.
 */
export const revenueQuery = (scope: ReportScope, period: Period) => sql<RawRevenueRow>`
  with facts as (
    select currency, date_trunc('month', issue_date::timestamp) as month,
           total as invoiced, 0::bigint as collected
    from ${issuedIn(scope, period)}
    union all
    select p.currency, date_trunc('month', p.paid_at at time zone ${scope.timeZone}), 0, p.amount
    from ${paymentsIn(scope, period)}
  ), totals as (
    select currency, month, sum(invoiced) as invoiced, sum(collected) as collected
    from facts
    group by currency, month
  )
  select to_char(m.month, 'YYYY-MM') as month, c.currency,
         coalesce(t.invoiced, 0)::bigint as invoiced, coalesce(t.collected, 0)::bigint as collected
  from generate_series(
         date_trunc('month', cast(${period.from} as date)::timestamp),
         date_trunc('month', cast(${period.to} as date)::timestamp),
         interval '1 month'
       ) as m(month)
  cross join (select distinct currency from totals) c
  left join totals t on t.month = m.month and t.currency = c.currency
  order by m.month, c.currency`

/**
 * Runs a report planned for its own parameters, and without JIT. Statements are prepared, and after a few
 * runs PostgreSQL may settle on a generic plan, which guesses that any period holds a handful of payments
 * and looks their invoices up one by one: two to three times slower at 100,000 invoices. Past
 * `jit_above_cost`, which a few hundred thousand invoices reach, compiling would take longer than running.
 * Measurements: docs/reports-explain.md.
 */
async function planned<T>(db: Database, query: RawBuilder<T>): Promise<T[]> {
  return db.transaction().execute(async (trx) => {
    await sql`select set_config('plan_cache_mode', 'force_custom_plan', true), set_config('jit', 'off', true)`.execute(
      trx,
    )
    return (await query.execute(trx)).rows
  })
}

export async function summaryRows(db: Database, scope: ReportScope, period: Period): Promise<SummaryRow[]> {
  const rows = await planned(db, summaryQuery(scope, period))
  return rows.map((row) => ({
    currency: row.currency,
    outstanding: Number(row.outstanding),
    overdue: Number(row.overdue),
    invoiced: Number(row.invoiced),
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

export async function revenueRows(db: Database, scope: ReportScope, period: Period): Promise<RevenueRow[]> {
  const rows = await planned(db, revenueQuery(scope, period))
  return rows.map((row) => ({
    month: row.month,
    currency: row.currency,
    invoiced: Number(row.invoiced),
    collected: Number(row.collected),
  }))
}
