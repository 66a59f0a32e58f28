import type { Address } from './types.ts'

export const DEFAULT_LOCALE = 'en-US'

const cache = new Map<string, unknown>()

function cached<T>(key: string, make: () => T): T {
  let value = cache.get(key) as T | undefined
  if (value === undefined) {
    value = make()
    cache.set(key, value)
  }
  return value
}

const decimalFormat = (locale: string) =>
  cached(`decimal|${locale}`, () => new Intl.NumberFormat(locale, { maximumFractionDigits: 3 }))

const dateFormat = (locale: string) =>
  cached(`date|${locale}`, () => new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' }))

const regionNames = (locale: string) =>
  cached(`region|${locale}`, () => new Intl.DisplayNames(locale, { type: 'region', fallback: 'code' }))

export { formatMoney } from '../../shared/money.ts'

/** 1.5 → "1.5", 3 → "3", 0.125 → "0.125". */
export function formatQuantity(quantity: number, locale = DEFAULT_LOCALE): string {
  return decimalFormat(locale).format(quantity)
}

/** 19 → "19%", 7.25 → "7.25%". */
export function formatPercent(rate: number, locale = DEFAULT_LOCALE): string {
  return `${decimalFormat(locale).format(rate)}%`
}

/** A calendar date "2026-01-15" → "Jan 15, 2026", never shifted by a time zone. */
export function formatDate(isoDate: string, locale = DEFAULT_LOCALE): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate)
  if (!match) return isoDate
  const [, year, month, day] = match
  return dateFormat(locale).format(new Date(Date.UTC(Number(year), Number(month) - 1, Number(day))))
}

function countryName(code: string, locale: string): string {
  if (!/^[A-Za-z]{2}$/.test(code)) return code
  try {
    return regionNames(locale).of(code.toUpperCase()) ?? code
  } catch {
    return code
  }
}

const joinPresent = (parts: (string | null)[], separator: string) =>
  parts
    .map((part) => part?.trim())
    .filter(Boolean)
    .join(separator)

/** Postal address as display lines; empty parts are left out. */
export function addressLines(address: Address | null, locale = DEFAULT_LOCALE): string[] {
  if (!address) return []
  const place = joinPresent([joinPresent([address.postalCode, address.city], ' '), address.region], ', ')
  const country = address.country?.trim() ? countryName(address.country.trim(), locale) : null
  return [address.line1, address.line2, place, country].map((line) => line?.trim() ?? '').filter(Boolean)
}
