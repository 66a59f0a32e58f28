import { sql } from 'kysely'
import { crossTenant, type Database } from '../../lib/db'
import type { ObjectStorage } from '../../lib/storage'
import { checkInvoiceTotals, checkLines, checkPayments, checkPdfMetadata } from './amounts'
import { type Check, type CheckContext, type CheckResult, scopeTo } from './context'
import { checkCreditedTotals, checkCreditNotes, checkLineCredits } from './credits'
import { checkCounters, checkCreditNoteCounters, checkCreditNoteNumbers, checkNumbers } from './numbers'
import { checkObjects, type ObjectReader, objectReader } from './objects'
import { ROLLUP_TABLES, rollupChecks } from './report-tables'
import type { Violation, ViolationKind } from './violations'

export { type ObjectReader, objectReader } from './objects'
export { ROLLUP_TABLES, rollupDifferences } from './report-tables'
export { formatViolation, VIOLATION_KINDS, type Violation, type ViolationKind } from './violations'

export interface VerifyOptions {
  /** Only these users' data (every user when absent). */
  userIds?: readonly string[] | undefined
  /** The object store of the issued documents; their objects are not read when absent. */
  storage?: ObjectStorage | undefined
  /** How objects are read; by default streamed from `storage`. */
  readObject?: ObjectReader | undefined
  /** Bound on reading one object; default 10 s. */
  storageTimeoutMs?: number | undefined
  /** Objects read at a time; default 8. */
  concurrency?: number | undefined
  /** Checks run at a time, each on its own connection; default 3 (1 inside a transaction). */
  parallelChecks?: number | undefined
  /** Most violations listed per check (all are counted); default 10,000; 0 lists all. */
  limit?: number | undefined
  /** `work_mem` of the checking sessions: the recounts sort and hash whole tables. Default `128MB`. */
  workMem?: string | undefined
  /** Called for each violation as it is found. */
  onViolation?: ((violation: Violation) => void) | undefined
}

export interface VerifyReport {
  ok: boolean
  violations: Violation[]
  /** Violations per kind, among those listed. */
  counts: Partial<Record<ViolationKind, number>>
  /** Violations found beyond each check's limit, counted but not listed. */
  unlisted: number
  checked: {
    users: number
    invoices: number
    items: number
    payments: number
    creditNotes: number
    objects: number
  }
  durationMs: number
}

const NAMED_CHECKS: readonly [string, Check][] = [
  ['numbers', checkNumbers],
  ['counters', checkCounters],
  ['credit note numbers', checkCreditNoteNumbers],
  ['credit note counters', checkCreditNoteCounters],
  ['invoice totals', checkInvoiceTotals],
  ['lines', checkLines],
  ['payments', checkPayments],
  ['credited totals', checkCreditedTotals],
  ['credit notes', checkCreditNotes],
  ['line credits', checkLineCredits],
  ['documents', checkPdfMetadata],
  ...rollupChecks.map((check, i): [string, Check] => [ROLLUP_TABLES[i]!.table, check]),
]

const WORK_MEM = /^\d{1,7}(kB|MB|GB)$/

/**
 * Checks the invariants of API.md ("Running it", `db:verify`) over the whole database, or over `userIds`:
 * gapless unique numbers and the counter of each series (invoices, credit notes), totals = sums of lines and
 * lines = their arithmetic, paid ≤ total and amount paid = the payments, credited total = the credit notes,
 * each credit note = the sum of its lines and the credits of a line within it, a status that follows the
 * amounts, the report tables = a recount, and every issued document's object (invoices' and credit notes')
 * present with its hash. Each check is one set-based statement (read-only, no
 * statement timeout); documents are streamed from the store. `db` may be a transaction (its uncommitted
 * writes are then what is checked).
 */
export async function verifyDatabase(database: Database, options: VerifyOptions = {}): Promise<VerifyReport> {
  const started = performance.now()
  const db = crossTenant(database)
  const limit = options.limit === undefined ? 10_000 : options.limit === 0 ? null : options.limit
  const context: CheckContext = { scope: scopeTo(options.userIds), limit }
  const workMem = options.workMem ?? '128MB'
  if (!WORK_MEM.test(workMem)) throw new RangeError(`workMem must look like 64MB, got ${workMem}`)

  const violations: Violation[] = []
  let unlisted = 0
  const report = (found: Violation) => {
    violations.push(found)
    options.onViolation?.(found)
  }

  /** Each check reads one snapshot, in a read-only transaction of its own unless `db` already is one. */
  const run = async <T>(work: (trx: Database) => Promise<T>): Promise<T> => {
    const settings = async (trx: Database) => {
      await sql`select set_config('work_mem', ${workMem}, true), set_config('statement_timeout', '0', true)`.execute(
        trx,
      )
      return work(trx)
    }
    if (db.isTransaction) return settings(db)
    return db.transaction().setAccessMode('read only').execute(settings)
  }

  const parallel = db.isTransaction ? 1 : Math.max(1, options.parallelChecks ?? 3)
  const queue = [...NAMED_CHECKS]
  const results = new Map<string, CheckResult>()
  const runner = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [name, check] = next
      results.set(name, await run((trx) => check(trx, context)))
    }
  }
  // A transaction's connection runs one statement at a time: the count waits its turn there.
  const counting = db.isTransaction ? undefined : run((trx) => countRows(trx, context))
  await Promise.all(Array.from({ length: parallel }, runner))
  // Listed in the order of the checks, whatever order they finished in.
  for (const [name] of NAMED_CHECKS) {
    const result = results.get(name)!
    for (const found of result.violations) report(found)
    unlisted += result.unlisted
  }

  let objects = 0
  if (options.storage || options.readObject) {
    const read = options.readObject ?? objectReader(options.storage!, options.storageTimeoutMs ?? 10_000)
    const result = await checkObjects(db, context, read, {
      concurrency: Math.max(1, options.concurrency ?? 8),
      onViolation: (found) => options.onViolation?.(found),
    })
    violations.push(...result.violations)
    unlisted += result.unlisted
    objects = result.objects
  }

  const counts: Partial<Record<ViolationKind, number>> = {}
  for (const found of violations) counts[found.kind] = (counts[found.kind] ?? 0) + 1
  return {
    ok: violations.length === 0 && unlisted === 0,
    violations,
    counts,
    unlisted,
    checked: { ...(await (counting ?? run((trx) => countRows(trx, context)))), objects },
    durationMs: Math.round(performance.now() - started),
  }
}

async function countRows(db: Database, context: CheckContext) {
  const { rows } = await sql<{
    users: string
    invoices: string
    items: string
    payments: string
    credit_notes: string
  }>`
    select (select count(*) from users where ${context.scope('id')})::text as users,
           (select count(*) from invoices where ${context.scope('user_id')})::text as invoices,
           (select count(*) from invoice_items where ${context.scope('user_id')})::text as items,
           (select count(*) from payments where ${context.scope('user_id')})::text as payments,
           (select count(*) from credit_notes where ${context.scope('user_id')})::text as credit_notes
  `.execute(db)
  const row = rows[0]!
  return {
    users: Number(row.users),
    invoices: Number(row.invoices),
    items: Number(row.items),
    payments: Number(row.payments),
    creditNotes: Number(row.credit_notes),
  }
}
