import type { Database } from '../../lib/db'
import { notFound } from '../../shared/errors'
import {
  type AgingRow,
  MAX_REVENUE_MONTHS,
  type PeriodQuery,
  type RevenueRow,
  type SummaryRow,
} from './model'
import { monthsOf, precheckPeriod, resolvePeriod } from './period'
import { agingRows, type Dated, type RevenueFound, revenueRows, summaryRows } from './repository'

/**
 * A report is one statement that also answers the profile's date; the checks of the period that need that date
 * (`from` after today with no `to`, a default period too long) run on its answer, and the rows are dropped then.
 */
function found<Row>(answer: Dated<Row> | undefined): Dated<Row> {
  if (!answer) throw notFound('User')
  return answer
}

export async function summaryReport(
  db: Database,
  userId: string,
  query: PeriodQuery,
  now = new Date(),
): Promise<SummaryRow[]> {
  precheckPeriod(query)
  const { today, rows } = found(await summaryRows(db, { userId, now }, query))
  resolvePeriod(query, today)
  return rows
}

export async function agingReport(db: Database, userId: string, now = new Date()): Promise<AgingRow[]> {
  const rows = await agingRows(db, { userId, now })
  if (!rows) throw notFound('User')
  return rows
}

export async function revenueReport(
  db: Database,
  userId: string,
  query: PeriodQuery,
  now = new Date(),
): Promise<RevenueRow[]> {
  precheckPeriod(query, MAX_REVENUE_MONTHS)
  const { today, rows } = found(await revenueRows(db, { userId, now }, query))
  return layOut(monthsOf(resolvePeriod(query, today, MAX_REVENUE_MONTHS)), rows)
}

/**
 * Every month of the period for every currency with activity in the period, in order of month and currency;
 * the months and currencies without any are zeros.
 */
function layOut(months: readonly string[], rows: readonly RevenueFound[]): RevenueRow[] {
  const byKey = new Map(rows.map((row) => [`${row.month} ${row.currency}`, row]))
  const currencies = [...new Set(rows.filter((row) => row.facts > 0).map((row) => row.currency))].sort()
  return months.flatMap((month) =>
    currencies.map((currency) => {
      const row = byKey.get(`${month} ${currency}`)
      return {
        month,
        currency,
        invoiced: row?.invoiced ?? 0,
        credited: row?.credited ?? 0,
        collected: row?.collected ?? 0,
      }
    }),
  )
}
