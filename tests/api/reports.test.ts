import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { sql } from 'kysely'
import { crossTenant } from '../../src/lib/db'
import { createTestApp, type TestApp } from '../helpers/app'
import { edenClient } from '../helpers/eden'
import { addDays, dayIn, invoiceFactory } from '../helpers/invoice-factory'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

type ErrorEnvelope = { error: { code: string; details?: { path: string; message: string }[] } }

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' })
})
afterAll(() => t.close())

/** A new user with the given profile time zone, and a factory writing invoices for them. */
async function newUser(timeZone = 'UTC') {
  const token = await t.token()
  const api = edenClient(t, token)
  const { data: me } = await api.api.v1.me.get()
  if (timeZone !== 'UTC') {
    const res = await api.api.v1.me.patch({ timezone: timeZone })
    expect(res.status).toBe(200)
  }
  return { token, userId: me!.id, ...invoiceFactory(t.deps.database.db, me!.id) }
}

/**
 * A credit note of `total` dated `issueDate` against an invoice of the factory (one line carrying its total),
 * written as the credit-note service leaves it, in its order: the invoice locked, the next number of the user's
 * credit-note series taken, the invoice's credited_total and the status that follows, then the note and its line.
 */
async function creditNote(userId: string, invoiceId: string, total: number, issueDate: string) {
  await crossTenant(t.deps.database.db)
    .transaction()
    .execute(async (trx) => {
      const { rows } = await sql<{ total: string; amount_paid: string; credited_total: string }>`
        select total, amount_paid, credited_total from invoices
         where id = ${invoiceId} and user_id = ${userId} for update`.execute(trx)
      const invoice = rows[0]!
      const [invoiceTotal, paid, before] = [invoice.total, invoice.amount_paid, invoice.credited_total].map(
        Number,
      ) as [number, number, number]
      const { rows: numbered } = await sql<{ seq: string; number: string }>`
        update users set next_credit_note_number = next_credit_note_number + 1,
                         last_credit_note_number = next_credit_note_number
         where id = ${userId}
        returning last_credit_note_number as seq,
                  credit_note_prefix || lpad(last_credit_note_number::text, 4, '0') as number`.execute(trx)
      const credited = before + total
      const status =
        credited === invoiceTotal
          ? 'credited'
          : paid + credited >= invoiceTotal
            ? 'paid'
            : paid > 0
              ? 'partially_paid'
              : 'sent'
      await sql`update invoices set credited_total = ${credited}, status = ${status},
          paid_at = case when ${status} = 'paid' then coalesce(paid_at, now()) else paid_at end
        where id = ${invoiceId}`.execute(trx)
      const applied = Math.min(total, Math.max(0, invoiceTotal - paid - before))
      await sql`
        with note as (
          insert into credit_notes (user_id, invoice_id, customer_id, number, number_seq, reason, currency,
            discount_percent, subtotal, discount_total, tax_total, total, applied_to_balance, refund_due, bill_to,
            seller, issue_date, issued_at, pdf_key, pdf_sha256, pdf_size, pdf_generated_at)
          select user_id, id, customer_id, ${numbered[0]!.number}, ${numbered[0]!.seq}, 'other', currency, 0,
                 ${total}, 0, 0, ${total}, ${applied}, ${total - applied}, '{}', '{}', ${issueDate},
                 ${`${issueDate}T12:00:00Z`}, 'credit-notes/' || gen_random_uuid() || '.pdf', repeat('0', 64), 1, now()
            from invoices where id = ${invoiceId}
          returning id
        )
        insert into credit_note_items (credit_note_id, user_id, invoice_item_id, position, description, quantity,
          unit_price, tax_rate, subtotal, discount, tax, total)
        select note.id, it.user_id, it.id, 0, it.description,
               greatest(0.001, round(${total}::numeric / it.total, 3)), it.unit_price, 0, ${total}, 0, 0, ${total}
          from note cross join invoice_items it where it.invoice_id = ${invoiceId}`.execute(trx)
    })
}

const reports = (token: string) => edenClient(t, token).api.v1.reports
type Period = { from?: string; to?: string }

/** The rows of a report answered with 200. */
function rows<D>(
  answer: { status: number } & (
    | { data: { data: D }; error: null }
    | { data: null; error: { value: unknown } }
  ),
): D {
  expect(answer.status).toBe(200)
  if (answer.error) throw answer.error.value
  return answer.data.data
}

const summary = async (token: string, query: Period = {}) => rows(await reports(token).summary.get({ query }))
const aging = async (token: string) => rows(await reports(token).aging.get())
const revenue = async (token: string, query: Period = {}) => rows(await reports(token).revenue.get({ query }))
type RevenueRow = Awaited<ReturnType<typeof revenue>>[number]

async function expectValidationError(
  answer: { status: number; error: { value: unknown } | null },
  path: string,
): Promise<void> {
  expect(answer.status).toBe(400)
  const body = answer.error?.value as ErrorEnvelope
  expect(body.error.code).toBe('VALIDATION_ERROR')
  expect(body.error.details?.map((d) => d.path)).toContain(path)
}

const zero = { outstanding: 0, overdue: 0, invoiced: 0, credited: 0, collected: 0 }

describe('GET /api/v1/reports/summary', () => {
  test('when invoices are in every status, then outstanding and overdue are the amountDue of sent and partially paid ones', async () => {
    const { token, invoice } = await newUser()
    const today = dayIn('UTC')
    const longAgo = addDays(today, -400)
    const paidAt = `${longAgo}T12:00:00Z`
    await invoice({ status: 'sent', total: 1000, issueDate: today, dueDate: addDays(today, 10) })
    await invoice({ status: 'sent', total: 2000, issueDate: longAgo, dueDate: addDays(today, -1) })
    await invoice({
      status: 'partially_paid',
      total: 5000,
      issueDate: longAgo,
      dueDate: addDays(today, -5),
      payments: [{ amount: 1500, paidAt }],
    })
    await invoice({
      status: 'partially_paid',
      total: 400,
      issueDate: longAgo,
      dueDate: today,
      payments: [{ amount: 100, paidAt }],
    })
    await invoice({
      status: 'paid',
      total: 7000,
      issueDate: longAgo,
      dueDate: addDays(today, -30),
      payments: [{ amount: 7000, paidAt }],
    })
    await invoice({ status: 'draft', total: 9000, issueDate: longAgo, dueDate: addDays(today, -30) })
    await invoice({ status: 'void', total: 8000, issueDate: longAgo, dueDate: addDays(today, -40) })

    const [row, ...others] = await summary(token, { from: today, to: today })
    expect(others).toEqual([])
    expect(row).toEqual({
      currency: 'USD',
      outstanding: 1000 + 2000 + 3500 + 300,
      overdue: 2000 + 3500,
      invoiced: 1000,
      credited: 0,
      collected: 0,
      counts: { draft: 1, open: 4, overdue: 2 },
    })
  })

  test('when invoices are issued around the period, then invoiced sums the issued ones from `from` to `to`, never drafts or void ones', async () => {
    const { token, invoice } = await newUser()
    const later = { amount: 1, paidAt: '2025-05-01T12:00:00Z' }
    await invoice({ status: 'sent', total: 100, issueDate: '2025-03-01' })
    await invoice({ status: 'paid', total: 200, issueDate: '2025-03-31', amountPaid: 200, payments: [] })
    await invoice({ status: 'partially_paid', total: 400, issueDate: '2025-03-15', payments: [later] })
    await invoice({ status: 'sent', total: 800, issueDate: '2025-02-28' })
    await invoice({ status: 'sent', total: 1600, issueDate: '2025-04-01' })
    await invoice({ status: 'draft', total: 3200, issueDate: '2025-03-10' })
    await invoice({ status: 'void', total: 6400, issueDate: '2025-03-10' })

    const [row] = await summary(token, { from: '2025-03-01', to: '2025-03-31' })
    expect(row).toMatchObject({ invoiced: 100 + 200 + 400, collected: 0 })
  })

  test('when payments fall around the period, then collected counts those from 00:00 of `from` to the end of `to` in the profile time zone', async () => {
    const payments = [
      { amount: 1, paidAt: '2025-02-28T09:59:59.999Z' },
      { amount: 2, paidAt: '2025-02-28T10:00:00.000Z' },
      { amount: 16, paidAt: '2025-03-15T12:00:00.000Z' },
      { amount: 4, paidAt: '2025-03-31T09:59:59.999Z' },
      { amount: 8, paidAt: '2025-03-31T10:00:00.000Z' },
    ]
    const kiritimati = await newUser('Pacific/Kiritimati')
    const utc = await newUser('UTC')
    for (const user of [kiritimati, utc]) {
      await user.invoice({ status: 'paid', total: 31, issueDate: '2025-01-10', payments })
    }
    const query = { from: '2025-03-01', to: '2025-03-31' }
    expect((await summary(kiritimati.token, query))[0]).toMatchObject({ invoiced: 0, collected: 2 + 16 + 4 })
    expect((await summary(utc.token, query))[0]).toMatchObject({ invoiced: 0, collected: 16 + 4 + 8 })
  })

  test('when invoices are in several currencies, then each has its own row, ordered by currency', async () => {
    const { token, invoice } = await newUser()
    await invoice({
      status: 'sent',
      total: 500,
      currency: 'USD',
      issueDate: '2025-06-01',
      dueDate: '2099-01-01',
    })
    await invoice({
      status: 'sent',
      total: 300,
      currency: 'EUR',
      issueDate: '2025-06-01',
      dueDate: '2099-01-01',
    })
    await invoice({ status: 'draft', total: 700, currency: 'JPY', issueDate: '2025-06-01' })

    expect(await summary(token, { from: '2025-01-01', to: '2025-12-31' })).toEqual([
      {
        currency: 'EUR',
        ...zero,
        outstanding: 300,
        invoiced: 300,
        counts: { draft: 0, open: 1, overdue: 0 },
      },
      { currency: 'JPY', ...zero, counts: { draft: 1, open: 0, overdue: 0 } },
      {
        currency: 'USD',
        ...zero,
        outstanding: 500,
        invoiced: 500,
        counts: { draft: 0, open: 1, overdue: 0 },
      },
    ])
  })

  test('when another user has invoices and payments, then they never appear', async () => {
    const other = await newUser()
    await other.invoice({
      status: 'partially_paid',
      total: 900,
      issueDate: dayIn('UTC'),
      payments: [{ amount: 100, paidAt: new Date() }],
    })
    await other.invoice({ status: 'draft', total: 900, currency: 'EUR', issueDate: dayIn('UTC') })
    const { token, invoice } = await newUser()
    expect(await summary(token)).toEqual([])
    expect(await aging(token)).toEqual([])
    expect(await revenue(token)).toEqual([])

    await invoice({ status: 'sent', total: 40, currency: 'CHF', issueDate: dayIn('UTC') })
    expect((await summary(token)).map((row) => [row.currency, row.outstanding, row.invoiced])).toEqual([
      ['CHF', 40, 40],
    ])
  })

  test('when no period is sent, then it is the year to date in the profile time zone', async () => {
    const zone = 'Pacific/Kiritimati'
    const { token, invoice } = await newUser(zone)
    const today = dayIn(zone)
    const newYear = `${today.slice(0, 4)}-01-01`
    await invoice({ status: 'sent', total: 1, issueDate: newYear })
    await invoice({ status: 'sent', total: 2, issueDate: addDays(newYear, -1) })
    await invoice({ status: 'sent', total: 4, issueDate: today })
    await invoice({ status: 'sent', total: 8, issueDate: addDays(today, 1) })
    await invoice({
      status: 'partially_paid',
      total: 100,
      issueDate: addDays(newYear, -1),
      payments: [
        { amount: 16, paidAt: new Date() },
        { amount: 32, paidAt: `${addDays(newYear, -1)}T00:00:00+14:00` },
      ],
    })
    expect((await summary(token))[0]).toMatchObject({ invoiced: 1 + 4, collected: 16 })
  })

  test('when only `to` is sent, then the period starts on January 1 of its year', async () => {
    const { token, invoice } = await newUser()
    await invoice({ status: 'sent', total: 1, issueDate: '2024-12-31' })
    await invoice({ status: 'sent', total: 2, issueDate: '2025-01-01' })
    await invoice({ status: 'sent', total: 4, issueDate: '2025-06-30' })
    await invoice({ status: 'sent', total: 8, issueDate: '2025-07-01' })
    expect((await summary(token, { to: '2025-06-30' }))[0]).toMatchObject({ invoiced: 2 + 4 })
  })
})

describe('GET /api/v1/reports/aging', () => {
  test('when open invoices are due around today, then each lands in its bucket by days past due, edges included', async () => {
    const { token, invoice } = await newUser()
    const today = dayIn('UTC')
    const due = async (daysAgo: number, total: number) => {
      const dueDate = addDays(today, -daysAgo)
      await invoice({ status: 'sent', total, issueDate: dueDate, dueDate })
    }
    await due(-1, 1)
    await due(0, 2)
    await due(1, 4)
    await due(30, 8)
    await due(31, 16)
    await due(60, 32)
    await due(61, 64)
    await due(90, 128)
    await due(91, 256)
    const overdue = addDays(today, -200)
    const paidAt = new Date()
    await invoice({
      status: 'partially_paid',
      total: 1000,
      issueDate: overdue,
      payments: [{ amount: 488, paidAt }],
    })
    await invoice({ status: 'paid', total: 2048, issueDate: overdue, payments: [{ amount: 2048, paidAt }] })
    await invoice({ status: 'draft', total: 4096, issueDate: overdue })
    await invoice({ status: 'void', total: 8192, issueDate: overdue })

    expect(await aging(token)).toEqual([
      {
        currency: 'USD',
        buckets: { current: 1 + 2, '1-30': 4 + 8, '31-60': 16 + 32, '61-90': 64 + 128, '90+': 256 + 512 },
      },
    ])
  })

  test('when open invoices are in several currencies, then each currency has its own buckets', async () => {
    const { token, invoice } = await newUser()
    const today = dayIn('UTC')
    await invoice({ status: 'sent', total: 10, currency: 'EUR', issueDate: today })
    await invoice({ status: 'sent', total: 20, currency: 'JPY', issueDate: addDays(today, -45) })
    expect(await aging(token)).toEqual([
      { currency: 'EUR', buckets: { current: 10, '1-30': 0, '31-60': 0, '61-90': 0, '90+': 0 } },
      { currency: 'JPY', buckets: { current: 0, '1-30': 0, '31-60': 20, '61-90': 0, '90+': 0 } },
    ])
  })

  // UTC+14 and UTC−11 are 25 hours apart: at any moment at least one of them is on another date than UTC.
  for (const zone of ['Pacific/Kiritimati', 'Pacific/Pago_Pago']) {
    test(`when the profile is in ${zone}, then "today" is the date there, for aging and for overdue`, async () => {
      const { token, invoice } = await newUser(zone)
      const today = dayIn(zone)
      await invoice({ status: 'sent', total: 10, issueDate: addDays(today, -1) })
      await invoice({ status: 'sent', total: 20, issueDate: today })
      expect(await aging(token)).toEqual([
        { currency: 'USD', buckets: { current: 20, '1-30': 10, '31-60': 0, '61-90': 0, '90+': 0 } },
      ])
      expect((await summary(token))[0]).toMatchObject({
        outstanding: 30,
        overdue: 10,
        counts: { draft: 0, open: 2, overdue: 1 },
      })
    })
  }
})

describe('GET /api/v1/reports/revenue', () => {
  test('when activity is in some months only, then every month of the period answers for every active currency, zeros included', async () => {
    const { token, invoice } = await newUser()
    await invoice({
      status: 'paid',
      total: 100,
      issueDate: '2025-02-10',
      payments: [{ amount: 100, paidAt: '2025-05-03T12:00:00Z' }],
    })
    await invoice({ status: 'sent', total: 50, currency: 'EUR', issueDate: '2025-03-31' })
    await invoice({ status: 'draft', total: 999, issueDate: '2025-04-01' })
    await invoice({ status: 'void', total: 999, issueDate: '2025-04-02' })
    await invoice({ status: 'sent', total: 7, issueDate: '2024-12-31' })
    await invoice({ status: 'sent', total: 5, currency: 'JPY', issueDate: '2025-07-01' })

    const rows = await revenue(token, { from: '2025-01-01', to: '2025-06-30' })
    const activity: Record<string, Partial<RevenueRow>> = {
      '2025-02 USD': { invoiced: 100 },
      '2025-03 EUR': { invoiced: 50 },
      '2025-05 USD': { collected: 100 },
    }
    const expected = ['01', '02', '03', '04', '05', '06'].flatMap((m) =>
      ['EUR', 'USD'].map((currency) => {
        const month = `2025-${m}`
        return {
          month,
          currency,
          invoiced: 0,
          credited: 0,
          collected: 0,
          ...activity[`${month} ${currency}`],
        }
      }),
    )
    expect(rows).toEqual(expected)
  })

  test('when a payment is made at the turn of a month, then it counts in the month of the profile time zone', async () => {
    const { token, invoice } = await newUser('Pacific/Kiritimati')
    await invoice({
      status: 'paid',
      total: 300,
      issueDate: '2025-01-15',
      payments: [
        { amount: 100, paidAt: '2025-01-31T09:59:59Z' },
        { amount: 200, paidAt: '2025-01-31T10:00:00Z' },
      ],
    })
    expect(await revenue(token, { from: '2025-01-01', to: '2025-02-28' })).toEqual([
      { month: '2025-01', currency: 'USD', invoiced: 300, credited: 0, collected: 100 },
      { month: '2025-02', currency: 'USD', invoiced: 0, credited: 0, collected: 200 },
    ])
  })

  test('when the period starts and ends inside months, then those months count only its days', async () => {
    const { token, invoice } = await newUser()
    await invoice({ status: 'sent', total: 1, issueDate: '2025-01-14' })
    await invoice({ status: 'sent', total: 2, issueDate: '2025-01-15' })
    await invoice({ status: 'sent', total: 4, issueDate: '2025-02-10' })
    await invoice({ status: 'sent', total: 8, issueDate: '2025-02-11' })
    expect(await revenue(token, { from: '2025-01-15', to: '2025-02-10' })).toEqual([
      { month: '2025-01', currency: 'USD', invoiced: 2, credited: 0, collected: 0 },
      { month: '2025-02', currency: 'USD', invoiced: 4, credited: 0, collected: 0 },
    ])
  })

  test('when no period is sent, then it covers the months of the year to date in the profile time zone', async () => {
    const zone = 'Pacific/Kiritimati'
    const { token, invoice } = await newUser(zone)
    const today = dayIn(zone)
    await invoice({ status: 'sent', total: 5, issueDate: today })
    const rows = await revenue(token)
    const month = Number(today.slice(5, 7))
    expect(rows.map((row) => row.month)).toEqual(
      Array.from({ length: month }, (_, i) => `${today.slice(0, 4)}-${String(i + 1).padStart(2, '0')}`),
    )
    expect(rows.at(-1)).toEqual({
      month: today.slice(0, 7),
      currency: 'USD',
      invoiced: 5,
      credited: 0,
      collected: 0,
    })
  })

  test('when nothing was invoiced or collected in the period, then data is empty', async () => {
    const { token, invoice } = await newUser()
    await invoice({ status: 'draft', total: 5, issueDate: '2025-03-01' })
    await invoice({ status: 'sent', total: 5, issueDate: '2024-03-01' })
    expect(await revenue(token, { from: '2025-01-01', to: '2025-12-31' })).toEqual([])
  })

  test('when the period touches 120 months, then it answers them all; 121 months is a VALIDATION_ERROR', async () => {
    const { token, invoice } = await newUser()
    await invoice({ status: 'sent', total: 5, issueDate: '2020-01-01' })
    const rows = await revenue(token, { from: '2016-01-31', to: '2025-12-01' })
    expect(rows).toHaveLength(120)
    expect([rows[0]!.month, rows.at(-1)!.month]).toEqual(['2016-01', '2025-12'])
    await expectValidationError(
      await reports(token).revenue.get({ query: { from: '2015-12-31', to: '2025-12-01' } }),
      '/query/to',
    )
    await expectValidationError(
      await reports(token).revenue.get({ query: { from: '2000-01-01' } }),
      '/query/from',
    )
  })
})

describe('credit notes in reports', () => {
  test("when credit notes are dated in another month than their invoices, then invoiced is net by the notes' dates and credited shows them", async () => {
    const { token, userId, invoice } = await newUser()
    // Partly paid in January, credited 200 in March.
    const january = await invoice({
      status: 'partially_paid',
      total: 1000,
      issueDate: '2025-01-10',
      dueDate: '2025-02-09',
      payments: [{ amount: 300, paidAt: '2025-01-20T12:00:00Z' }],
    })
    await creditNote(userId, january, 200, '2025-03-05')
    // Issued and wholly credited in March: still issued, its credit note subtracts.
    const march = await invoice({
      status: 'sent',
      total: 500,
      issueDate: '2025-03-01',
      dueDate: '2025-03-31',
    })
    await creditNote(userId, march, 500, '2025-03-02')

    const outstanding = { outstanding: 500, overdue: 500, counts: { draft: 0, open: 1, overdue: 1 } }
    expect(await summary(token, { from: '2025-01-01', to: '2025-01-31' })).toEqual([
      { currency: 'USD', ...outstanding, invoiced: 1000, credited: 0, collected: 300 },
    ])
    expect(await summary(token, { from: '2025-03-01', to: '2025-03-31' })).toEqual([
      { currency: 'USD', ...outstanding, invoiced: 500 - 700, credited: 700, collected: 0 },
    ])
    expect(await summary(token, { from: '2025-01-01', to: '2025-03-31' })).toEqual([
      { currency: 'USD', ...outstanding, invoiced: 1500 - 700, credited: 700, collected: 300 },
    ])
    expect(await revenue(token, { from: '2025-01-01', to: '2025-04-30' })).toEqual([
      { month: '2025-01', currency: 'USD', invoiced: 1000, credited: 0, collected: 300 },
      { month: '2025-02', currency: 'USD', invoiced: 0, credited: 0, collected: 0 },
      { month: '2025-03', currency: 'USD', invoiced: -200, credited: 700, collected: 0 },
      { month: '2025-04', currency: 'USD', invoiced: 0, credited: 0, collected: 0 },
    ])
    expect(await aging(token)).toEqual([
      { currency: 'USD', buckets: { current: 0, '1-30': 0, '31-60': 0, '61-90': 0, '90+': 500 } },
    ])
  })

  test('when only a credit note falls in the period, then its currency answers with a negative invoiced', async () => {
    const { token, userId, invoice } = await newUser()
    const id = await invoice({
      status: 'paid',
      total: 900,
      amountPaid: 900,
      currency: 'EUR',
      issueDate: '2024-12-20',
      payments: [],
    })
    await creditNote(userId, id, 150, '2025-02-03')
    expect(await summary(token, { from: '2025-02-01', to: '2025-02-28' })).toEqual([
      { currency: 'EUR', ...zero, invoiced: -150, credited: 150, counts: { draft: 0, open: 0, overdue: 0 } },
    ])
    expect(await revenue(token, { from: '2025-01-15', to: '2025-02-03' })).toEqual([
      { month: '2025-01', currency: 'EUR', invoiced: 0, credited: 0, collected: 0 },
      { month: '2025-02', currency: 'EUR', invoiced: -150, credited: 150, collected: 0 },
    ])
    // The day before it, nothing happened.
    expect(await revenue(token, { from: '2025-01-15', to: '2025-02-02' })).toEqual([])
  })

  test('when a partially paid invoice is partly credited, then outstanding and aging drop by the credit; credited in full, it leaves them', async () => {
    const { token, userId, invoice } = await newUser()
    const today = dayIn('UTC')
    const id = await invoice({
      status: 'partially_paid',
      total: 1000,
      issueDate: today,
      dueDate: addDays(today, 10),
      payments: [{ amount: 400, paidAt: new Date() }],
    })
    const open = async () => {
      const [row] = await summary(token, { from: today, to: today })
      const [buckets] = await aging(token)
      return { row, current: buckets?.buckets.current ?? 0 }
    }
    expect(await open()).toMatchObject({
      row: { outstanding: 600, invoiced: 1000, credited: 0 },
      current: 600,
    })

    await creditNote(userId, id, 250, today)
    expect(await open()).toMatchObject({
      row: { outstanding: 350, invoiced: 750, credited: 250, counts: { open: 1 } },
      current: 350,
    })

    // The rest of the total: credited, nothing due; 400 already paid is a refund, not a negative balance.
    await creditNote(userId, id, 750, today)
    expect(await open()).toEqual({
      row: {
        currency: 'USD',
        ...zero,
        invoiced: 0,
        credited: 1000,
        collected: 400,
        counts: { draft: 0, open: 0, overdue: 0 },
      },
      current: 0,
    })
  })
})

describe('report parameters', () => {
  test('when `to` is before `from`, then 400 VALIDATION_ERROR naming /query/to', async () => {
    const { token } = await newUser()
    for (const report of ['summary', 'revenue'] as const) {
      await expectValidationError(
        await reports(token)[report].get({ query: { from: '2026-03-02', to: '2026-03-01' } }),
        '/query/to',
      )
    }
  })

  const badDates = [
    '2026-02-30',
    '2025-02-29',
    '2026-13-01',
    '2026-1-5',
    '20260105',
    'yesterday',
    '0000-01-01',
  ]
  for (const date of badDates) {
    test(`when a date is ${date}, then 400 VALIDATION_ERROR naming it`, async () => {
      const { token } = await newUser()
      for (const report of ['summary', 'revenue'] as const) {
        await expectValidationError(
          await reports(token)[report].get({ query: { from: date, to: '2026-12-31' } }),
          '/query/from',
        )
        await expectValidationError(
          await reports(token)[report].get({ query: { from: '2000-01-01', to: date } }),
          '/query/to',
        )
      }
    })
  }

  test('when a leap day is sent, then it is a date like any other', async () => {
    const { token } = await newUser()
    expect(await summary(token, { from: '2024-02-29', to: '2024-02-29' })).toEqual([])
  })

  test('when `from` is after today and `to` is left out, then 400 VALIDATION_ERROR naming /query/from', async () => {
    const { token } = await newUser()
    await expectValidationError(
      await reports(token).summary.get({ query: { from: dayIn('UTC', 2) } }),
      '/query/from',
    )
  })

  test('when an unknown parameter is sent, then 400 VALIDATION_ERROR', async () => {
    const { token } = await newUser()
    for (const [report, query] of [
      ['summary', '?currency=USD'],
      ['revenue', '?from=2026-01-01&month=2026-01'],
      ['aging', '?from=2026-01-01'],
    ] as const) {
      const res = await t.request(`/api/v1/reports/${report}${query}`, { token })
      expect(res.status).toBe(400)
      expect(((await res.json()) as ErrorEnvelope).error.code).toBe('VALIDATION_ERROR')
    }
  })

  test('when no token is sent, then 401 for every report', async () => {
    for (const report of ['summary', 'aging', 'revenue'] as const) {
      const res = await edenClient(t).api.v1.reports[report].get()
      expect(res.status).toBe(401)
    }
  })
})
