import type { Database } from '../../lib/db'
import { notFound } from '../../shared/errors'
import {
  type AgingRow,
  MAX_REVENUE_MONTHS,
  type PeriodQuery,
  type RevenueRow,
  type SummaryRow,
} from './model'
import { dateIn, resolvePeriod } from './period'
import { agingRows, profileTimeZone, type ReportScope, revenueRows, summaryRows } from './repository'

/** The user's profile time zone, and today's date in it at `now`. */
async function scopeOf(db: Database, userId: string, now: Date): Promise<ReportScope> {
  const timeZone = await profileTimeZone(db, userId)
  if (timeZone === undefined) throw notFound('User')
  return { userId, today: dateIn(timeZone, now) }
}

export async function summaryReport(
  db: Database,
  userId: string,
  query: PeriodQuery,
  now = new Date(),
): Promise<SummaryRow[]> {
  const scope = await scopeOf(db, userId, now)
  return summaryRows(db, scope, resolvePeriod(query, scope.today))
}

export async function agingReport(db: Database, userId: string, now = new Date()): Promise<AgingRow[]> {
  return agingRows(db, await scopeOf(db, userId, now))
}

export async function revenueReport(
  db: Database,
  userId: string,
  query: PeriodQuery,
  now = new Date(),
): Promise<RevenueRow[]> {
  const scope = await scopeOf(db, userId, now)
  return revenueRows(db, scope, resolvePeriod(query, scope.today, MAX_REVENUE_MONTHS))
}
