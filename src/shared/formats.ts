import { FormatRegistry } from '@sinclair/typebox'
import { fullFormats } from 'elysia/type-system/format'
import { isCalendarDate, isTimestamp } from './dates'
import { isActiveCurrency } from './money'

const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' })
const zones = new Set(Intl.supportedValuesOf('timeZone'))

/** User-assigned (AA, QM–QZ, XA–XZ but XK, Kosovo's code in common use, ZZ) and exceptionally reserved (EU, EZ, UN) codes: no country. */
const NOT_A_COUNTRY = /^(AA|Q[M-Z]|X[A-JL-Z]|ZZ|EU|EZ|UN)$/

export function isCountryCode(value: string): boolean {
  if (!/^[A-Z]{2}$/.test(value) || NOT_A_COUNTRY.test(value)) return false
  try {
    return regionNames.of(value) !== value
  } catch {
    return false
  }
}

export function isTimeZone(value: string): boolean {
  if (value === 'UTC' || zones.has(value)) return true
  try {
    new Intl.DateTimeFormat('en', { timeZone: value })
    return /^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(value)
  } catch {
    return false
  }
}

/**
 * A BCP 47 language tag that the runtime can format with: canonical as written (`en-US`, not `en_us`) and
 * supported by Intl, so that amounts and dates never silently fall back to another language.
 */
export function isLocale(value: string): boolean {
  if (!/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(value)) return false
  try {
    const [canonical] = Intl.getCanonicalLocales(value)
    return canonical === value && Intl.NumberFormat.supportedLocalesOf([value]).length === 1
  } catch {
    return false
  }
}

/** ISO 13616 IBAN: country, check digits, 11–30 alphanumerics, and the mod-97 check (written without spaces). */
export function isIban(value: string): boolean {
  if (!/^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$/.test(value) || !isCountryCode(value.slice(0, 2))) return false
  const digits = (value.slice(4) + value.slice(0, 4)).replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55))
  let remainder = 0
  for (const digit of digits) remainder = (remainder * 10 + Number(digit)) % 97
  return remainder === 1
}

/** A UN/ECE Recommendation 20 unit code: two or three upper-case letters or digits (`C62`, `HUR`, `KGM`). */
export function isUnitCode(value: string): boolean {
  return /^[A-Z0-9]{2,3}$/.test(value)
}

/** ISO 9362 BIC: bank, country, location and optional branch (8 or 11 characters). */
export function isBic(value: string): boolean {
  return /^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/.test(value) && isCountryCode(value.slice(4, 6))
}

/**
 * Formats the schemas name, so validation, error details and the OpenAPI document come from one place.
 * Registered once at import.
 */
FormatRegistry.Set('iso-4217', isActiveCurrency)
FormatRegistry.Set('iso-3166-alpha-2', isCountryCode)
FormatRegistry.Set('iana-time-zone', isTimeZone)
FormatRegistry.Set('calendar-date', isCalendarDate)
FormatRegistry.Set('date-time', isTimestamp)
FormatRegistry.Set('http-url', isHttpUrl)
FormatRegistry.Set('bcp47-locale', isLocale)
FormatRegistry.Set('iban', isIban)
// Not 'bic': @elysiajs/openapi registers its own 'bic' (the pattern only, no country check) when it loads.
FormatRegistry.Set('iso-9362-bic', isBic)
FormatRegistry.Set('unit-code', isUnitCode)
FormatRegistry.Set('printable', (value) => /^[\x20-\x7E]*$/.test(value) && value.trim() === value)

/** An absolute http(s) URL without credentials or fragment, as a webhook endpoint's address. */
export function isHttpUrl(value: string): boolean {
  if (!/^https?:\/\/[\x21-\x7E]+$/i.test(value)) return false
  try {
    const url = new URL(value)
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password && !url.hash
    )
  } catch {
    return false
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The checks of the string formats every answer is full of; each is one regular expression. */
export const fastFormats: Readonly<
  Record<'uuid' | 'email' | 'date' | 'date-time', (value: string) => boolean>
> = {
  uuid: (value) => UUID.test(value),
  // Strict RFC 3339 with years 1970–9999: Elysia's own check accepts `2026-02-30T…`.
  'date-time': isTimestamp,
  email: (value) => (fullFormats.email as RegExp).test(value),
  date: fullFormats.date as (value: string) => boolean,
}

/**
 * `@elysiajs/openapi` replaces TypeBox's global `uuid`, `email` and `date` checks with ones that build a Zod
 * schema on every call; response validation of an invoice (dozens of ids) then spent more time there than in
 * the database. Called right after that package is loaded, this puts plain checks back.
 */
export function restoreFastFormats(): void {
  for (const [name, check] of Object.entries(fastFormats)) FormatRegistry.Set(name, check)
}
