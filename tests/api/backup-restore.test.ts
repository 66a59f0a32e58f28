import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import postgres from 'postgres'
import { migrateToLatest } from '../../db/migrator'
import { type App, createApp } from '../../src/app'
import { type Config, loadConfig } from '../../src/config'
import { createVerifier } from '../../src/deps'
import { crossTenant, type DatabaseHandle, openDatabase } from '../../src/lib/db'
import { createJobQueue } from '../../src/lib/jobs'
import { createLogger } from '../../src/lib/logger'
import { createStorage, type Storage } from '../../src/lib/storage'
import {
  BACKUP_PREFIX,
  BucketStore,
  backupPath,
  downloadObject,
  isExpired,
  PGLITE_TOOLS,
  parseBackupPath,
  parseRetentionDays,
} from '../../src/ops/backup'
import { formatViolation, verifyDatabase } from '../../src/ops/verify'
import { declareQueues } from '../../src/workers'
import { startTestIssuer, TEST_CLIENT_ID, type TestIssuer } from '../helpers/jwks'
import { S3RVER_CREDENTIALS, type S3rverHandle, startS3rver } from '../helpers/s3rver'
import { ROOT, serverEnv } from '../helpers/server-process'

// Servers, queues and receivers take seconds on a busy 2-core machine (tests/setup.ts: a preload's default
// timeout reaches only the first file).
setDefaultTimeout(30_000)

// `db:backup` and `db:restore` (src/ops/backup, scripts/db-backup.ts, scripts/db-restore.ts) as a round trip on a
// real PostgreSQL and s3rver: data written through the API (customers, issued invoices with their PDFs in the
// bucket, payments, credit notes), backed up to the bucket and to a folder, restored into a fresh database, and an
// API on the restored database carries on where the original stopped. Each database is made here and dropped at
// the end. The commands run as processes, as an operator runs them.

type Json = Record<string, unknown>
const DAY_MS = 86_400_000

describe('backup names and retention', () => {
  test('a backup path parses back to when it was taken, the database and the format', () => {
    const at = new Date('2026-03-04T05:06:07.890Z')
    expect(backupPath(at, 'invoice_prod', 'custom')).toBe('2026/03/04/20260304T050607Z-invoice_prod.dump')
    expect(backupPath(at, 'my db/x', 'sql.gz')).toBe('2026/03/04/20260304T050607Z-my_db_x.sql.gz')
    expect(parseBackupPath('2026/03/04/20260304T050607Z-invoice_prod.dump')).toEqual({
      takenAt: new Date('2026-03-04T05:06:07Z'),
      database: 'invoice_prod',
      format: 'custom',
    })
    expect(parseBackupPath('2026/03/04/20260304T050607Z-embedded.sql.gz')?.format).toBe('sql.gz')
  })

  test('anything not named as db:backup names its backups is not a backup (and never pruned)', () => {
    for (const other of [
      '2026/03/04/notes.txt',
      '2026/03/05/20260304T050607Z-x.dump',
      '2026/03/04/20260304T050607Z-x.dump.bak',
      '2026/03/04/20260304T250607Z-x.dump',
      'x/2026/03/04/20260304T050607Z-x.dump',
      '2026/03/04/20260304T050607Z-.dump',
      '../2026/03/04/20260304T050607Z-x.dump',
    ]) {
      expect(parseBackupPath(other)).toBeNull()
    }
  })

  test('a backup is past the retention once it is older than that many days', () => {
    const now = new Date('2026-03-10T12:00:00Z')
    expect(isExpired(new Date('2026-03-03T11:59:59Z'), now, 7)).toBe(true)
    expect(isExpired(new Date('2026-03-03T12:00:00Z'), now, 7)).toBe(false)
    expect(parseRetentionDays(undefined)).toBe(7)
    expect(parseRetentionDays(' 30 ')).toBe(30)
    for (const bad of ['0', '-1', '1.5', 'week', '3651'])
      expect(() => parseRetentionDays(bad)).toThrow(RangeError)
  })
})

describe('a backup in a bucket', () => {
  test('a dump above the part size goes up in parts and comes down whole, checked against its SHA-256', async () => {
    const s3 = await startS3rver('backup-parts')
    const work = mkdtempSync(path.join(tmpdir(), 'invoice-api-parts-'))
    const settings = { ...s3.s3Options, serverSideEncryption: undefined }
    const store = new BucketStore(settings, { partBytes: 5 * 1024 * 1024 })
    try {
      const file = path.join(work, 'dump')
      const bytes = new Uint8Array(12 * 1024 * 1024 + 12_345)
      for (let i = 0; i < bytes.length; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536))
      writeFileSync(file, bytes)
      const relative = backupPath(new Date(), 'parts', 'custom')
      const sha256 = new Bun.CryptoHasher('sha256').update(bytes).digest('hex')
      await store.save(file, relative, { contentType: 'application/octet-stream', sha256 })
      expect(await store.exists(relative)).toBe(true)
      expect((await store.list()).map((backup) => backup.location)).toEqual([`${BACKUP_PREFIX}${relative}`])

      const copy = path.join(work, 'copy')
      expect(await downloadObject(settings, s3.bucket, `${BACKUP_PREFIX}${relative}`, copy)).toEqual({
        bytes: bytes.length,
      })
      expect(Buffer.compare(readFileSync(copy), Buffer.from(bytes))).toBe(0)

      // Stored with another checksum than its bytes have: the download is refused.
      const damaged = backupPath(new Date(Date.now() - 1000), 'parts', 'custom')
      await store.save(file, damaged, { contentType: 'application/octet-stream', sha256: '0'.repeat(64) })
      await expect(downloadObject(settings, s3.bucket, `${BACKUP_PREFIX}${damaged}`, copy)).rejects.toThrow(
        'is damaged: SHA-256',
      )
    } finally {
      store.close()
      await s3.close()
      rmSync(work, { recursive: true, force: true })
    }
  })
})

const serverUrl = process.env['TEST_DATABASE_EMBEDDED'] === '1' ? undefined : process.env['TEST_DATABASE_URL']

interface Run {
  code: number
  stdout: string[]
  stderr: string
}

async function runScript(script: string, args: string[], env: Record<string, string>): Promise<Run> {
  const proc = Bun.spawn(['bun', `scripts/${script}`, ...args], {
    cwd: ROOT,
    env: serverEnv(env),
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [code, stdout, stderr] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ])
  return { code, stdout: stdout.trim().split('\n'), stderr }
}

const randomName = (what: string) => `invoice_${what}_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`

/** The API over the database of `config` (tokens of its COGNITO_ISSUER), storing PDFs with `storage`. */
async function apiOn(config: Readonly<Config>, storage: Storage) {
  const logger = createLogger({ logLevel: 'silent', logPretty: false })
  const database = await openDatabase(config, logger)
  // Every change writes its event in one statement with the job queue's table: its schema is installed as a
  // started process installs it (started and stopped again: no endpoint exists, so no job is ever inserted).
  const jobs = createJobQueue({ db: database.db, logger })
  await declareQueues(jobs, config)
  await jobs.start()
  await jobs.stop({ timeoutMs: 1_000 })
  const app = createApp({
    config,
    logger,
    database,
    storage,
    verifier: await createVerifier(config, logger),
    jobs,
  })
  return { app, database }
}

/** Calls the API as the user `sub`; fails the test on an answer of 300 or more. */
function caller(app: () => App, issuer: TestIssuer) {
  return async (sub: string, pathname: string, method = 'GET', json?: unknown): Promise<Json> => {
    const token = await issuer.sign({ sub })
    const res = await app().handle(
      new Request(`http://localhost${pathname}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(json === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: json === undefined ? null : JSON.stringify(json),
      }),
    )
    const body = (await res.json()) as Json
    if (res.status >= 300) throw new Error(`${method} ${pathname}: ${res.status} ${JSON.stringify(body)}`)
    return body
  }
}

describe.skipIf(serverUrl === undefined)('bun run db:backup and db:restore', () => {
  let admin: postgres.Sql
  let s3: S3rverHandle
  let bucket: S3Client
  let issuer: TestIssuer
  let dataDir: string
  let folder: string
  const names = { source: '', target: '' }
  const urls = { source: '', target: '' }
  let config: Readonly<Config>
  let storage: Storage
  let source: { app: App; database: DatabaseHandle }
  let restored: { app: App; database: DatabaseHandle } | undefined
  /** Environment of the commands: the bucket of the PDFs, and no DATABASE_URL unless given. */
  let s3Env: Record<string, string>
  const backups = { s3: '', folder: '' }
  /** Two users: Ada (two currencies, payments, credit notes, a draft left) and Bob (one credited invoice). */
  const ada = { sub: 'backup-ada', draft: '', lastNumber: 0, lastCreditNote: 0, paid: '' }
  const bob = { sub: 'backup-bob' }

  const urlOf = (name: string) => {
    const url = new URL(serverUrl!)
    url.pathname = `/${name}`
    return url.toString()
  }

  beforeAll(async () => {
    admin = postgres(serverUrl!, { max: 1, onnotice: () => {} })
    names.source = randomName('backup_source')
    names.target = randomName('backup_target')
    await admin.unsafe(`create database "${names.source}"`)
    await admin.unsafe(`create database "${names.target}"`)
    urls.source = urlOf(names.source)
    urls.target = urlOf(names.target)
    s3 = await startS3rver('backup-test')
    bucket = new S3Client({ ...s3.s3Options })
    issuer = await startTestIssuer()
    dataDir = mkdtempSync(path.join(tmpdir(), 'invoice-api-backup-'))
    folder = path.join(dataDir, 'backup-folder')
    s3Env = {
      DATA_DIR: dataDir,
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    }
    config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: urls.source,
      COGNITO_ISSUER: issuer.issuer,
      COGNITO_CLIENT_ID: TEST_CLIENT_ID,
      DB_POOL_MIN: '1',
      DB_POOL_MAX: '4',
      RATE_LIMIT_PER_MINUTE: '1000000',
      ...s3Env,
    })
    storage = await createStorage({
      s3: config.s3,
      dataDir,
      publicBaseUrl: config.publicUrl,
      timeoutMs: config.storageTimeoutMs,
    })
    source = await apiOn(config, storage)
    await migrateToLatest(source.database.db)

    const call = caller(() => source.app, issuer)
    await call(ada.sub, '/api/v1/me', 'PATCH', {
      companyName: 'Ada Ltd',
      defaultCurrency: 'EUR',
      nextInvoiceNumber: 41,
    })
    const eur = await call(ada.sub, '/api/v1/customers', 'POST', { name: 'Zoë Müller', currency: 'EUR' })
    const usd = await call(ada.sub, '/api/v1/customers', 'POST', { name: 'Grace Hopper', currency: 'USD' })
    const draft = async (sub: string, customerId: unknown, unitPrice: number) =>
      (
        await call(sub, '/api/v1/invoices', 'POST', {
          customerId,
          items: [
            { description: 'Design', quantity: 3, unitPrice, taxRate: 19 },
            { description: 'Hosting', quantity: 1.5, unitPrice: 3333, taxRate: 7.25 },
          ],
        })
      )['id'] as string
    const issued: string[] = []
    for (const [customer, price] of [
      [eur['id'], 1999],
      [eur['id'], 5000],
      [usd['id'], 7000],
      [eur['id'], 9000],
    ] as const) {
      const id = await draft(ada.sub, customer, price)
      const sent = await call(ada.sub, `/api/v1/invoices/${id}/mark-as-sent`, 'POST')
      ada.lastNumber = Number(String(sent['number']).replace(/\D/g, ''))
      issued.push(id)
    }
    const [paid, partial, open, voided] = issued as [string, string, string, string]
    ada.paid = paid
    const total = (await call(ada.sub, `/api/v1/invoices/${paid}`))['total'] as number
    await call(ada.sub, `/api/v1/invoices/${paid}/payments`, 'POST', { amount: 1000 })
    await call(ada.sub, `/api/v1/invoices/${paid}/payments`, 'POST', { amount: total - 1000 })
    await call(ada.sub, `/api/v1/invoices/${partial}/payments`, 'POST', { amount: 1234 })
    await call(ada.sub, `/api/v1/invoices/${voided}/void`, 'POST')
    const items = (await call(ada.sub, `/api/v1/invoices/${open}`))['items'] as { id: string }[]
    const note = await call(ada.sub, `/api/v1/invoices/${open}/credit-notes`, 'POST', {
      reason: 'order_change',
      items: [{ invoiceItemId: items[1]!.id, quantity: 0.5 }],
    })
    ada.lastCreditNote = Number(String(note['number']).replace(/\D/g, ''))
    ada.draft = await draft(ada.sub, eur['id'], 4200)

    await call(bob.sub, '/api/v1/me', 'PATCH', { companyName: 'Bob & Co', defaultCurrency: 'GBP' })
    const customer = await call(bob.sub, '/api/v1/customers', 'POST', { name: 'Ørsted A/S' })
    const bobs = await draft(bob.sub, customer['id'], 250)
    await call(bob.sub, `/api/v1/invoices/${bobs}/mark-as-sent`, 'POST')
    await call(bob.sub, `/api/v1/invoices/${bobs}/credit-notes`, 'POST', { reason: 'other' })
  })

  afterAll(async () => {
    await restored?.database.close()
    await source?.database.close()
    await issuer?.stop()
    bucket?.destroy()
    if (storage && 'destroy' in storage) storage.destroy()
    await s3?.close()
    for (const name of [names.source, names.target]) {
      if (name) await admin.unsafe(`drop database if exists "${name}" with (force)`)
    }
    await admin?.end()
    rmSync(dataDir, { recursive: true, force: true })
  })

  /** Every row of every table, each table as a count and a digest, and what keeps the data consistent. */
  async function snapshot(url: string) {
    const sql = postgres(url, { max: 1, onnotice: () => {} })
    try {
      const tables = (
        await sql<
          { name: string }[]
        >`select tablename as name from pg_tables where schemaname = 'public' order by 1`
      ).map((row) => row.name)
      const rows: Record<string, string> = {}
      for (const table of tables) {
        const [row] = await sql.unsafe(
          `select count(*) || ' ' || coalesce(md5(string_agg(t::text, E'\\n' order by t::text)), '-') as digest
           from public."${table}" t`,
        )
        rows[table] = row!['digest'] as string
      }
      const sequences = await sql`
        select sequencename as name, last_value::text from pg_sequences where schemaname = 'public' order by 1`
      // A WHEN clause comes back from the dump's text with its ORs nested differently: the same expression, other
      // parentheses.
      const triggers = await sql`
        select c.relname as table, t.tgname as name, t.tgenabled as enabled,
               translate(pg_get_triggerdef(t.oid), '()', '') as definition
        from pg_trigger t join pg_class c on c.oid = t.tgrelid
        join pg_namespace n on n.oid = c.relnamespace
        where not t.tgisinternal and n.nspname = 'public' order by 1, 2`
      const constraints = await sql`
        select conrelid::regclass::text as table, conname as name, convalidated as validated,
               pg_get_constraintdef(oid) as definition
        from pg_constraint where connamespace = 'public'::regnamespace order by 1, 2`
      const indexes =
        await sql`select indexname, indexdef from pg_indexes where schemaname = 'public' order by 1`
      const functions = await sql`
        select p.proname as name, md5(pg_get_functiondef(p.oid)) as definition
        from pg_proc p where p.pronamespace = 'public'::regnamespace and p.prokind = 'f'
          and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e') order by 1, 2`
      const extensions = await sql`select extname from pg_extension order by 1`
      // Each sequence owned by a column is at or past the column's highest value: the next insert cannot collide.
      const owned = await sql<{ sequence: string; table: string; column: string }[]>`
        select s.relname as sequence, t.relname as table, a.attname as column
        from pg_class s
        join pg_depend d on d.objid = s.oid and d.classid = 'pg_class'::regclass
          and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')
        join pg_class t on t.oid = d.refobjid
        join pg_attribute a on a.attrelid = t.oid and a.attnum = d.refobjsubid
        where s.relkind = 'S' order by 1`
      const behind: string[] = []
      for (const { sequence, table, column } of owned) {
        const [row] = await sql.unsafe(
          `select (select coalesce(max("${column}"), 0) from public."${table}")::text as max,
                  (select last_value from public."${sequence}")::text as last`,
        )
        if (BigInt(row!['last'] as string) < BigInt(row!['max'] as string)) {
          behind.push(`${sequence} at ${row!['last']} < max(${table}.${column}) ${row!['max']}`)
        }
      }
      return {
        rows,
        sequences,
        owned: owned.map((o) => o.sequence),
        behind,
        triggers,
        constraints,
        indexes,
        functions,
        extensions,
      }
    } finally {
      await sql.end()
    }
  }

  async function keysUnder(prefix = ''): Promise<string[]> {
    const page = await bucket.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }))
    return (page.Contents ?? []).map((object) => object.Key!).sort()
  }

  test('db:backup stores a pg_dump archive in the bucket and in a folder, and prunes only its own old backups', async () => {
    const now = Date.now()
    const named = (daysAgo: number, database = names.source) =>
      backupPath(new Date(now - daysAgo * DAY_MS), database, 'custom')
    // Past the retention of 3 days: removed. The rest: kept, whatever its age or name.
    const expired = [
      named(4),
      named(400, 'other'),
      backupPath(new Date(now - 9 * DAY_MS), 'embedded', 'sql.gz'),
    ]
    const kept = [
      named(2),
      '2020/01/01/notes.txt',
      '2020/01/02/20200101T000000Z-misfiled.dump',
      '2020/01/01/20200101T000000Z-x.dump.bak',
    ]
    const outside = [`2020/01/01/20200101T000000Z-${names.source}.dump`, `backups-old/${named(30)}`]
    for (const relative of [...expired, ...kept]) {
      await bucket.send(
        new PutObjectCommand({ Bucket: s3.bucket, Key: `${BACKUP_PREFIX}${relative}`, Body: 'x' }),
      )
      mkdirSync(path.dirname(path.join(folder, relative)), { recursive: true })
      writeFileSync(path.join(folder, relative), 'x')
    }
    for (const key of outside)
      await bucket.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'x' }))
    const pdfs = (await keysUnder()).filter((key) => key.endsWith('.pdf'))
    expect(pdfs.length).toBe(7)

    const env = { ...s3Env, DATABASE_URL: urls.source, BACKUP_RETENTION_DAYS: '3' }
    const [toBucket, toFolder] = await Promise.all([
      runScript('db-backup.ts', ['--to', 's3'], env),
      runScript('db-backup.ts', ['--to', folder], env),
    ])
    expect(toBucket.stderr).toBe('')
    expect(toBucket.code).toBe(0)
    const stored =
      /^db:backup: stored s3:\/\/backup-test\/(backups\/\d{4}\/\d{2}\/\d{2}\/\d{8}T\d{6}Z-.+\.dump)$/.exec(
        toBucket.stdout[0]!,
      )
    expect(stored?.[1]).toEndWith(`-${names.source}.dump`)
    backups.s3 = stored![1]!
    expect(toBucket.stdout[1]).toMatch(
      new RegExp(
        `^db:backup: [\\d.]+ KiB \\(\\d+ bytes, pg_dump custom format, \\d+ entries\\) of ${names.source} `,
      ),
    )
    expect(toBucket.stdout.slice(2).sort()).toEqual(
      expired
        .map((relative) => `db:backup: removed s3://backup-test/backups/${relative} (older than 3 days)`)
        .sort(),
    )
    expect(await keysUnder()).toEqual(
      [...pdfs, ...outside, backups.s3, ...kept.map((relative) => `${BACKUP_PREFIX}${relative}`)].sort(),
    )
    const object = await bucket.send(new GetObjectCommand({ Bucket: s3.bucket, Key: backups.s3 }))
    const body = await object.Body!.transformToByteArray()
    expect(new TextDecoder().decode(body.subarray(0, 5))).toBe('PGDMP')
    expect(object.Metadata?.['sha256']).toMatch(/^[0-9a-f]{64}$/)

    expect(toFolder.stderr).toBe('')
    expect(toFolder.code).toBe(0)
    backups.folder = toFolder.stdout[0]!.replace(/^db:backup: stored /, '')
    // Named as in the bucket (the two ran at once, maybe not within the same second).
    expect(path.relative(folder, backups.folder)).toMatch(
      new RegExp(`^\\d{4}/\\d{2}/\\d{2}/\\d{8}T\\d{6}Z-${names.source}\\.dump$`),
    )
    expect(readFileSync(backups.folder).subarray(0, 5).toString()).toBe('PGDMP')
    for (const relative of expired) expect(existsSync(path.join(folder, relative))).toBe(false)
    for (const relative of kept) expect(existsSync(path.join(folder, relative))).toBe(true)
    // The day folders of the removed backups went with them; no temporary file stayed behind.
    expect(existsSync(path.join(folder, path.dirname(expired[1]!)))).toBe(false)
    expect([...new Bun.Glob('**/.*').scanSync({ cwd: folder, dot: true, onlyFiles: true })]).toEqual([])

    const usage = await runScript('db-backup.ts', ['--to', 's3'], {
      DATABASE_URL: urls.source,
      DATA_DIR: dataDir,
    })
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('--to s3 needs S3_BUCKET')
  })

  test('db:restore of the bucket backup into a fresh database: every row, sequence, trigger and constraint; db:verify clean', async () => {
    const restore = await runScript(
      'db-restore.ts',
      [`s3://${s3.bucket}/${backups.s3}`, '--into', urls.target],
      {
        ...s3Env,
        // The target is --into, whatever DATABASE_URL says; db:verify checks the target, not DATABASE_URL.
        DATABASE_URL: urls.source,
      },
    )
    expect(restore.stderr).toBe('')
    expect(restore.code).toBe(0)
    expect(restore.stdout[0]).toStartWith(
      `db:restore: restored s3://${s3.bucket}/${backups.s3} (` /* bytes, format */,
    )
    expect(restore.stdout[0]).toContain(`pg_dump custom format) into ${names.target} on `)
    expect(restore.stdout.at(-1)).toMatch(
      /^db:verify: no violation \(2 users, 6 invoices, 12 lines, 3 payments, 2 credit notes, 7 documents in /,
    )

    const [before, after] = await Promise.all([snapshot(urls.source), snapshot(urls.target)])
    expect(after).toEqual(before)
    expect(after.owned).toContain('invoice_events_seq_seq')
    expect(after.behind).toEqual([])
    expect(Object.keys(after.rows)).toContain('kysely_migration')
    expect(after.triggers.length).toBeGreaterThanOrEqual(14)
    expect(after.extensions.map((e) => e['extname'])).toEqual(['btree_gin', 'pg_trgm', 'plpgsql'])
  })

  test('an API on the restored database continues the invoice and credit-note numbers without a gap, and reports as the original', async () => {
    const targetConfig = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: urls.target,
      COGNITO_ISSUER: issuer.issuer,
      COGNITO_CLIENT_ID: TEST_CLIENT_ID,
      DB_POOL_MIN: '1',
      DB_POOL_MAX: '4',
      RATE_LIMIT_PER_MINUTE: '1000000',
      ...s3Env,
    })
    restored = await apiOn(targetConfig, storage)
    const original = caller(() => source.app, issuer)
    const copy = caller(() => restored!.app, issuer)

    for (const sub of [ada.sub, bob.sub]) {
      for (const report of ['summary', 'aging', 'revenue']) {
        const path = `/api/v1/reports/${report}`
        expect(await copy(sub, path)).toEqual(await original(sub, path))
      }
      expect(await copy(sub, '/api/v1/invoices?limit=100')).toEqual(
        await original(sub, '/api/v1/invoices?limit=100'),
      )
      expect(await copy(sub, '/api/v1/credit-notes')).toEqual(await original(sub, '/api/v1/credit-notes'))
    }
    // The PDFs are the bucket's: the restored rows point at them.
    const link = await copy(ada.sub, `/api/v1/invoices/${ada.paid}/pdf`)
    expect((await fetch(link['url'] as string)).status).toBe(200)

    const sent = await copy(ada.sub, `/api/v1/invoices/${ada.draft}/mark-as-sent`, 'POST')
    expect(sent['number']).toBe(`INV-${String(ada.lastNumber + 1).padStart(4, '0')}`)
    const note = await copy(ada.sub, `/api/v1/invoices/${ada.paid}/credit-notes`, 'POST', { reason: 'other' })
    expect(note['number']).toBe(`CN-${String(ada.lastCreditNote + 1).padStart(4, '0')}`)
    const payment = await copy(ada.sub, `/api/v1/invoices/${ada.draft}/payments`, 'POST', { amount: 100 })
    expect(payment['amount']).toBe(100)

    // The triggers run on the restored tables: the report tables still equal a recount after the new writes.
    const report = await verifyDatabase(restored.database.db, { storage })
    expect(report.violations.map(formatViolation)).toEqual([])
    expect(report.checked).toMatchObject({ invoices: 6, payments: 4, creditNotes: 3, objects: 9 })
    expect((await snapshot(urls.target)).behind).toEqual([])
  })

  test('db:restore refuses a database that is not empty and leaves it as it was', async () => {
    const before = await snapshot(urls.target)
    for (const into of [urls.target, urls.source]) {
      const refused = await runScript('db-restore.ts', [backups.folder, '--into', into], s3Env)
      expect(refused.code).toBe(3)
      expect(refused.stdout).toEqual([''])
      expect(refused.stderr).toContain(
        `db:restore: refusing to restore into ${new URL(into).pathname.slice(1)} on `,
      )
      expect(refused.stderr).toContain('it is not empty, it has ')
      expect(refused.stderr).toContain('--force')
    }
    expect(await snapshot(urls.target)).toEqual(before)
  })

  test('db:restore --force replaces the database in one transaction: a damaged backup leaves it unchanged', async () => {
    const damaged = path.join(dataDir, 'damaged.dump')
    const archive = readFileSync(backups.folder)
    writeFileSync(damaged, archive.subarray(0, Math.floor(archive.length * 0.7)))
    const before = await snapshot(urls.target)
    const failed = await runScript('db-restore.ts', [damaged, '--into', urls.target, '--force'], s3Env)
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain('db:restore: failed, the target is unchanged')
    expect(await snapshot(urls.target)).toEqual(before)

    const replaced = await runScript(
      'db-restore.ts',
      [backups.folder, '--into', urls.target, '--force'],
      s3Env,
    )
    expect(replaced.stderr).toBe('')
    expect(replaced.code).toBe(0)
    expect(replaced.stdout[0]).toStartWith(`db:restore: --force replaced ${names.target} on `)
    expect(replaced.stdout.at(-1)).toStartWith('db:verify: no violation (2 users, 6 invoices, ')
    // What was written after the backup is gone: the target is the backup again, row for row.
    const [original, copy] = await Promise.all([snapshot(urls.source), snapshot(urls.target)])
    expect(copy.rows).toEqual(original.rows)
    expect(copy.sequences).toEqual(original.sequences)
  }, 60_000)

  test('db:restore exits 4 when db:verify finds a violation in what it restored', async () => {
    // The PDF of an invoice in the backup (the bucket also holds those issued on the restored copy since).
    const { pdf_key: pdf } = await crossTenant(source.database.db)
      .selectFrom('invoices')
      .select('pdf_key')
      .where('id', '=', ada.paid)
      .executeTakeFirstOrThrow()
    await bucket.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: pdf! }))
    // A key of the configured bucket, as db:backup prints it without the bucket.
    const run = await runScript('db-restore.ts', [backups.s3, '--force'], {
      ...s3Env,
      DATABASE_URL: urls.target,
    })
    expect(run.code).toBe(4)
    expect(run.stdout.filter((line) => line.startsWith('object_missing '))).toEqual([
      expect.stringContaining(` invoice=${ada.paid} `),
    ])
    expect(run.stderr).toContain('db:restore: the restored database has violations')
  })
})

/** Whether PGlite's pg_dump is installed (it is what backs up the embedded database). */
const pgliteTools = (() => {
  try {
    Bun.resolveSync(`${PGLITE_TOOLS}/pg_dump`, ROOT)
    return true
  } catch {
    return false
  }
})()

describe.skipIf(!pgliteTools)('the embedded database', () => {
  test('db:backup dumps it with PGlite pg_dump; db:restore restores that into an empty embedded database, and into a server', async () => {
    const original = mkdtempSync(path.join(tmpdir(), 'invoice-api-embedded-'))
    const copy = mkdtempSync(path.join(tmpdir(), 'invoice-api-embedded-copy-'))
    const issuer = await startTestIssuer()
    try {
      const config = loadConfig({
        NODE_ENV: 'test',
        DATA_DIR: original,
        COGNITO_ISSUER: issuer.issuer,
        COGNITO_CLIENT_ID: TEST_CLIENT_ID,
        DB_POOL_MIN: '1',
      })
      const storage = await createStorage({ dataDir: original, publicBaseUrl: config.publicUrl })
      let api = await apiOn(config, storage)
      await migrateToLatest(api.database.db)
      const call = caller(() => api.app, issuer)
      const sub = 'embedded-ada'
      await call(sub, '/api/v1/me', 'PATCH', { companyName: 'Ada Ltd', defaultCurrency: 'EUR' })
      const customer = await call(sub, '/api/v1/customers', 'POST', { name: 'Zoë' })
      const newInvoice = async () =>
        (
          await call(sub, '/api/v1/invoices', 'POST', {
            customerId: customer['id'],
            items: [{ description: 'Work', quantity: 2, unitPrice: 5000, taxRate: 19 }],
          })
        )['id'] as string
      const first = await newInvoice()
      await call(sub, `/api/v1/invoices/${first}/mark-as-sent`, 'POST')
      await call(sub, `/api/v1/invoices/${first}/credit-notes`, 'POST', { reason: 'other' })
      const draft = await newInvoice()
      const reports = await call(sub, '/api/v1/reports/summary')
      // The embedded database belongs to one process: the server stops before a backup.
      await api.database.close()

      const backup = await runScript('db-backup.ts', [], { DATA_DIR: original })
      expect(backup.stderr).toBe('')
      expect(backup.code).toBe(0)
      const file = backup.stdout[0]!.replace(/^db:backup: stored /, '')
      expect(path.relative(path.join(original, 'backups'), file)).toMatch(
        /^\d{4}\/\d{2}\/\d{2}\/\d{8}T\d{6}Z-embedded\.sql\.gz$/,
      )
      // The documents stay where they are (DATA_DIR/objects): only the database is in a backup.
      cpSync(path.join(original, 'objects'), path.join(copy, 'objects'), { recursive: true })
      const restore = await runScript('db-restore.ts', [file], { DATA_DIR: copy })
      expect(restore.stderr).toBe('')
      expect(restore.code).toBe(0)
      expect(restore.stdout.at(-1)).toStartWith('db:verify: no violation (1 user, 2 invoices, ')
      if (!serverUrl) return
      // PGlite's pg_dump is of a newer PostgreSQL than the server's; its script restores there all the same, and an
      // API on that copy reports as the original and carries on its numbers.
      const name = randomName('backup_embedded')
      const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
      await admin.unsafe(`create database "${name}"`)
      try {
        const url = new URL(serverUrl)
        url.pathname = `/${name}`
        const intoServer = await runScript('db-restore.ts', [file, '--into', url.toString()], {
          DATA_DIR: copy,
        })
        expect(intoServer.stderr).toBe('')
        expect(intoServer.code).toBe(0)
        expect(intoServer.stdout.at(-1)).toStartWith('db:verify: no violation (1 user, 2 invoices, ')
        api = await apiOn(
          loadConfig({
            NODE_ENV: 'test',
            DATA_DIR: copy,
            DATABASE_URL: url.toString(),
            COGNITO_ISSUER: issuer.issuer,
            COGNITO_CLIENT_ID: TEST_CLIENT_ID,
            DB_POOL_MIN: '1',
          }),
          await createStorage({ dataDir: copy, publicBaseUrl: config.publicUrl }),
        )
        try {
          expect(await call(sub, '/api/v1/reports/summary')).toEqual(reports)
          expect((await call(sub, `/api/v1/invoices/${draft}/mark-as-sent`, 'POST'))['number']).toBe(
            'INV-0002',
          )
          const note = await call(sub, `/api/v1/invoices/${draft}/credit-notes`, 'POST', { reason: 'other' })
          expect(note['number']).toBe('CN-0002')
        } finally {
          await api.database.close()
        }
      } finally {
        await admin.unsafe(`drop database if exists "${name}" with (force)`)
        await admin.end()
      }
    } finally {
      await issuer.stop()
      rmSync(original, { recursive: true, force: true })
      rmSync(copy, { recursive: true, force: true })
    }
    // PGlite starts slowly on a busy machine (four processes open it here).
  }, 120_000)
})
