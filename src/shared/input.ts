import type { AddressJson } from '../../db/schema'
import { AppError, type ErrorDetail } from './errors'
import type { AddressInput } from './schemas'

/**
 * Trims every string of a request body, in nested objects and arrays; a string left blank is an error
 * naming its path, as the schema would (send null to clear an optional field).
 */
export function trimStrings<T>(input: T): T {
  const blank: ErrorDetail[] = []
  const walk = (value: unknown, path: string): unknown => {
    if (typeof value === 'string') {
      const result = value.trim()
      if (result === '') blank.push({ path, message: 'must not be blank (send null to clear it)' })
      return result
    }
    if (Array.isArray(value)) return value.map((item, index) => walk(item, `${path}/${index}`))
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, walk(v, `${path}/${key}`)]))
    }
    return value
  }
  const result = walk(input, '') as T
  if (blank.length > 0)
    throw new AppError('VALIDATION_ERROR', 'Request validation failed', { details: blank })
  return result
}

/** An address as stored: every field present, absent ones null. */
export const toAddressJson = (address: AddressInput | null | undefined): AddressJson | null =>
  address
    ? {
        line1: address.line1 ?? null,
        line2: address.line2 ?? null,
        city: address.city ?? null,
        region: address.region ?? null,
        postalCode: address.postalCode ?? null,
        country: address.country ?? null,
      }
    : null
