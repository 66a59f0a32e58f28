import { AppError, type ErrorDetail } from '../../shared/errors'
import type { PeriodQuery } from './model'

/** Calendar dates are `YYYY-MM-DD` strings throughout, so they compare and sort as strings. */
export interface Period {
  from: string
  to: string
}

/** PostgreSQL has no year 0, which the `date` format lets through. */
const FIRST_DATE = '0001-01-01'

const formats = new Map<string, Intl.DateTimeFormat>()

function formatFor(timeZone: string): Intl.DateTimeFormat {
  let format = formats.get(timeZone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
    formats.set(timeZone, format)
  }
  return format
}

/** The calendar date that `now` falls on in an IANA time zone. */
export function dateIn(timeZone: string, now: Date): string {
  const parts = formatFor(timeZone).formatToParts(now)
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)!.value
  return `${part('year').padStart(4, '0')}-${part('month')}-${part('day')}`
}

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

/**
 * `to` defaults to today and `from` to January 1 of `to`'s year: no parameters means the year to date.
 * An error names the parameter that was sent, since the other one is a default.
 */
export function resolvePeriod(query: PeriodQuery, today: string, maxMonths = Infinity): Period {
  for (const key of ['from', 'to'] as const) {
    const value = query[key]
    if (value !== undefined && value < FIRST_DATE) {
      throw invalid({ path: `/query/${key}`, message: `must be ${FIRST_DATE} or later` })
    }
  }
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
