import { CompiledQuery, type Kysely } from 'kysely'
import type { Db as IDatabase } from 'pg-boss'

/**
 * pg-boss's statements run through our own Kysely pool (postgres.js), not a pool of its own: no second
 * driver, no extra connections, the same deadlines and slow-query log, and the embedded PGlite (one
 * session) is reachable at all. `transactionDatabase` runs them in the caller's transaction instead.
 */
// biome-ignore lint/suspicious/noExplicitAny: the queue's statements are not typed by our schema
export function poolDatabase(db: Kysely<any>): IDatabase {
  return { executeSql: (text, values) => execute(db, text, values) }
}

// biome-ignore lint/suspicious/noExplicitAny: see poolDatabase
export function transactionDatabase(trx: Kysely<any>): IDatabase {
  return { executeSql: (text, values) => execute(trx, text, values) }
}

// biome-ignore lint/suspicious/noExplicitAny: see poolDatabase
async function execute(db: Kysely<any>, text: string, values: unknown[] | undefined) {
  const result = await db.executeQuery(CompiledQuery.raw(text, values ?? []))
  return { rows: flatten(result.rows as unknown[]) }
}

/**
 * postgres.js answers a script of several statements (pg-boss sends its schema installs and locked
 * maintenance as `BEGIN; …; COMMIT;` without parameters, so over the simple protocol) with one row list
 * per statement. pg-boss reads the rows of all of them, as node-postgres's results are unwrapped.
 * A single statement's rows are objects, never arrays.
 */
function flatten(rows: unknown[]): unknown[] {
  return rows.length > 0 && rows.every(Array.isArray) ? (rows as unknown[][]).flat() : rows
}
