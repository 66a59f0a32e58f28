/** Calendar dates are `YYYY-MM-DD` strings throughout: never a Date, so no time zone can shift them. */

const CALENDAR_DATE = /^(\d{4})-(\d{2})-(\d{2})$/

export function isCalendarDate(value: string): boolean {
  const match = CALENDAR_DATE.exec(value)
  if (!match) return false
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  if (year < 1900 || year > 9999 || month < 1 || month > 12 || day < 1) return false
  return day <= daysInMonth(year, month)
}

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/
const MAX_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

/**
 * A timestamp a client sent, strictly RFC 3339 (section 5.6): a real calendar date and time of day, `Z` or a
 * numeric offset, years 1970–9999; undefined otherwise. Fractions finer than a millisecond are cut, which is
 * the precision stored and answered. `Date.parse` accepts far more (`01/02/2026`, local times, `2026-02-30`
 * rolled into March) and maps years below 100 to the 1900s.
 */
export function parseTimestamp(value: string): Date | undefined {
  const match = TIMESTAMP.exec(value)
  if (!match) return undefined
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  let offsetMinutes = 0
  if (!match[8]) {
    const [offsetHours, offsetMins] = [Number(match[10]), Number(match[11])]
    if (offsetHours > 23 || offsetMins > 59) return undefined
    offsetMinutes = (match[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins)
  }
  const millis = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3))
  const instant = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000
  if (instant < 0 || instant > MAX_INSTANT) return undefined
  return new Date(instant)
}

export const isTimestamp = (value: string) => parseTimestamp(value) !== undefined

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!
}

const formatters = new Map<string, Intl.DateTimeFormat>()

/** Today's date where the user is: the profile's IANA time zone decides when a day begins. */
export function todayIn(timeZone: string, now: Date = new Date()): string {
  let format = formatters.get(timeZone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
    formatters.set(timeZone, format)
  }
  return format.format(now)
}

export function addDays(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number]
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10)
}
