/*
 * Orphaned documents: a PDF is stored before the transaction that records it commits, so a rollback or a crash
 * leaves an object that no row references. This removes them: objects under the document prefixes (never
 * `backups/` nor anything else), older than a safety window, that neither `invoices.pdf_key` nor
 * `credit_notes.pdf_key` names.
 *
 * The window: an upload is at most one transaction old when its row commits, and transactions are bounded by
 * the statement timeout, so an object older than the window (24 h by default) that no row references now never
 * will. A missing PDF of an issued document is rendered again on its next download; this job never touches a
 * referenced one.
 */
import { sql } from 'kysely'
import { crossTenant, type Database } from '../lib/db'
import type { Logger } from '../lib/logger'
import { isValidKey, type ObjectStorage, type StoredObject } from '../lib/storage'

/** The prefixes the documents are stored under, and the table whose `pdf_key` records each. */
export const DOCUMENT_PREFIXES = [
  { prefix: 'invoices/', table: 'invoices' },
  { prefix: 'credit-notes/', table: 'credit_notes' },
] as const

export const DEFAULT_ORPHAN_MIN_AGE_MS = 24 * 60 * 60 * 1000
/** Above this many orphans in one run, nothing is removed: that many points at a wrong database, not at crashes. */
export const DEFAULT_MAX_DELETIONS = 10_000
const BATCH_SIZE = 500
const DELETE_CONCURRENCY = 8
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export interface OrphanCleanupOptions {
  /** Objects younger than this are left alone, referenced or not. Default 24 h. */
  minAgeMs?: number | undefined
  /** When more orphans than this are found, none is removed and an error is logged. Default 10,000. */
  maxDeletions?: number | undefined
  now?: (() => Date) | undefined
}

export interface OrphanCleanupResult {
  /** Objects listed under the document prefixes. */
  scanned: number
  /** Younger than the safety window: not looked up. */
  recent: number
  /** Keys the store holds but would not accept (left alone). */
  invalid: number
  /** Old objects a row references. */
  referenced: number
  /** Old objects no row references. */
  orphans: number
  orphanBytes: number
  deleted: number
  deletedBytes: number
  /** Deletions that failed (left for the next run). */
  failed: number
  /** True when more than `maxDeletions` orphans were found, so nothing was removed. */
  refused: boolean
}

type DocumentTable = (typeof DOCUMENT_PREFIXES)[number]['table']

/** The keys of `objects` that a row of `table` records, looked up by the document id in the key (primary key). */
async function referencedById(
  db: Database,
  table: DocumentTable,
  objects: StoredObject[],
): Promise<Set<string>> {
  const ids = [...new Set(objects.map((o) => o.key.split('/')[2] ?? '').filter((id) => UUID.test(id)))]
  if (ids.length === 0) return new Set()
  const { rows } = await sql<{ pdf_key: string | null }>`
    select pdf_key from ${sql.table(table)} where id in (${sql.join(ids)})`.execute(db)
  return new Set(rows.flatMap((row) => (row.pdf_key === null ? [] : [row.pdf_key])))
}

/** The keys among `keys` that any row of either table records, whatever its id. */
async function referencedAnywhere(db: Database, keys: string[]): Promise<Set<string>> {
  const { rows } = await sql<{ pdf_key: string }>`
    select pdf_key from invoices where pdf_key in (${sql.join(keys)})
    union
    select pdf_key from credit_notes where pdf_key in (${sql.join(keys)})`.execute(db)
  return new Set(rows.map((row) => row.pdf_key))
}

/** Runs `work` over `items` with at most `concurrency` at a time. */
async function eachLimited<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}

/**
 * Lists the objects under `invoices/` and `credit-notes/`, keeps those older than the safety window, looks them
 * up in batches (by the document id in the key, through the primary key; the few not found that way once more
 * by `pdf_key` in both tables, since a key is an orphan only if no row at all names it) and removes the
 * orphans. Idempotent: a second run finds nothing more to remove.
 */
export async function removeOrphanedDocuments(
  database: Database,
  storage: ObjectStorage,
  logger: Logger,
  options: OrphanCleanupOptions = {},
): Promise<OrphanCleanupResult> {
  const minAgeMs = options.minAgeMs ?? DEFAULT_ORPHAN_MIN_AGE_MS
  if (!Number.isFinite(minAgeMs) || minAgeMs < 0)
    throw new RangeError(`minAgeMs must be ≥ 0, got ${minAgeMs}`)
  const maxDeletions = options.maxDeletions ?? DEFAULT_MAX_DELETIONS
  const cutoff = (options.now?.() ?? new Date()).getTime() - minAgeMs
  // Documents of every user: the tenant guard would demand one user's scope.
  const db = crossTenant(database)
  const result: OrphanCleanupResult = {
    scanned: 0,
    recent: 0,
    invalid: 0,
    referenced: 0,
    orphans: 0,
    orphanBytes: 0,
    deleted: 0,
    deletedBytes: 0,
    failed: 0,
    refused: false,
  }
  const candidates: StoredObject[] = []

  for (const { prefix, table } of DOCUMENT_PREFIXES) {
    let batch: StoredObject[] = []
    const settle = async () => {
      const known = await referencedById(db, table, batch)
      for (const object of batch) {
        if (known.has(object.key)) result.referenced++
        else candidates.push(object)
      }
      batch = []
    }
    for await (const object of storage.list(prefix)) {
      // The listing is by prefix; checked again, so that nothing outside it can ever be removed.
      if (!object.key.startsWith(prefix)) continue
      result.scanned++
      if (!isValidKey(object.key)) result.invalid++
      else if (object.lastModified.getTime() > cutoff) result.recent++
      else {
        batch.push(object)
        if (batch.length >= BATCH_SIZE) await settle()
      }
    }
    if (batch.length > 0) await settle()
  }

  const orphans: StoredObject[] = []
  for (let start = 0; start < candidates.length; start += BATCH_SIZE) {
    const chunk = candidates.slice(start, start + BATCH_SIZE)
    const known = await referencedAnywhere(
      db,
      chunk.map((o) => o.key),
    )
    for (const object of chunk) {
      if (known.has(object.key)) result.referenced++
      else orphans.push(object)
    }
  }
  result.orphans = orphans.length
  result.orphanBytes = orphans.reduce((sum, o) => sum + o.size, 0)

  if (orphans.length > maxDeletions) {
    result.refused = true
    logger.error(
      { orphans: result.orphans, bytes: result.orphanBytes, maxDeletions, scanned: result.scanned },
      'too many orphaned document objects to remove safely; removed none (is the database the right one?)',
    )
    return result
  }

  let firstError: unknown
  await eachLimited(orphans, DELETE_CONCURRENCY, async (object) => {
    try {
      await storage.delete(object.key)
      result.deleted++
      result.deletedBytes += object.size
    } catch (error) {
      result.failed++
      firstError ??= error
    }
  })
  if (result.failed > 0) {
    logger.warn(
      { failed: result.failed, err: firstError },
      'some orphaned document objects could not be removed',
    )
  }
  const summary = {
    deleted: result.deleted,
    bytes: result.deletedBytes,
    scanned: result.scanned,
    recent: result.recent,
    referenced: result.referenced,
    ...(result.invalid > 0 ? { invalid: result.invalid } : {}),
  }
  logger.info(summary, 'orphaned document objects removed')
  return result
}
