import { isCalendarDate, isTimestamp } from './dates'
import { AppError } from './errors'

/**
 * Opaque keyset cursors. A cursor is the base64url of `{"s": sort, "k": [keys…]}`: the list and sort order
 * it belongs to and the sort key values of the last row served, so the next page starts strictly after
 * that row however many rows are inserted meanwhile. Decoding is strict: only the exact encoding of a
 * well-typed position of the same sort is accepted; anything else is a VALIDATION_ERROR on `/query/cursor`.
 */

export type CursorKey = string | number | null

/** Checks one key of a decoded cursor; answers undefined when it is not a value of that kind. */
export type KeyParser<T extends CursorKey> = (value: unknown) => T | undefined

export interface Page<T> {
  data: T[]
  nextCursor: string | null
}

export const DEFAULT_PAGE_SIZE = 20
export const MAX_PAGE_SIZE = 100
const MAX_CURSOR_LENGTH = 1024

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/

export const keys = {
  uuid: ((value) => (typeof value === 'string' && UUID.test(value) ? value : undefined)) as KeyParser<string>,
  /** An ISO-8601 UTC timestamp with up to microseconds, the precision of `timestamptz`. */
  // Real calendar dates and times only: `Date.parse` takes `2026-02-30`, which PostgreSQL then refuses (a 500).
  timestamp: ((value) =>
    typeof value === 'string' && TIMESTAMP.test(value) && isTimestamp(value)
      ? value
      : undefined) as KeyParser<string>,
  date: ((value) =>
    typeof value === 'string' && isCalendarDate(value) ? value : undefined) as KeyParser<string>,
  integer: ((value) => (Number.isSafeInteger(value) ? (value as number) : undefined)) as KeyParser<number>,
  string: ((value) => (typeof value === 'string' ? value : undefined)) as KeyParser<string>,
  nullable:
    <T extends CursorKey>(parser: KeyParser<T>): KeyParser<T | null> =>
    (value) =>
      value === null ? null : parser(value),
}

type Parsed<P extends readonly KeyParser<CursorKey>[]> = {
  -readonly [I in keyof P]: P[I] extends KeyParser<infer T> ? T : never
}

/**
 * The page size a list asked for, 1–100. Checked here rather than by `minimum`/`maximum` in the query schema:
 * Elysia reports a coerced query number out of range without naming the parameter.
 */
export function pageSize(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_SIZE
  if (limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new AppError('VALIDATION_ERROR', 'Request validation failed', {
      details: [{ path: '/query/limit', message: `must be between 1 and ${MAX_PAGE_SIZE}` }],
    })
  }
  return limit
}

export function encodeCursor(sort: string, values: readonly CursorKey[]): string {
  return Buffer.from(JSON.stringify({ s: sort, k: values }), 'utf8').toString('base64url')
}

export function invalidCursor(): AppError {
  return new AppError('VALIDATION_ERROR', 'Invalid cursor', {
    details: [{ path: '/query/cursor', message: 'must be a nextCursor this list answered' }],
  })
}

export function decodeCursor<const P extends readonly KeyParser<CursorKey>[]>(
  cursor: string,
  sort: string,
  parsers: P,
): Parsed<P> {
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw invalidCursor()
  }
  let decoded: unknown
  try {
    decoded = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(cursor, 'base64url')))
  } catch {
    throw invalidCursor()
  }
  const { s, k } = (decoded ?? {}) as { s?: unknown; k?: unknown }
  if (s !== sort || !Array.isArray(k) || k.length !== parsers.length) throw invalidCursor()
  const values = parsers.map((parse, i) => parse(k[i]))
  if (values.some((value) => value === undefined)) throw invalidCursor()
  // Only the canonical encoding is a cursor: extra fields or altered padding bits are tampering.
  if (encodeCursor(sort, values as CursorKey[]) !== cursor) throw invalidCursor()
  return values as Parsed<P>
}

/**
 * Turns rows fetched with `limit + 1` into a page: the extra row only tells that another page exists,
 * and the cursor points after the last row served.
 */
export function toPage<R, T>(
  rows: readonly R[],
  limit: number,
  sort: string,
  keysOf: (row: R) => readonly CursorKey[],
  map: (row: R) => T,
): Page<T> {
  const served = rows.slice(0, limit)
  const last = served.at(-1)
  return {
    data: served.map(map),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(sort, keysOf(last)) : null,
  }
}
