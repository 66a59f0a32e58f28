import { type RawBuilder, sql } from 'kysely'
import type { Database } from '../../lib/db'
import type { Violation } from './violations'

export interface CheckContext {
  /** `column` restricted to the users being verified (`true` when all are). */
  scope(column: string): RawBuilder<boolean>
  /** Most rows a check lists; null lists all. Counting is always exact. */
  limit: number | null
}

export interface CheckResult {
  violations: Violation[]
  /** Rows found in violation beyond `limit`, counted but not listed. */
  unlisted: number
}

/** A set-based check: one statement over the database (a transaction whose snapshot it reads). */
export type Check = (db: Database, context: CheckContext) => Promise<CheckResult>

export function scopeTo(userIds: readonly string[] | undefined): CheckContext['scope'] {
  if (userIds === undefined) return () => sql<boolean>`true`
  if (userIds.length === 0) return () => sql<boolean>`false`
  const ids = sql.join(userIds.map((id) => sql`${id}::uuid`))
  return (column) => sql<boolean>`${sql.ref(column)} in (${ids})`
}

/** Every listed row carries `listed_of`, the count of all rows in violation (a window over the full set). */
export interface Counted {
  listed_of: number
}

export function resultOf<Row extends Counted>(
  rows: readonly Row[],
  toViolations: (row: Row) => Violation[],
): CheckResult {
  const total = rows[0]?.listed_of ?? 0
  return { violations: rows.flatMap(toViolations), unlisted: Math.max(0, total - rows.length) }
}

/**
 * The rows of `found` (each a violation), ordered by `order`, at most `context.limit` of them, each with the count
 * of all. `found` is materialised first: under an ORDER BY … LIMIT the planner expects violations to be common
 * and picks a fast-start plan (a nested loop over an aggregate of every line: hours on a million invoices)
 * where a hash join over the whole tables takes seconds. `LIMIT NULL` is `LIMIT ALL`.
 */
export async function listViolations<Row>(
  db: Database,
  context: CheckContext,
  found: RawBuilder<unknown>,
  order: RawBuilder<unknown>,
): Promise<(Row & Counted)[]> {
  const { rows } = await sql<Row & Counted>`
    with found as materialized (${found})
    select *, count(*) over ()::int as listed_of from found order by ${order} limit ${context.limit}
  `.execute(db)
  return rows
}
