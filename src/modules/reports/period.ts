import { AppError, type ErrorDetail } from '../../shared/errors'
import type { PeriodQuery } from './model'

/** Calendar dates are `YYYY-MM-DD` strings throughout, so they compare and sort as strings. */
export interface Period {
  from: string
  to: string
}

/** PostgreSQL has no year 0, which the `date` format lets through. */
const FIRST_DATE = '0001-01-01'

/** How many calendar months the period touches, both ends included. */
export function monthsSpanned({ from, to }: Period): number {
  const index = (date: string) => Number(date.slice(0, 4)) * 12 + Number(date.slice(5, 7))
  return index(to) - index(from) + 1
}

/** The months the period touches, as `YYYY-MM`, in order. */
export function monthsOf({ from, to }: Period): string[] {
  const first = Number(from.slice(0, 4)) * 12 + Number(from.slice(5, 7)) - 1
  return Array.from({ length: monthsSpanned({ from, to }) }, (_, i) => {
    const index = first + i
    return `${String(Math.floor(index / 12)).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`
  })
}

const invalid = (detail: ErrorDetail) =>
  new AppError('VALIDATION_ERROR', 'Request validation failed', { details: [detail] })

function checkFirstDate(query: PeriodQuery): void {
  for (const key of ['from', 'to'] as const) {
    const value = query[key]
    if (value !== undefined && value < FIRST_DATE) {
      throw invalid({ path: `/query/${key}`, message: `must be ${FIRST_DATE} or later` })
    }
  }
}

/**
 * The checks of resolvePeriod that need no clock, made before a report reads anything: with `to` given, all of
 * them (today is only ever `to`'s default); without it, those of `from` alone.
 */
export function precheckPeriod(query: PeriodQuery, maxMonths = Infinity): void {
  if (query.to === undefined) checkFirstDate(query)
  else resolvePeriod(query, query.to, maxMonths)
}

/**
 * `to` defaults to today and `from` to January 1 of `to`'s year: no parameters means the year to date.
 * An error names the parameter that was sent, since the other one is a default.
 */
export function resolvePeriod(query: PeriodQuery, today: string, maxMonths = Infinity): Period {
  checkFirstDate(query)
  const to = query.to ?? today
  const period = { from: query.from ?? `${to.slice(0, 4)}-01-01`, to }
  if (period.to < period.from) {
    throw invalid(
      query.to === undefined
        ? {
            path: '/query/from',
            message: `must not be after today (${today} in the profile's time zone), the default of to`,
          }
        : { path: '/query/to', message: 'must not be before from' },
    )
  }
  const months = monthsSpanned(period)
  if (months > maxMonths) {
    throw invalid({
      path: query.to === undefined ? '/query/from' : '/query/to',
      message: `the period spans ${months} calendar months; at most ${maxMonths} are allowed`,
    })
  }
  return period
}
