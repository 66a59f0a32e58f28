import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
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
import { createJobQueue } from '../../src/lib/jobs'
import { createLogger } from '../../src/lib/logger'
import { createStorage, LocalDiskStorage } from '../../src/lib/storage'
import { formatViolation, type Violation, verifyDatabase } from '../../src/ops/verify'
import { declareQueues } from '../../src/workers'
import { createTestApp, type TestApp } from '../helpers/app'
import { startTestIssuer, TEST_CLIENT_ID } from '../helpers/jwks'
import { S3RVER_CREDENTIALS, startS3rver } from '../helpers/s3rver'
import { ROOT, serverEnv } from '../helpers/server-process'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

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
/**
 * Issued through the API: CN-0001 credits a line of the paid invoice (a refund), CN-0002 and CN-0003 the rest of
 * a line of the open one (the second exhausts it), CN-0004 all of the last invoice (credited).
 */
const cn = { paid: '', openFirst: '', openRest: '', last: '' }

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
  /** `quantity` of the lines at `position`, or everything left without `lines`. */
  const creditNote = async (id: string, lines?: { position: number; quantity: number }[]) => {
    const invoice = (await call(`/api/v1/invoices/${id}`)) as { items: { id: string }[] }
    const items = lines?.map(({ position, quantity }) => ({
      invoiceItemId: invoice.items[position]!.id,
      quantity,
    }))
    const note = await call(`/api/v1/invoices/${id}/credit-notes`, 'POST', {
      reason: 'order_change',
      ...(items ? { items } : {}),
    })
    return note['id'] as string
  }
  cn.paid = await creditNote(inv.paid, [{ position: 0, quantity: 1 }])
  cn.openFirst = await creditNote(inv.open, [{ position: 1, quantity: 0.5 }])
  cn.openRest = await creditNote(inv.open, [{ position: 1, quantity: 1 }])
  cn.last = await creditNote(inv.last)
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
    expect(report.checked).toMatchObject({
      users: 1,
      invoices: 6,
      items: 12,
      payments: 3,
      creditNotes: 4,
      objects: 9,
    })
    const statuses = await crossTenant(db())
      .selectFrom('invoices')
      .select(['id', 'status', 'credited_total'])
      .where('user_id', '=', userId)
      .execute()
    const status = (id: string) => statuses.find((row) => row.id === id)?.status
    expect([inv.paid, inv.open, inv.last].map(status)).toEqual(['paid', 'sent', 'credited'])
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
      // The constraint that holds every new write to it goes for the length of the transaction.
      await sql`alter table invoices drop constraint invoices_status_follows_balance`.execute(trx)
      await trx.updateTable('invoices').set({ status: 'paid' }).where('id', '=', inv.partial).execute()
      await trx.updateTable('payments').set({ currency: 'USD' }).where('invoice_id', '=', inv.paid).execute()
    })
    expect(of(found, 'status')).toHaveLength(1)
    expect(of(found, 'status')[0]).toMatchObject({ invoiceId: inv.partial })
    expect(of(found, 'status')[0]!.found).toStartWith('status paid, amount_paid 1 of ')
    expect(of(found, 'payment_mismatch')[0]).toMatchObject({ invoiceId: inv.paid, found: 'currency USD' })
  })

  test("when a credit note's totals are not the sums of its lines, then the note and its invoice's credited_total are reported", async () => {
    const found = await whileCorrupted((trx) =>
      // Still subtotal − discount + tax and applied + refund, so only the sums are wrong.
      trx
        .updateTable('credit_notes')
        .set({ subtotal: sql`subtotal + 1`, total: sql`total + 1`, refund_due: sql`refund_due + 1` })
        .where('id', '=', cn.paid)
        .execute(),
    )
    // The report triggers were off: the day and month of the note no longer match their recount either.
    expect(kinds(found)).toEqual([
      'credit_note_totals',
      'credited_total',
      'report_daily_totals',
      'report_monthly_totals',
    ])
    const [totals] = of(found, 'credit_note_totals')
    expect(totals).toMatchObject({ invoiceId: inv.paid, creditNoteId: cn.paid, number: 'CN-0001' })
    expect(totals!.expected).toMatch(
      /^the sums of its lines: subtotal=1999 discount=200 tax=342 total=2141 \(1 lines\)$/,
    )
    expect(totals!.found).toBe('subtotal=2000 discount=200 tax=342 total=2142')
    expect(formatViolation(totals!)).toStartWith(
      `credit_note_totals user=${userId} invoice=${inv.paid} credit_note=${cn.paid} number=CN-0001 `,
    )
    expect(of(found, 'credited_total')).toEqual([
      {
        kind: 'credited_total',
        userId,
        invoiceId: inv.paid,
        number: 'INV-0041',
        expected: 'credited_total 2142 (the sum of 1 credit notes)',
        found: 'credited_total 2141',
      },
    ])
  })

  test('when credited_total is changed or an invoice is credited short of its total, then both are reported', async () => {
    const found = await whileCorrupted(async (trx) => {
      await trx
        .updateTable('invoices')
        .set({ credited_total: sql`credited_total + 1` })
        .where('id', '=', inv.open)
        .execute()
      await sql`alter table invoices drop constraint invoices_credited_status`.execute(trx)
      await trx.updateTable('invoices').set({ status: 'credited' }).where('id', '=', inv.partial).execute()
    })
    expect(kinds(found)).toEqual(['credited_total', 'report_open_balances', 'status'])
    expect(of(found, 'credited_total')[0]).toMatchObject({
      invoiceId: inv.open,
      expected: expect.stringMatching(/^credited_total \d+ \(the sum of 2 credit notes\)$/),
    })
    expect(of(found, 'status')).toEqual([
      expect.objectContaining({
        invoiceId: inv.partial,
        expected: 'status partially_paid: sent_at set, paid_at/voided_at null',
        found: expect.stringMatching(
          /^status credited, amount_paid 1 of \d+, credited_total 0, 1 payments, /,
        ),
      }),
    ])
  })

  test('when the credits of an invoice line pass the line, then the line is reported', async () => {
    const found = await whileCorrupted(async (trx) => {
      // The first credit of the open invoice's Hosting line takes 2 of its 1.5 units; another line's tax changes sign.
      await trx
        .updateTable('credit_note_items')
        .set({ quantity: '2' })
        .where('credit_note_id', '=', cn.openFirst)
        .execute()
      await trx
        .updateTable('credit_note_items')
        .set({ tax: sql`-tax`, total: sql`subtotal - discount - tax` })
        .where('credit_note_id', '=', cn.paid)
        .execute()
    })
    const lines = of(found, 'credit_exceeds_line')
    expect(lines.map((v) => [v.invoiceId, v.number, v.subject])).toEqual([
      [inv.paid, 'INV-0041', 'line 0'],
      [inv.open, 'INV-0043', 'line 1'],
    ])
    expect(lines[1]).toMatchObject({
      expected: 'credits within the line: quantity=1.500 subtotal=5000 discount=0 tax=363 total=5363',
      found: 'credited quantity=3.000 subtotal=5000 discount=0 tax=363 total=5363 (2 credit lines)',
    })
    expect(lines[0]!.found).toContain(' tax=-342 ')
  })

  test('when a credit note is not of its invoice, then the mismatch is reported', async () => {
    const found = await whileCorrupted((trx) =>
      trx.updateTable('credit_notes').set({ currency: 'USD' }).where('id', '=', cn.last).execute(),
    )
    expect(of(found, 'credit_note_mismatch')).toEqual([
      {
        kind: 'credit_note_mismatch',
        userId,
        invoiceId: inv.last,
        creditNoteId: cn.last,
        number: 'CN-0004',
        expected: "its invoice's user, currency and customer, an issued invoice, and lines of that invoice",
        found: 'currency USD on an invoice in EUR',
      },
    ])
  })

  test('when a credit note number is skipped, then the gap is reported unless the credit-note series records a raise', async () => {
    const renumber = (trx: Database) =>
      Promise.all([
        trx
          .updateTable('credit_notes')
          .set({ number_seq: 6, number: 'CN-0006' })
          .where('id', '=', cn.last)
          .execute(),
        trx
          .updateTable('users')
          .set({ last_credit_note_number: 6, next_credit_note_number: 7 })
          .where('id', '=', userId)
          .execute(),
      ])
    const skip = (series: 'invoice' | 'credit_note') => (trx: Database) =>
      trx
        .insertInto('invoice_number_skips')
        .values({ user_id: userId, series, after_seq: 3, next_seq: 6 })
        .execute()

    const gap: Violation = {
      kind: 'number_gap',
      userId,
      invoiceId: inv.last,
      creditNoteId: cn.last,
      number: 'CN-0006',
      expected: 'number_seq 4 after CN-0003',
      found: 'number_seq 6',
    }
    expect(await whileCorrupted(renumber)).toEqual([gap])
    // A raise of the invoice series explains nothing in the credit-note series.
    expect(await whileCorrupted(async (trx) => [await renumber(trx), await skip('invoice')(trx)])).toEqual([
      gap,
    ])
    expect(
      await whileCorrupted(async (trx) => [await renumber(trx), await skip('credit_note')(trx)]),
    ).toEqual([])
  })

  test('when the credit-note counter falls behind, then it is reported', async () => {
    const found = await whileCorrupted((trx) =>
      trx
        .updateTable('users')
        .set({ last_credit_note_number: 2, next_credit_note_number: 3 })
        .where('id', '=', userId)
        .execute(),
    )
    expect(found).toEqual([
      {
        kind: 'number_counter',
        userId,
        invoiceId: null,
        number: null,
        expected: 'next_credit_note_number > 4 and last_credit_note_number = 4',
        found: 'next_credit_note_number 3, last_credit_note_number 2',
      },
    ])
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

  test("when a credit note's stored PDF is deleted or its hash changed, then it is reported with the note", async () => {
    const { rows } = await sql<{ id: string; pdf_key: string }>`
      select id, pdf_key from credit_notes where id in (${cn.openFirst}, ${cn.openRest})`.execute(
      crossTenant(db()),
    )
    const file = path.join(storage.root, rows.find((row) => row.id === cn.openFirst)!.pdf_key)
    const bytes = await readFile(file)
    try {
      await rm(file)
      const found = await whileCorrupted((trx) =>
        trx
          .updateTable('credit_notes')
          .set({ pdf_sha256: '0'.repeat(64) })
          .where('id', '=', cn.openRest)
          .execute(),
      )
      expect(kinds(found)).toEqual(['object_mismatch', 'object_missing'])
      expect(of(found, 'object_missing')).toEqual([
        {
          kind: 'object_missing',
          userId,
          invoiceId: inv.open,
          creditNoteId: cn.openFirst,
          number: 'CN-0002',
          subject: rows.find((row) => row.id === cn.openFirst)!.pdf_key,
          expected: expect.stringMatching(/^sha256=[0-9a-f]{64} size=\d+$/),
          found: 'no object',
        },
      ])
      expect(of(found, 'object_mismatch')[0]).toMatchObject({
        invoiceId: inv.open,
        creditNoteId: cn.openRest,
        number: 'CN-0003',
        expected: expect.stringMatching(/^sha256=0{64} /),
      })
    } finally {
      await writeFile(file, bytes)
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
      // Every change writes its event in one statement with the job queue's table, so the queue's schema must
      // exist, as in every process that starts its queue; no endpoint exists, so no job is ever inserted.
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
          /^db:verify: no violation \(1 user, 1 invoice, 1 line, 1 payment, 0 credit notes, 1 document in /,
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
