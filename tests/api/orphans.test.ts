import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { sql } from 'kysely'
import type { JobQueue } from '../../src/lib/jobs'
import { type LocalDiskStorage, S3Storage, type Storage, type StoredObject } from '../../src/lib/storage'
import { removeOrphanedDocuments } from '../../src/ops/orphans'
import { declareQueues, ORPHANS_JOB, startWorkers } from '../../src/workers'
import { createTestApp, type TestApp } from '../helpers/app'
import { creditNoteKit } from '../helpers/credit-notes'
import { S3RVER_CREDENTIALS, type S3rverHandle, startS3rver } from '../helpers/s3rver'

setDefaultTimeout(20_000)

/** The safety window of these tests: planted "old" objects are older, the fresh orphan is younger. */
const WINDOW_MS = 2_000

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const pdfName = () => `${randomBytes(16).toString('hex')}.pdf`
const body = (text: string) => new TextEncoder().encode(text)

async function listAll(storage: Storage, prefix: string): Promise<StoredObject[]> {
  const objects: StoredObject[] = []
  for await (const object of storage.list(prefix)) objects.push(object)
  return objects
}

interface Setup {
  t: TestApp
  /** Downloads what a signed link points at. */
  download(url: string): Promise<Response>
  /** Makes every object stored so far older than the window. */
  age(): Promise<void>
  close(): Promise<void>
}

const backends: [string, () => Promise<Setup>][] = [
  [
    'local disk',
    async () => {
      const t = await createTestApp()
      return {
        t,
        download: (url) => {
          const link = new URL(url)
          return t.request(`${link.pathname}${link.search}`)
        },
        // Files can be backdated: no need to wait.
        async age() {
          const storage = t.deps.storage as LocalDiskStorage
          const past = new Date(Date.now() - 3_600_000)
          for (const prefix of ['invoices/', 'credit-notes/', 'backups/', 'exports/']) {
            for await (const { key } of storage.list(prefix))
              await utimes(join(storage.root, key), past, past)
          }
        },
        close: () => t.close(),
      }
    },
  ],
  [
    'S3',
    async () => {
      const s3: S3rverHandle = await startS3rver('orphans-test')
      const t = await createTestApp({
        S3_BUCKET: s3.bucket,
        S3_ENDPOINT: s3.endpoint,
        S3_FORCE_PATH_STYLE: 'true',
        AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
        STORAGE_TIMEOUT_MS: '3000',
      })
      return {
        t,
        download: (url) => fetch(url),
        // S3 sets LastModified itself (to the second): wait out the window.
        age: () => Bun.sleep(WINDOW_MS + 300),
        async close() {
          await t.close()
          ;(t.deps.storage as S3Storage).destroy()
          await s3.close()
        },
      }
    },
  ],
]

describe.each(backends)('orphaned documents on %s', (_name, setUp) => {
  let setup: Setup
  let t: TestApp
  let storage: Storage
  beforeAll(async () => {
    setup = await setUp()
    t = setup.t
    storage = t.deps.storage as Storage
  })
  afterAll(async () => {
    await setup.close()
  })

  test('when the clean-up runs, then only old unreferenced objects under the document prefixes go, twice harmlessly', async () => {
    const kit = creditNoteKit(t)
    const token = await kit.newUser()
    const customerId = await kit.newCustomer(token)
    const { data: me } = await kit.api(token).me.get()
    const userId = me!.id
    const items = [{ description: 'Audit', quantity: 1, unitPrice: 50_000, taxRate: 20 }]
    const first = await kit.issued(token, customerId, items)
    const second = await kit.issued(token, customerId, items)
    const note = await kit.credited(token, first.id, { reason: 'duplicate' })

    const old = {
      invoice: `invoices/${userId}/${randomUUID()}/${pdfName()}`,
      // Under the id of an existing invoice: the row names another key, so this one is still an orphan.
      invoiceOfRow: `invoices/${userId}/${second.id}/${pdfName()}`,
      creditNote: `credit-notes/${userId}/${randomUUID()}/${pdfName()}`,
    }
    const backup = `backups/2026/12/01/invoices-20261201T000000Z.dump`
    const elsewhere = `exports/${userId}/${pdfName()}`
    for (const key of [...Object.values(old), backup, elsewhere])
      await storage.put(key, body(key), 'application/pdf')
    await setup.age()
    const fresh = `invoices/${userId}/${randomUUID()}/${pdfName()}`
    await storage.put(fresh, body('in flight'), 'application/pdf')

    const keys = async (prefix: string) => (await listAll(storage, prefix)).map((o) => o.key).sort()
    const documentKeys = async () => [...(await keys('invoices/')), ...(await keys('credit-notes/'))].sort()
    const before = await documentKeys()
    const rows = await t.deps.database.db
      .selectFrom('invoices')
      .select(['id', 'pdf_key', 'pdf_size'])
      .where('user_id', '=', userId)
      .execute()
    const referenced = rows.map((r) => r.pdf_key!)
    const noteRow = await t.deps.database.db
      .selectFrom('credit_notes')
      .select('pdf_key')
      .where('user_id', '=', userId)
      .where('id', '=', note.id)
      .executeTakeFirstOrThrow()
    referenced.push(noteRow.pdf_key)
    expect(before).toEqual([...referenced, ...Object.values(old), fresh].sort())

    // The listing gives each object's size and time.
    const listed = await listAll(storage, 'invoices/')
    const firstObject = listed.find((o) => o.key === rows.find((r) => r.id === first.id)!.pdf_key)!
    expect(firstObject.size).toBe(first.pdf!.size)
    const age = Date.now() - firstObject.lastModified.getTime()
    expect(age).toBeGreaterThanOrEqual(WINDOW_MS)
    expect(age).toBeLessThan(2 * 3_600_000)

    // More orphans than allowed: taken for a wrong database, nothing is removed.
    const guarded = await removeOrphanedDocuments(t.deps.database.db, storage, t.deps.logger, {
      minAgeMs: WINDOW_MS,
      maxDeletions: 2,
    })
    expect(guarded).toMatchObject({ orphans: 3, deleted: 0, refused: true })
    expect(await documentKeys()).toEqual(before)

    const run = () =>
      removeOrphanedDocuments(t.deps.database.db, storage, t.deps.logger, { minAgeMs: WINDOW_MS })
    const removed = await run()
    const orphanBytes = Object.values(old).reduce((sum, key) => sum + body(key).byteLength, 0)
    expect(removed).toMatchObject({
      scanned: referenced.length + 4,
      recent: 1,
      referenced: referenced.length,
      orphans: 3,
      deleted: 3,
      deletedBytes: orphanBytes,
      failed: 0,
      refused: false,
    })
    const line = await t.waitForLog(
      (l) => l.message === 'orphaned document objects removed' && l['deleted'] === 3,
    )
    expect(line['bytes']).toBe(orphanBytes)

    expect(await documentKeys()).toEqual([...referenced, fresh].sort())
    expect(await storage.exists(backup)).toBe(true)
    expect(await storage.exists(elsewhere)).toBe(true)

    // Every issued document still downloads as stored (present before the link: nothing was rendered again).
    const documents = [
      { path: `/api/v1/invoices/${first.id}/pdf`, pdf: first.pdf! },
      { path: `/api/v1/invoices/${second.id}/pdf`, pdf: second.pdf! },
      { path: `/api/v1/credit-notes/${note.id}/pdf`, pdf: note.pdf },
    ]
    for (const key of referenced) expect(await storage.exists(key)).toBe(true)
    for (const { path, pdf } of documents) {
      const res = await t.request(path, { token })
      expect(res.status).toBe(200)
      const file = await setup.download(((await res.json()) as { url: string }).url)
      expect(file.status).toBe(200)
      const bytes = new Uint8Array(await file.arrayBuffer())
      expect({ sha256: sha256(bytes), size: bytes.byteLength }).toEqual({
        sha256: pdf.sha256,
        size: pdf.size,
      })
    }
    const trail = await kit.events(token, first.id)
    expect(trail.map((e) => e.type)).not.toContain('pdf_regenerated')

    const again = await run()
    expect(again).toMatchObject({ orphans: 0, deleted: 0, deletedBytes: 0, recent: 1, refused: false })
    expect(await documentKeys()).toEqual([...referenced, fresh].sort())
    expect(await storage.exists(backup)).toBe(true)
  })

  test('when listing by a folder or a partial prefix, then every object under it is listed once, and deleting twice is harmless', async () => {
    const base = `invoices/${randomUUID()}`
    const keys = ['a', 'b', 'c', 'd', 'e'].map((id) => `${base}/${id}/${pdfName()}`)
    keys.push(`${base}-other/x/${pdfName()}`)
    for (const key of keys) await storage.put(key, body(key), 'application/pdf')
    const under = (await listAll(storage, `${base}/`)).map((o) => o.key).sort()
    expect(under).toEqual(keys.slice(0, 5).sort())
    const partial = (await listAll(storage, base)).map((o) => o.key).sort()
    expect(partial).toEqual([...keys].sort())
    expect(await listAll(storage, 'nothing-here/')).toEqual([])

    for (const key of keys) await storage.delete(key)
    await storage.delete(keys[0]!)
    expect(await listAll(storage, base)).toEqual([])
  })
})

describe('S3 listing', () => {
  // s3rver cannot answer a truncated page under Bun (its continuation tokens are DES-encrypted, which Bun's
  // crypto lacks), so the pages come from a stand-in for the client here.
  test('when a prefix holds more than a page, then the pages are followed by their continuation tokens', async () => {
    const keys = Array.from({ length: 5 }, (_, i) => `invoices/u/${i}/${pdfName()}`)
    const storage = new S3Storage({ bucket: 'pages', timeoutMs: 1_000, listPageSize: 2 })
    const requests: { Prefix?: string; MaxKeys?: number; ContinuationToken?: string }[] = []
    const client = (storage as unknown as { client: { send: (command: unknown) => Promise<unknown> } }).client
    client.send = async (command) => {
      const input = (command as { input: (typeof requests)[number] }).input
      requests.push(input)
      const from = input.ContinuationToken ? Number(input.ContinuationToken) : 0
      const to = from + input.MaxKeys!
      return {
        Contents: keys.slice(from, to).map((Key) => ({ Key, Size: 7, LastModified: new Date(0) })),
        IsTruncated: to < keys.length,
        NextContinuationToken: to < keys.length ? String(to) : undefined,
      }
    }
    const listed = await listAll(storage, 'invoices/')
    expect(listed.map((o) => o.key)).toEqual(keys)
    expect(listed[0]).toEqual({ key: keys[0]!, size: 7, lastModified: new Date(0) })
    expect(requests).toMatchObject([
      { Prefix: 'invoices/', MaxKeys: 2 },
      { Prefix: 'invoices/', MaxKeys: 2, ContinuationToken: '2' },
      { Prefix: 'invoices/', MaxKeys: 2, ContinuationToken: '4' },
    ])
    expect(requests[0]!.ContinuationToken).toBeUndefined()
    storage.destroy()
  })
})

describe('the documents-orphans job', () => {
  test('when the workers start, then it is declared, worked one at a time and scheduled daily, and runs the clean-up', async () => {
    const t = await createTestApp()
    try {
      const works = new Map<string, { options: unknown; handler: () => Promise<void> }>()
      const schedules = new Map<string, string>()
      const declared = new Map<string, unknown>()
      const jobs = {
        declare: async (name: string, options: unknown) => {
          declared.set(name, options)
        },
        work: async (name: string, options: unknown, handler: () => Promise<void>) => {
          works.set(name, { options, handler })
        },
        schedule: async (name: string, cron: string) => {
          schedules.set(name, cron)
        },
        // The outbox embeds its job insert in the event's statement; nothing is recorded here.
        embeddedInsert: () => ({ insert: () => sql`select 1`, notify: sql`null` }),
      } as unknown as JobQueue
      const storage = t.deps.storage
      const { db } = t.deps.database
      await declareQueues(jobs, t.deps.config)
      await startWorkers({ db, jobs, logger: t.deps.logger, config: t.deps.config, storage })
      expect(declared.get(ORPHANS_JOB)).toEqual({ concurrency: 1 })
      expect(works.get(ORPHANS_JOB)?.options).toEqual({ concurrency: 1 })
      expect(schedules.get(ORPHANS_JOB)).toBe('41 4 * * *')

      await works.get(ORPHANS_JOB)!.handler()
      const line = await t.waitForLog((l) => l.message === 'orphaned document objects removed')
      expect(line).toMatchObject({ deleted: 0, bytes: 0 })
    } finally {
      await t.close()
    }
  })
})
