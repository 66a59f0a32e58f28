import { FormatRegistry } from '@sinclair/typebox'
import { fullFormats } from 'elysia/type-system/format'
import { isCalendarDate, isTimestamp } from './dates'
import { isActiveCurrency } from './money'

const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' })
const zones = new Set(Intl.supportedValuesOf('timeZone'))

export function isCountryCode(value: string): boolean {
  if (!/^[A-Z]{2}$/.test(value)) return false
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
 * Formats the schemas name, so validation, error details and the OpenAPI document come from one place.
 * Registered once at import.
 */
FormatRegistry.Set('iso-4217', isActiveCurrency)
FormatRegistry.Set('iso-3166-alpha-2', isCountryCode)
FormatRegistry.Set('iana-time-zone', isTimeZone)
FormatRegistry.Set('calendar-date', isCalendarDate)
FormatRegistry.Set('date-time', isTimestamp)
FormatRegistry.Set('http-url', isHttpUrl)
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
