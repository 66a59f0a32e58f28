import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { sql } from 'kysely'
import type { Database } from '../../lib/db'
import { isValidKey, LocalDiskStorage, type ObjectStorage } from '../../lib/storage'
import type { CheckContext, CheckResult } from './context'
import type { Violation } from './violations'

/** Reads an object as a stream of chunks; null when the store has no such object. */
export type ObjectReader = (key: string) => Promise<AsyncIterable<Uint8Array> | null>

const PAGE_SIZE = 500
const LINK_TTL_SECONDS = 300

/**
 * Streams objects without holding them whole: local files directly, any other store through a short-lived
 * download link of its own (the same endpoint, credentials and path style the API uses), each bounded by
 * `timeoutMs` (the whole download).
 */
export function objectReader(storage: ObjectStorage, timeoutMs: number): ObjectReader {
  if (storage instanceof LocalDiskStorage) {
    return async (key) => {
      try {
        const file = await open(join(storage.root, key), 'r')
        return file.createReadStream({ autoClose: true })
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
        throw error
      }
    }
  }
  return async (key) => {
    const link = await storage.signedDownloadUrl(key, {
      filename: 'document.pdf',
      ttlSeconds: LINK_TTL_SECONDS,
    })
    const response = await fetch(link.url, { signal: AbortSignal.timeout(timeoutMs) })
    if (response.ok && response.body) return response.body
    await response.body?.cancel()
    // S3 answers 403 rather than 404 for a missing key to whoever may not list the bucket.
    if (response.status === 404 || (response.status === 403 && !(await storage.exists(key)))) return null
    throw new Error(`the object store answered ${response.status}`)
  }
}

interface DocumentRow {
  id: string
  user_id: string
  /** The invoice: the document itself, or the invoice a credit note corrects. */
  invoice_id: string
  credit_note_id: string | null
  number: string | null
  pdf_key: string
  pdf_sha256: string | null
  pdf_size: number | null
}

async function digest(chunks: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of chunks) {
    hash.update(chunk)
    size += chunk.byteLength
  }
  return { sha256: hash.digest('hex'), size }
}

async function inspect(read: ObjectReader, row: DocumentRow): Promise<Violation | undefined> {
  const base = {
    userId: row.user_id,
    invoiceId: row.invoice_id,
    ...(row.credit_note_id === null ? {} : { creditNoteId: row.credit_note_id }),
    number: row.number,
    subject: row.pdf_key,
  }
  const expected = `sha256=${row.pdf_sha256} size=${row.pdf_size}`
  if (!isValidKey(row.pdf_key)) {
    return { ...base, kind: 'object_missing', expected, found: 'an invalid object key' }
  }
  try {
    const chunks = await read(row.pdf_key)
    if (chunks === null) return { ...base, kind: 'object_missing', expected, found: 'no object' }
    const stored = await digest(chunks)
    if (stored.sha256 === row.pdf_sha256 && stored.size === row.pdf_size) return undefined
    return {
      ...base,
      kind: 'object_mismatch',
      expected,
      found: `sha256=${stored.sha256} size=${stored.size}`,
    }
  } catch (error) {
    return { ...base, kind: 'object_unreadable', expected, found: (error as Error).message ?? String(error) }
  }
}

/** Runs `work` over `items` with at most `concurrency` at a time. */
async function eachLimited<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T
      await work(item)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}

/** The tables whose rows record a stored document, and how a row names its invoice. */
const DOCUMENTS = [
  { table: 'invoices', columns: sql`id, user_id, id as invoice_id, null::uuid as credit_note_id` },
  { table: 'credit_notes', columns: sql`id, user_id, invoice_id, id as credit_note_id` },
] as const

/**
 * Every document an invoice or a credit note records is in the store, with the recorded SHA-256 and size: the
 * invoices, then the credit notes, are walked in pages by id, their objects read `concurrency` at a time. The
 * documents of a page found wrong are looked up once more before they are reported, since a concurrent request
 * may have regenerated one meanwhile. At most `context.limit` violations are listed (and passed to
 * `onViolation`); all are counted.
 */
export async function checkObjects(
  db: Database,
  context: CheckContext,
  read: ObjectReader,
  options: { concurrency: number; onViolation: (violation: Violation) => void },
): Promise<CheckResult & { objects: number }> {
  const violations: Violation[] = []
  let unlisted = 0
  let objects = 0
  type Source = (typeof DOCUMENTS)[number]
  const columns = (source: Source) => sql`${source.columns}, number, pdf_key, pdf_sha256, pdf_size`
  const page = (source: Source, after: string | null) =>
    sql<DocumentRow>`
      select ${columns(source)}
        from ${sql.table(source.table)}
       where pdf_key is not null and ${context.scope('user_id')} and ${after === null ? sql`true` : sql`id > ${after}`}
       order by id
       limit ${PAGE_SIZE}`.execute(db)
  const current = async (source: Source, ids: string[]) => {
    const { rows } = await sql<DocumentRow>`
      select ${columns(source)} from ${sql.table(source.table)} where id in (${sql.join(ids)})`.execute(db)
    return new Map(rows.map((row) => [row.id, row]))
  }
  const report = (violation: Violation) => {
    if (context.limit !== null && violations.length >= context.limit) {
      unlisted++
      return
    }
    violations.push(violation)
    options.onViolation(violation)
  }

  for (const source of DOCUMENTS) {
    let after: string | null = null
    for (;;) {
      const { rows } = await page(source, after)
      if (rows.length === 0) break
      after = rows[rows.length - 1]!.id
      objects += rows.length
      const suspects = new Map<string, Violation>()
      await eachLimited(rows, options.concurrency, async (row) => {
        const violation = await inspect(read, row)
        if (violation) suspects.set(row.id, violation)
      })
      if (suspects.size === 0) continue
      const now = await current(source, [...suspects.keys()])
      for (const row of rows) {
        const violation = suspects.get(row.id)
        if (!violation) continue
        const fresh = now.get(row.id)
        const changed =
          fresh?.pdf_key !== row.pdf_key ||
          fresh?.pdf_sha256 !== row.pdf_sha256 ||
          fresh?.pdf_size !== row.pdf_size
        const confirmed = !changed ? violation : fresh?.pdf_key ? await inspect(read, fresh) : undefined
        if (confirmed) report(confirmed)
      }
    }
  }
  return { violations, unlisted, objects }
}
