import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { sql } from 'kysely'
import postgres from 'postgres'
import { migrateToLatest } from '../../db/migrator'
import { createApp } from '../../src/app'
import { loadConfig } from '../../src/config'
import { createVerifier } from '../../src/deps'
import { crossTenant, type Database, openDatabase } from '../../src/lib/db'
import { createLogger } from '../../src/lib/logger'
import { createStorage, LocalDiskStorage } from '../../src/lib/storage'
import { formatViolation, type Violation, verifyDatabase } from '../../src/ops/verify'
import { createTestApp, type TestApp } from '../helpers/app'
import { startTestIssuer, TEST_CLIENT_ID } from '../helpers/jwks'
import { S3RVER_CREDENTIALS, startS3rver } from '../helpers/s3rver'
import { ROOT, serverEnv } from '../helpers/server-process'

// `db:verify` (src/ops/verify, scripts/db-verify.ts) over data written through the API: nothing to report;
// then each invariant broken in turn, inside a transaction that is rolled back (the database is shared by
// every test file of the run), and each reported. The command itself runs once against a database of its own.

type Json = Record<string, unknown>
type Invoice = { id: string; number: string | null; status: string; total: number; amountPaid: number }

let t: TestApp
let storage: LocalDiskStorage
let userId: string
/** Issued INV-0041 … INV-0045 (the series starts at 41), and a draft. */
const inv = { paid: '', partial: '', open: '', voided: '', last: '', draft: '' }

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' })
  if (!(t.deps.storage instanceof LocalDiskStorage)) throw new Error('the test app stores PDFs on local disk')
  storage = t.deps.storage
  const token = await t.token()
  const call = async (pathname: string, method = 'GET', json?: unknown) => {
    const res = await t.request(pathname, { method, token, ...(json === undefined ? {} : { json }) })
    const body = (await res.json()) as Json
    if (res.status >= 300) throw new Error(`${method} ${pathname}: ${res.status} ${JSON.stringify(body)}`)
    return body
  }
  const me = await call('/api/v1/me', 'PATCH', { companyName: 'Verified Ltd', nextInvoiceNumber: 41 })
  userId = me['id'] as string
  const customer = await call('/api/v1/customers', 'POST', { name: 'Zoë Müller', currency: 'EUR' })
  const draft = async (unitPrice: number, extra: Json = {}) =>
    (
      (await call('/api/v1/invoices', 'POST', {
        customerId: customer['id'],
        items: [
          { description: 'Design', quantity: 3, unitPrice, taxRate: 19 },
          { description: 'Hosting', quantity: 1.5, unitPrice: 3333, taxRate: 7.25 },
        ],
        ...extra,
      })) as unknown as Invoice
    ).id
  inv.paid = await draft(1999, { discountPercent: 10 })
  inv.partial = await draft(5000)
  inv.open = await draft(7000, { issueDate: '2026-01-05', dueDate: '2026-02-04' })
  inv.voided = await draft(9000)
  inv.last = await draft(100)
  inv.draft = await draft(123)
  for (const id of [inv.paid, inv.partial, inv.open, inv.voided, inv.last]) {
    await call(`/api/v1/invoices/${id}/mark-as-sent`, 'POST')
  }
  const paid = (await call(`/api/v1/invoices/${inv.paid}`)) as unknown as Invoice
  await call(`/api/v1/invoices/${inv.paid}/payments`, 'POST', {
    amount: 1000,
    paidAt: '2026-01-10T23:30:00Z',
  })
  await call(`/api/v1/invoices/${inv.paid}/payments`, 'POST', { amount: paid.total - 1000 })
  await call(`/api/v1/invoices/${inv.partial}/payments`, 'POST', { amount: 1 })
  await call(`/api/v1/invoices/${inv.voided}/void`, 'POST')
})
afterAll(() => t.close())

const db = () => t.deps.database.db
const verify = (database: Database = db()) => verifyDatabase(database, { userIds: [userId], storage })

class RolledBack extends Error {}

/** What the verifier reports while `corrupt` holds, in a transaction then rolled back (triggers off). */
async function whileCorrupted(
  corrupt: (trx: Database) => Promise<unknown>,
  check: (database: Database) => ReturnType<typeof verify> = verify,
): Promise<Violation[]> {
  let found: Violation[] = []
  await db()
    .transaction()
    .execute(async (trx) => {
      // Replica sessions fire no triggers: neither the report rollups nor the totals guard see the damage.
      await sql`set local session_replication_role = replica`.execute(trx)
      await corrupt(crossTenant(trx))
      found = (await check(trx)).violations
      throw new RolledBack()
    })
    .catch((error: unknown) => {
      if (!(error instanceof RolledBack)) throw error
    })
  return found
}

const kinds = (violations: Violation[]) => [...new Set(violations.map((v) => v.kind))].sort()
const of = (violations: Violation[], kind: Violation['kind']) => violations.filter((v) => v.kind === kind)

async function pdfPath(invoiceId: string): Promise<string> {
  const row = await crossTenant(db())
    .selectFrom('invoices')
    .select('pdf_key')
    .where('id', '=', invoiceId)
    .executeTakeFirstOrThrow()
  return path.join(storage.root, row.pdf_key!)
}

describe('db:verify', () => {
  test('when the data was written through the API, then nothing is reported', async () => {
    const report = await verify()
    expect(report.violations.map(formatViolation)).toEqual([])
    expect(report.ok).toBe(true)
    expect(report.checked).toMatchObject({ users: 1, invoices: 6, items: 12, payments: 3, objects: 5 })
  })

  test('when a number is skipped, then the gap is reported at the invoice after it', async () => {
    const found = await whileCorrupted(async (trx) => {
      await trx
        .updateTable('invoices')
        .set({ number_seq: 46, number: 'INV-0046' })
        .where('id', '=', inv.last)
        .execute()
      await trx
        .updateTable('users')
        .set({ last_invoice_number: 46, next_invoice_number: 47 })
        .where('id', '=', userId)
        .execute()
    })
    expect(found).toEqual([
      {
        kind: 'number_gap',
        userId,
        invoiceId: inv.last,
        number: 'INV-0046',
        expected: 'number_seq 45 after INV-0044',
        found: 'number_seq 46',
      },
    ])
  })

  test('when the profile raised nextInvoiceNumber between two issues, then that jump is not a gap, another is', async () => {
    const token = await t.token()
    const call = async (pathname: string, method = 'GET', json?: unknown) => {
      const res = await t.request(pathname, { method, token, ...(json === undefined ? {} : { json }) })
      expect(res.status).toBeLessThan(300)
      return (await res.json()) as Json
    }
    const me = await call('/api/v1/me', 'PATCH', { defaultCurrency: 'EUR' })
    const customer = await call('/api/v1/customers', 'POST', { name: 'Jumper' })
    const issue = async () => {
      const draft = await call('/api/v1/invoices', 'POST', {
        customerId: customer['id'],
        items: [{ description: 'Work', quantity: 1, unitPrice: 100 }],
      })
      return (await call(`/api/v1/invoices/${draft['id']}/mark-as-sent`, 'POST')) as unknown as Invoice
    }
    await issue()
    // Raised to 50, then set back to 20 before the next issue: the series continues at 20.
    await call('/api/v1/me', 'PATCH', { nextInvoiceNumber: 50 })
    await call('/api/v1/me', 'PATCH', { nextInvoiceNumber: 20 })
    expect((await issue()).number).toBe('INV-0020')
    const third = await issue()
    const own = (database: Database = db()) =>
      verifyDatabase(database, { userIds: [me['id'] as string], storage })
    expect((await own()).violations.map(formatViolation)).toEqual([])

    const found = await whileCorrupted(
      (trx) =>
        trx
          .updateTable('invoices')
          .set({ number_seq: 23, number: 'INV-0023' })
          .where('id', '=', third.id)
          .execute(),
      own,
    )
    expect(found.filter((v) => v.invoiceId === third.id).map((v) => v.kind)).toContain('number_gap')
  })

  test('when a number is used twice, then both invoices are reported as duplicates', async () => {
    const found = await whileCorrupted(async (trx) => {
      // The unique indexes make a duplicate impossible; they go for the length of the transaction.
      await sql`drop index invoices_user_number_seq_key`.execute(trx)
      await sql`drop index invoices_user_number_key`.execute(trx)
      await trx
        .updateTable('invoices')
        .set({ number_seq: 44, number: 'INV-0044' })
        .where('id', '=', inv.last)
        .execute()
      await trx
        .updateTable('users')
        .set({ last_invoice_number: 44, next_invoice_number: 45 })
        .where('id', '=', userId)
        .execute()
    })
    expect(kinds(found)).toEqual(['number_duplicate'])
    expect(found.map((v) => v.found)).toContain('number INV-0044 on 2 invoices')
    expect(found.filter((v) => v.found.startsWith('number_seq 44 also on invoice '))).toHaveLength(1)
    expect(new Set(found.map((v) => v.invoiceId))).toEqual(new Set([inv.voided, inv.last]))
  })

  test('when the number does not end with its sequence or the counter falls behind, then both are reported', async () => {
    const found = await whileCorrupted(async (trx) => {
      await trx.updateTable('invoices').set({ number: 'INV-45' }).where('id', '=', inv.last).execute()
      await trx
        .updateTable('users')
        .set({ last_invoice_number: 43, next_invoice_number: 44 })
        .where('id', '=', userId)
        .execute()
    })
    expect(kinds(found)).toEqual(['number_counter', 'number_format'])
    expect(of(found, 'number_counter')[0]).toMatchObject({
      expected: 'next_invoice_number > 45 and last_invoice_number = 45',
      found: 'next_invoice_number 44, last_invoice_number 43',
    })
  })

  test('when an invoice total is not the sum of its lines, then the totals are reported with both sides', async () => {
    const found = await whileCorrupted((trx) =>
      // Still subtotal − discount + tax, so only the sum over the lines is wrong.
      trx
        .updateTable('invoices')
        .set({ subtotal: sql`subtotal + 1`, total: sql`total + 1` })
        .where('id', '=', inv.open)
        .execute(),
    )
    const [totals] = of(found, 'invoice_totals')
    expect(totals).toBeDefined()
    expect(totals!.invoiceId).toBe(inv.open)
    expect(totals!.expected).toMatch(/^the sums of its lines: subtotal=\d+ .* \(2 lines\)$/)
    expect(formatViolation(totals!)).toStartWith(
      `invoice_totals user=${userId} invoice=${inv.open} number=INV-0043`,
    )
    // The report triggers were off, so the rollups no longer match either; nothing else is wrong.
    expect(kinds(found)).toEqual([
      'invoice_totals',
      'report_daily_totals',
      'report_monthly_totals',
      'report_open_balances',
    ])
  })

  test('when a line keeps its amounts after its quantity changed, then the stale line is reported', async () => {
    const found = await whileCorrupted((trx) =>
      trx
        .updateTable('invoice_items')
        .set({ quantity: '4' })
        .where('invoice_id', '=', inv.draft)
        .where('position', '=', 0)
        .execute(),
    )
    expect(found).toEqual([
      {
        kind: 'item_amounts',
        userId,
        invoiceId: inv.draft,
        number: null,
        subject: 'line 0',
        expected:
          'subtotal=492 discount=0 tax=93 total=585 from quantity=4.000 unitPrice=123 taxRate=19.000 discountPercent=0.000',
        found: 'subtotal=369 discount=0 tax=70 total=439',
      },
    ])
  })

  test('when payments exceed the total, then overpaid and the amount paid are reported', async () => {
    const found = await whileCorrupted(async (trx) => {
      const invoice = await trx
        .selectFrom('invoices')
        .select(['total', 'user_id'])
        .where('id', '=', inv.partial)
        .executeTakeFirstOrThrow()
      await trx
        .insertInto('payments')
        .values({
          invoice_id: inv.partial,
          user_id: invoice.user_id,
          amount: invoice.total,
          currency: 'EUR',
          paid_at: new Date(),
          method: 'cash',
        })
        .execute()
    })
    expect(of(found, 'overpaid').map((v) => v.invoiceId)).toEqual([inv.partial])
    expect(of(found, 'amount_paid')[0]).toMatchObject({
      invoiceId: inv.partial,
      found: 'amount_paid 1',
    })
  })

  test('when a status does not follow the amounts or a payment is in another currency, then both are reported', async () => {
    const found = await whileCorrupted(async (trx) => {
      await trx.updateTable('invoices').set({ status: 'paid' }).where('id', '=', inv.partial).execute()
      await trx.updateTable('payments').set({ currency: 'USD' }).where('invoice_id', '=', inv.paid).execute()
    })
    expect(of(found, 'status')).toHaveLength(1)
    expect(of(found, 'status')[0]).toMatchObject({ invoiceId: inv.partial })
    expect(of(found, 'status')[0]!.found).toStartWith('status paid, amount_paid 1 of ')
    expect(of(found, 'payment_mismatch')[0]).toMatchObject({ invoiceId: inv.paid, found: 'currency USD' })
  })

  test('when each report table is off by one, then each row is reported against the recount', async () => {
    const found = await whileCorrupted(async (trx) => {
      const mine = sql`user_id = ${userId}`
      await sql`update report_open_balances set amount_due = amount_due + 1 where ${mine}`.execute(trx)
      await sql`update report_draft_counts set drafts = drafts + 1 where ${mine}`.execute(trx)
      await sql`update report_daily_totals set issued = issued + 1 where ${mine} and day = '2026-01-05'`.execute(
        trx,
      )
      await sql`update report_monthly_totals set collected = collected - 1 where ${mine} and month = '2026-01-01'`.execute(
        trx,
      )
    })
    expect(kinds(found)).toEqual([
      'report_daily_totals',
      'report_draft_counts',
      'report_monthly_totals',
      'report_open_balances',
    ])
    expect(of(found, 'report_draft_counts')).toEqual([
      {
        kind: 'report_draft_counts',
        userId,
        invoiceId: null,
        number: null,
        subject: 'EUR',
        expected: 'drafts=1',
        found: 'drafts=2',
      },
    ])
    expect(of(found, 'report_daily_totals')[0]).toMatchObject({ subject: 'EUR 2026-01-05' })
    expect(of(found, 'report_daily_totals')[0]!.found).toContain('issued=2')
    expect(of(found, 'report_daily_totals')[0]!.expected).toContain('issued=1')
    expect(of(found, 'report_monthly_totals')[0]!.subject).toBe('EUR 2026-01-01')
  })

  test('when a stored PDF is deleted or altered, then the object is reported missing or with its new hash', async () => {
    const deleted = await pdfPath(inv.paid)
    const altered = await pdfPath(inv.open)
    const [deletedBytes, alteredBytes] = await Promise.all([readFile(deleted), readFile(altered)])
    try {
      await rm(deleted)
      const flipped = new Uint8Array(alteredBytes)
      flipped[100] = flipped[100]! ^ 0xff
      await writeFile(altered, flipped)

      const found = (await verify()).violations
      expect(kinds(found)).toEqual(['object_mismatch', 'object_missing'])
      expect(of(found, 'object_missing')[0]).toMatchObject({ invoiceId: inv.paid, found: 'no object' })
      const mismatch = of(found, 'object_mismatch')[0]!
      expect(mismatch.invoiceId).toBe(inv.open)
      expect(mismatch.found).toEndWith(` size=${alteredBytes.byteLength}`)
      expect(mismatch.found).not.toBe(mismatch.expected)
    } finally {
      await writeFile(deleted, deletedBytes)
      await writeFile(altered, alteredBytes)
    }
    expect((await verify()).ok).toBe(true)
  })

  test('when the recorded hash or document of an issued invoice is lost, then it is reported', async () => {
    const found = await whileCorrupted(async (trx) => {
      await trx
        .updateTable('invoices')
        .set({ pdf_sha256: '0'.repeat(64) })
        .where('id', '=', inv.open)
        .execute()
      await trx.updateTable('invoices').set({ pdf_key: null }).where('id', '=', inv.last).execute()
    })
    expect(kinds(found)).toEqual(['object_mismatch', 'pdf_metadata'])
    expect(of(found, 'object_mismatch')[0]!.expected).toStartWith(`sha256=${'0'.repeat(64)} `)
    expect(of(found, 'pdf_metadata')[0]).toMatchObject({ invoiceId: inv.last, number: 'INV-0045' })
  })
})

describe('db:verify with PDFs in S3', () => {
  test('when an object is deleted from the bucket, then it is reported missing; the others are read and match', async () => {
    const s3 = await startS3rver('verify-test')
    const client = new S3Client({ ...s3.s3Options })
    const app = await createTestApp({
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    })
    try {
      const token = await app.token()
      const post = async (pathname: string, json: unknown) => {
        const res = await app.request(pathname, { method: 'POST', token, json })
        expect(res.status).toBeLessThan(300)
        return (await res.json()) as Invoice & { pdf: { sha256: string } }
      }
      const customer = await post('/api/v1/customers', { name: 'Bucket Ltd', currency: 'EUR' })
      const issued: (Invoice & { pdf: { sha256: string } })[] = []
      for (const unitPrice of [100, 200]) {
        const draft = await post('/api/v1/invoices', {
          customerId: customer.id,
          items: [{ description: 'Storage', quantity: 1, unitPrice, taxRate: 0 }],
        })
        issued.push(await post(`/api/v1/invoices/${draft.id}/mark-as-sent`, {}))
      }
      const owner = (await (await app.request('/api/v1/me', { token })).json()) as { id: string }
      const options = { userIds: [owner.id], storage: app.deps.storage }
      expect((await verifyDatabase(db(), options)).violations).toEqual([])

      const row = await crossTenant(db())
        .selectFrom('invoices')
        .select('pdf_key')
        .where('id', '=', issued[0]!.id)
        .executeTakeFirstOrThrow()
      await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: row.pdf_key! }))
      const report = await verifyDatabase(db(), options)
      expect(report.violations).toEqual([
        {
          kind: 'object_missing',
          userId: owner.id,
          invoiceId: issued[0]!.id,
          number: issued[0]!.number,
          subject: row.pdf_key!,
          expected: expect.stringMatching(new RegExp(`^sha256=${issued[0]!.pdf.sha256} size=\\d+$`)),
          found: 'no object',
        },
      ])
      expect(report.checked.objects).toBe(2)
    } finally {
      await app.close()
      client.destroy()
      await s3.close()
    }
  })
})

const serverUrl = process.env['TEST_DATABASE_EMBEDDED'] === '1' ? undefined : process.env['TEST_DATABASE_URL']

describe.skipIf(serverUrl === undefined)('bun run db:verify', () => {
  test('when the database is clean, corrupted, then unreachable, then the command exits 0, 1, then 2', async () => {
    const name = `invoice_verify_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`
    const admin = postgres(serverUrl!, { max: 1, onnotice: () => {} })
    await admin.unsafe(`create database "${name}"`)
    const url = new URL(serverUrl!)
    url.pathname = `/${name}`
    const databaseUrl = url.toString()
    const dataDir = mkdtempSync(path.join(tmpdir(), 'invoice-api-verify-'))
    const issuer = await startTestIssuer()
    const config = loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      COGNITO_ISSUER: issuer.issuer,
      COGNITO_CLIENT_ID: TEST_CLIENT_ID,
      DB_POOL_MIN: '1',
      DB_POOL_MAX: '2',
    })
    const logger = createLogger({ logLevel: 'silent', logPretty: false })
    const database = await openDatabase(config, logger)
    try {
      await migrateToLatest(database.db)
      const storage = await createStorage({ dataDir, publicBaseUrl: config.publicUrl })
      const app = createApp({
        config,
        logger,
        database,
        storage,
        verifier: await createVerifier(config, logger),
      })
      const token = await issuer.sign()
      const call = async (pathname: string, json?: unknown) => {
        const res = await app.handle(
          new Request(`http://localhost${pathname}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify(json ?? {}),
          }),
        )
        expect(res.status).toBeLessThan(300)
        return (await res.json()) as Invoice
      }
      const customer = await call('/api/v1/customers', { name: 'Ada', currency: 'EUR' })
      const invoice = await call('/api/v1/invoices', {
        customerId: customer.id,
        items: [{ description: 'Work', quantity: 2, unitPrice: 5000, taxRate: 19 }],
      })
      const issued = await call(`/api/v1/invoices/${invoice.id}/mark-as-sent`)
      await call(`/api/v1/invoices/${invoice.id}/payments`, { amount: 100 })

      const run = async (env: Record<string, string>) => {
        const proc = Bun.spawn(['bun', 'scripts/db-verify.ts'], {
          cwd: ROOT,
          env: serverEnv({ DATA_DIR: dataDir, ...env }),
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

      const clean = await run({ DATABASE_URL: databaseUrl })
      expect(clean.stdout).toEqual([
        expect.stringMatching(
          /^db:verify: no violation \(1 user, 1 invoice, 1 line, 1 payment, 1 document in /,
        ),
      ])
      expect(clean.code).toBe(0)

      await crossTenant(database.db)
        .transaction()
        .execute(async (trx) => {
          await sql`set local session_replication_role = replica`.execute(trx)
          await sql`update invoices set subtotal = subtotal + 1, total = total + 1 where id = ${issued.id}`.execute(
            trx,
          )
        })
      const corrupted = await run({ DATABASE_URL: databaseUrl })
      expect(corrupted.code).toBe(1)
      expect(corrupted.stdout[0]).toStartWith(`invoice_totals user=`)
      expect(corrupted.stdout[0]).toContain(` invoice=${issued.id} number=${issued.number} `)
      expect(corrupted.stdout.at(-1)).toStartWith('db:verify: ')
      expect(corrupted.stdout.at(-1)).toContain('invoice_totals 1')

      // A port that was just free: the connection is refused.
      const probe = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
      const port = probe.port
      probe.stop(true)
      const unreachable = await run({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres` })
      expect(unreachable.code).toBe(2)
      expect(unreachable.stderr).toContain('db:verify: cannot connect to the database')
    } finally {
      await database.close()
      await issuer.stop()
      await admin.unsafe(`drop database if exists "${name}" with (force)`)
      await admin.end()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 60_000)
})
