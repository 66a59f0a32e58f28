import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { sql } from 'kysely'
import { crossTenant } from '../../src/lib/db'
import { createTestApp, type TestApp } from '../helpers/app'
import { dayIn, invoiceFactory } from '../helpers/invoice-factory'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

// The reports read totals that triggers keep (db/migrations/20261126210000_report_rollups.ts,
// 20261202110000_report_credits.ts). These tests hold those totals against a recount of the invoices, payments and
// credit notes after writes through the API, and the collected amounts against a direct sum of the payments, in
// time zones whose midnights are not UTC's.

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' })
})
afterAll(() => t.close())

type Json = Record<string, unknown>

async function call(token: string, path: string, method = 'GET', json?: unknown) {
  const res = await t.request(path, { method, token, ...(json === undefined ? {} : { json }) })
  const text = await res.text()
  return { status: res.status, body: (text ? JSON.parse(text) : null) as Json }
}

async function newUser(timeZone = 'UTC') {
  const token = await t.token()
  const me = await call(token, '/api/v1/me')
  if (timeZone !== 'UTC') {
    expect((await call(token, '/api/v1/me', 'PATCH', { timezone: timeZone })).status).toBe(200)
  }
  return { token, id: me.body['id'] as string }
}

async function customer(token: string, currency: string): Promise<string> {
  const res = await call(token, '/api/v1/customers', 'POST', { name: `Client ${currency}`, currency })
  expect(res.status).toBe(201)
  return res.body['id'] as string
}

async function draft(
  token: string,
  customerId: string,
  unitPrice: number,
  dates: Json = {},
): Promise<string> {
  const res = await call(token, '/api/v1/invoices', 'POST', {
    customerId,
    items: [{ description: 'Work', quantity: 1, unitPrice, taxRate: 0 }],
    ...dates,
  })
  expect(res.status).toBe(201)
  return res.body['id'] as string
}

const send = (token: string, id: string) => call(token, `/api/v1/invoices/${id}/mark-as-sent`, 'POST')
const pay = (token: string, id: string, amount: number, paidAt?: string) =>
  call(token, `/api/v1/invoices/${id}/payments`, 'POST', { amount, ...(paidAt ? { paidAt } : {}) })
const voidInvoice = (token: string, id: string) => call(token, `/api/v1/invoices/${id}/void`, 'POST')

/** The id of an invoice's first (with `draft`, only) line. */
async function lineOf(token: string, id: string): Promise<string> {
  const res = await call(token, `/api/v1/invoices/${id}`)
  expect(res.status).toBe(200)
  return (res.body['items'] as { id: string }[])[0]!.id
}

/**
 * A credit note through the API, dated today in the profile's time zone: `quantity` of the invoice's one line,
 * or everything left without it. Answers the note's total.
 */
async function credit(token: string, id: string, quantity?: number): Promise<number> {
  const items = quantity === undefined ? undefined : [{ invoiceItemId: await lineOf(token, id), quantity }]
  const res = await call(token, `/api/v1/invoices/${id}/credit-notes`, 'POST', {
    reason: 'order_change',
    ...(items ? { items } : {}),
  })
  if (res.status !== 201) throw new Error(`credit note: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body['total'] as number
}

const sorted = <T>(rows: T[]) => rows.map((r) => JSON.stringify(r)).sort()

/** The report tables of one user next to the same figures counted from its invoices and payments. */
async function totalsAndRecount(userId: string) {
  const db = crossTenant(t.deps.database.db)
  const kept = {
    open: await sql<Json>`select currency, due_date::text as day, amount_due::bigint::text as amount, invoices as n
      from report_open_balances where user_id = ${userId}`.execute(db),
    drafts: await sql<Json>`select currency, drafts as n
      from report_draft_counts where user_id = ${userId} and drafts <> 0`.execute(db),
    days: await sql<Json>`select currency, day::text as day, invoiced::text as invoiced, issued,
        collected::text as collected, payments, credited::text as credited, credit_notes
      from report_daily_totals where user_id = ${userId}
       and (issued, payments, invoiced, collected, credited, credit_notes) <> (0, 0, 0, 0, 0, 0)`.execute(db),
    months: await sql<Json>`select currency, month::text as month, invoiced::text as invoiced, issued,
        collected::text as collected, payments, credited::text as credited, credit_notes
      from report_monthly_totals where user_id = ${userId}
       and (issued, payments, invoiced, collected, credited, credit_notes) <> (0, 0, 0, 0, 0, 0)`.execute(db),
  }
  const recount = {
    open: await sql<Json>`select currency, due_date::text as day,
        sum(total - amount_paid - credited_total)::bigint::text as amount,
        count(*)::int as n
      from invoices where user_id = ${userId} and status in ('sent', 'partially_paid')
      group by currency, due_date`.execute(db),
    drafts: await sql<Json>`select currency, count(*)::int as n
      from invoices where user_id = ${userId} and status = 'draft' group by currency`.execute(db),
    // A credited invoice is still issued; its credit notes count on their own issue dates.
    days: await sql<Json>`select currency, day::text as day, sum(invoiced)::bigint::text as invoiced,
        sum(issued)::int as issued, sum(collected)::bigint::text as collected, sum(payments)::int as payments,
        sum(credited)::bigint::text as credited, sum(credit_notes)::int as credit_notes
      from (
        select currency, issue_date as day, total as invoiced, 1 as issued, 0 as collected, 0 as payments,
               0 as credited, 0 as credit_notes
        from invoices where user_id = ${userId} and status in ('sent', 'partially_paid', 'paid', 'credited')
        union all
        select p.currency, (p.paid_at at time zone u.timezone)::date, 0, 0, p.amount, 1, 0, 0
        from payments p join users u on u.id = p.user_id where p.user_id = ${userId}
        union all
        select currency, issue_date, 0, 0, 0, 0, total, 1
        from credit_notes where user_id = ${userId}
      ) facts
      group by currency, day`.execute(db),
  }
  // Month rows are the day rows summed by calendar month.
  const amounts = ['invoiced', 'collected', 'credited'] as const
  const counts = ['issued', 'payments', 'credit_notes'] as const
  const months = new Map<string, Json>()
  for (const day of recount.days.rows) {
    const month = `${String(day['day']).slice(0, 7)}-01`
    const key = `${day['currency']} ${month}`
    const sum = months.get(key) ?? {
      currency: day['currency'],
      month,
      invoiced: 0n,
      issued: 0,
      collected: 0n,
      payments: 0,
      credited: 0n,
      credit_notes: 0,
    }
    for (const amount of amounts) sum[amount] = (sum[amount] as bigint) + BigInt(day[amount] as string)
    for (const count of counts) sum[count] = (sum[count] as number) + (day[count] as number)
    months.set(key, sum)
  }
  const monthRows = [...months.values()]
    .filter((m) => counts.some((c) => m[c] !== 0) || amounts.some((a) => m[a] !== 0n))
    .map((m) => ({
      ...m,
      invoiced: String(m['invoiced']),
      collected: String(m['collected']),
      credited: String(m['credited']),
    }))
  return {
    kept: {
      open: sorted(kept.open.rows),
      drafts: sorted(kept.drafts.rows),
      days: sorted(kept.days.rows),
      months: sorted(kept.months.rows),
    },
    recount: {
      open: sorted(recount.open.rows),
      drafts: sorted(recount.drafts.rows),
      days: sorted(recount.days.rows),
      months: sorted(monthRows),
    },
  }
}

describe('report totals', () => {
  test('when invoices go through their whole lifecycle through the API, then the report tables equal a recount', async () => {
    const { token, id: userId } = await newUser('America/St_Johns')
    const eur = await customer(token, 'EUR')
    const usd = await customer(token, 'USD')
    const ids = {
      a: await draft(token, eur, 10_000, { issueDate: '2026-01-05', dueDate: '2026-02-04' }),
      b: await draft(token, eur, 20_000, { issueDate: '2026-01-05', dueDate: '2026-02-04' }),
      c: await draft(token, usd, 30_000, { issueDate: '2026-01-06', dueDate: '2026-01-20' }),
      d: await draft(token, usd, 40_000),
      e: await draft(token, eur, 50_000),
      f: await draft(token, eur, 60_000, { issueDate: '2026-01-05', dueDate: '2026-02-04' }),
    }
    const before = await totalsAndRecount(userId)
    expect(before.kept.drafts).toEqual(['{"currency":"EUR","n":4}', '{"currency":"USD","n":2}'])

    // A draft changes currency and another is deleted; drafts change nothing else.
    expect((await call(token, `/api/v1/invoices/${ids.d}`, 'PATCH', { currency: 'GBP' })).status).toBe(200)
    expect((await call(token, `/api/v1/invoices/${ids.e}`, 'DELETE')).status).toBe(204)
    for (const id of [ids.a, ids.b, ids.c, ids.f]) expect((await send(token, id)).status).toBe(200)
    expect((await pay(token, ids.a, 2_500, '2026-01-10T02:00:00Z')).status).toBe(201)
    expect((await pay(token, ids.a, 7_500, '2026-01-10T23:30:00Z')).status).toBe(201)
    expect((await pay(token, ids.b, 1, '2026-01-31T23:59:59.999Z')).status).toBe(201)
    expect((await pay(token, ids.c, 29_999)).status).toBe(201)
    expect((await voidInvoice(token, ids.f)).status).toBe(200)

    const after = await totalsAndRecount(userId)
    expect(after.kept).toEqual(after.recount)
    expect(after.kept.drafts).toEqual(['{"currency":"GBP","n":1}'])
    expect(after.kept.months).toContain(
      '{"currency":"EUR","month":"2026-01-01","invoiced":"30000","issued":2,"collected":"10001","payments":3,"credited":"0","credit_notes":0}',
    )
    // a is paid and f void: what stays open is b (EUR, due 2026-02-04) and c (USD, due 2026-01-20).
    expect(after.kept.open).toEqual([
      '{"currency":"EUR","day":"2026-02-04","amount":"19999","n":1}',
      '{"currency":"USD","day":"2026-01-20","amount":"1","n":1}',
    ])
    // Payments count on their day in St. John's (UTC−03:30): 02:00 UTC on January 10 is still January 9 there.
    expect(after.kept.days).toContain(
      '{"currency":"EUR","day":"2026-01-09","invoiced":"0","issued":0,"collected":"2500","payments":1,"credited":"0","credit_notes":0}',
    )
    expect(after.kept.days).toContain(
      '{"currency":"EUR","day":"2026-01-10","invoiced":"0","issued":0,"collected":"7500","payments":1,"credited":"0","credit_notes":0}',
    )

    const rows = (await call(token, '/api/v1/reports/summary?from=2026-01-01&to=2026-01-31')).body['data']
    expect(rows).toEqual([
      {
        currency: 'EUR',
        outstanding: 19_999,
        overdue: 19_999,
        invoiced: 30_000,
        credited: 0,
        // 23:59:59.999 UTC of January 31 is 20:29 in St. John's: inside the period.
        collected: 10_001,
        counts: { draft: 0, open: 1, overdue: 1 },
      },
      {
        currency: 'GBP',
        outstanding: 0,
        overdue: 0,
        invoiced: 0,
        credited: 0,
        collected: 0,
        counts: { draft: 1, open: 0, overdue: 0 },
      },
      {
        currency: 'USD',
        outstanding: 1,
        overdue: 1,
        invoiced: 30_000,
        credited: 0,
        collected: 0,
        counts: { draft: 0, open: 1, overdue: 1 },
      },
    ])
  })

  test('when credit notes through the API follow payments, a month or more after their invoices, then the tables equal a recount and invoiced is net', async () => {
    const zone = 'Asia/Kathmandu'
    const { token, id: userId } = await newUser(zone)
    const today = dayIn(zone)
    const thisMonth = `${today.slice(0, 7)}-01`
    const eur = await customer(token, 'EUR')
    const usd = await customer(token, 'USD')
    const january = { issueDate: '2026-01-05', dueDate: '2026-02-04' }
    const ids = {
      a: await draft(token, eur, 10_000, january),
      b: await draft(token, eur, 20_000, january),
      c: await draft(token, usd, 30_000, { issueDate: '2026-01-06', dueDate: '2026-01-20' }),
      d: await draft(token, eur, 40_000, { issueDate: '2026-01-07', dueDate: '2026-03-01' }),
    }
    for (const id of Object.values(ids)) expect((await send(token, id)).status).toBe(200)
    // a: partly paid, then partly credited: still partially paid, 3,500 due.
    expect((await pay(token, ids.a, 4_000, '2026-01-15T12:00:00Z')).status).toBe(201)
    expect(await credit(token, ids.a, 0.25)).toBe(2_500)
    // b: paid, then partly credited: still paid, the credit is a refund.
    expect((await pay(token, ids.b, 20_000, '2026-01-16T12:00:00Z')).status).toBe(201)
    expect(await credit(token, ids.b, 0.25)).toBe(5_000)
    // c: credited in full: no longer open, still issued.
    expect(await credit(token, ids.c)).toBe(30_000)
    // d: partly credited, then paid what is left.
    expect(await credit(token, ids.d, 0.25)).toBe(10_000)
    expect((await pay(token, ids.d, 30_000, '2026-01-25T12:00:00Z')).status).toBe(201)

    const statuses = await sql<{ id: string; status: string }>`select id, status from invoices
      where user_id = ${userId}`.execute(crossTenant(t.deps.database.db))
    expect(Object.fromEntries(statuses.rows.map((r) => [r.id, r.status]))).toEqual({
      [ids.a]: 'partially_paid',
      [ids.b]: 'paid',
      [ids.c]: 'credited',
      [ids.d]: 'paid',
    })
    const { kept, recount } = await totalsAndRecount(userId)
    expect(kept).toEqual(recount)
    expect(kept.open).toEqual(['{"currency":"EUR","day":"2026-02-04","amount":"3500","n":1}'])
    expect(kept.months).toEqual([
      '{"currency":"EUR","month":"2026-01-01","invoiced":"70000","issued":3,"collected":"54000","payments":3,"credited":"0","credit_notes":0}',
      `{"currency":"EUR","month":"${thisMonth}","invoiced":"0","issued":0,"collected":"0","payments":0,"credited":"17500","credit_notes":3}`,
      '{"currency":"USD","month":"2026-01-01","invoiced":"30000","issued":1,"collected":"0","payments":0,"credited":"0","credit_notes":0}',
      `{"currency":"USD","month":"${thisMonth}","invoiced":"0","issued":0,"collected":"0","payments":0,"credited":"30000","credit_notes":1}`,
    ])

    const report = async (path: string) => (await call(token, path)).body['data']
    const open = { outstanding: 3_500, overdue: 3_500, counts: { draft: 0, open: 1, overdue: 1 } }
    const none = { outstanding: 0, overdue: 0, counts: { draft: 0, open: 0, overdue: 0 } }
    expect(await report('/api/v1/reports/summary?from=2026-01-01&to=2026-01-31')).toEqual([
      { currency: 'EUR', ...open, invoiced: 70_000, credited: 0, collected: 54_000 },
      { currency: 'USD', ...none, invoiced: 30_000, credited: 0, collected: 0 },
    ])
    expect(await report(`/api/v1/reports/summary?from=2026-01-01&to=${today}`)).toEqual([
      { currency: 'EUR', ...open, invoiced: 70_000 - 17_500, credited: 17_500, collected: 54_000 },
      { currency: 'USD', ...none, invoiced: 0, credited: 30_000, collected: 0 },
    ])
    expect(await report(`/api/v1/reports/revenue?from=${thisMonth}&to=${today}`)).toEqual([
      { month: today.slice(0, 7), currency: 'EUR', invoiced: -17_500, credited: 17_500, collected: 0 },
      { month: today.slice(0, 7), currency: 'USD', invoiced: -30_000, credited: 30_000, collected: 0 },
    ])
    expect(await report('/api/v1/reports/aging')).toEqual([
      { currency: 'EUR', buckets: { current: 0, '1-30': 0, '31-60': 0, '61-90': 0, '90+': 3_500 } },
    ])
  })

  test('when credit notes, payments and sends of one user race on the same day, then all succeed and the totals add up', async () => {
    const { token, id: userId } = await newUser()
    const eur = await customer(token, 'EUR')
    const today = dayIn('UTC')
    const sameDay = { issueDate: today, dueDate: today }
    const issued: string[] = []
    for (let i = 0; i < 8; i++) {
      const id = await draft(token, eur, 10_000, sameDay)
      expect((await send(token, id)).status).toBe(200)
      issued.push(id)
    }
    const drafts = await Promise.all(
      Array.from({ length: 4 }, (_, i) => draft(token, eur, 5_000 + i, sameDay)),
    )

    // Each of the first four is credited and paid at once; the others only credited, in full for two of them.
    const created = (total: Promise<number>) => total.then(() => ({ status: 201 }))
    const answers = await Promise.all([
      ...issued.slice(0, 4).flatMap((id) => [created(credit(token, id, 0.3)), pay(token, id, 2_000)]),
      ...issued.slice(4).map((id, i) => created(credit(token, id, i < 2 ? undefined : 0.1))),
      ...drafts.map((id) => send(token, id)),
    ])
    expect(answers.map((a) => a.status).sort()).toEqual([...Array(4).fill(200), ...Array(12).fill(201)])

    const { kept, recount } = await totalsAndRecount(userId)
    expect(kept).toEqual(recount)
    expect(kept.days).toEqual([
      `{"currency":"EUR","day":"${today}","invoiced":"${8 * 10_000 + 4 * 5_000 + 6}","issued":12,"collected":"8000","payments":4,"credited":"${4 * 3_000 + 2 * 10_000 + 2 * 1_000}","credit_notes":8}`,
    ])
  })

  test('when sends, payments and voids of one user race on the same days, then all succeed and the totals add up', async () => {
    const { token, id: userId } = await newUser()
    const eur = await customer(token, 'EUR')
    const sameDays = { issueDate: new Date().toISOString().slice(0, 10) }
    const issued: string[] = []
    for (let i = 0; i < 8; i++) {
      const id = await draft(token, eur, 1_000 + i, sameDays)
      expect((await send(token, id)).status).toBe(200)
      issued.push(id)
    }
    const drafts = await Promise.all(
      Array.from({ length: 6 }, (_, i) => draft(token, eur, 5_000 + i, sameDays)),
    )

    const answers = await Promise.all([
      ...issued.slice(0, 6).map((id, i) => pay(token, id, 1_000 + i)),
      ...issued.slice(6).map((id) => voidInvoice(token, id)),
      ...drafts.map((id) => send(token, id)),
      ...drafts.map(() => draft(token, eur, 7_000, sameDays).then(() => ({ status: 201 }))),
    ])
    // 6 payments (201), 2 voids and 6 sends (200), 6 new drafts (201).
    const statuses = answers.map((a) => a.status)
    expect(statuses.filter((s) => s === 201)).toHaveLength(12)
    expect(statuses.filter((s) => s === 200)).toHaveLength(8)

    const { kept, recount } = await totalsAndRecount(userId)
    expect(kept).toEqual(recount)
    expect(kept.drafts).toEqual(['{"currency":"EUR","n":6}'])
  })

  test('when the tables are rebuilt from scratch, then they hold what the triggers kept', async () => {
    const { token, id: userId } = await newUser()
    const gbp = await customer(token, 'GBP')
    const id = await draft(token, gbp, 12_345, { issueDate: '2025-12-30', dueDate: '2026-01-29' })
    await draft(token, gbp, 1)
    expect((await send(token, id)).status).toBe(200)
    expect((await pay(token, id, 345, '2026-01-01T00:00:00Z')).status).toBe(201)
    expect(await credit(token, id, 0.2)).toBe(2_469)
    const kept = (await totalsAndRecount(userId)).kept

    await sql`select report_rebuild_rollups()`.execute(t.deps.database.db)
    expect((await totalsAndRecount(userId)).kept).toEqual(kept)
    expect(kept.open).toEqual(['{"currency":"GBP","day":"2026-01-29","amount":"9531","n":1}'])
    expect(kept.months).toContain(
      `{"currency":"GBP","month":"${dayIn('UTC').slice(0, 7)}-01","invoiced":"0","issued":0,"collected":"0","payments":0,"credited":"2469","credit_notes":1}`,
    )
  })
})

/** Instants around UTC and local midnights, and a daylight-saving change, over a few days each. */
function paymentInstants(): string[] {
  const instants: string[] = []
  for (const start of ['2025-03-28', '2025-06-29', '2025-10-24', '2025-12-30']) {
    for (let day = 0; day < 5; day++) {
      for (const minutes of [0, 1, 165, 209, 345, 630, 705, 720, 735, 765, 1170, 1290, 1395, 1439]) {
        const at = Date.parse(`${start}T00:00:00Z`) + day * 86_400_000 + minutes * 60_000
        instants.push(new Date(at).toISOString(), new Date(at - 1).toISOString())
      }
    }
  }
  return instants
}

const ZONES = [
  'Asia/Kathmandu',
  'America/St_Johns',
  'Pacific/Chatham',
  'Europe/Berlin',
  'Pacific/Kiritimati',
  'UTC',
]

describe('collected amounts by time zone', () => {
  for (const zone of ZONES) {
    test(`when the profile is in ${zone}, then collected equals the payments from 00:00 of from to the end of to there`, async () => {
      const { token, id: userId } = await newUser(zone)
      const { invoice } = invoiceFactory(t.deps.database.db, userId)
      const instants = paymentInstants()
      const payments = instants.map((paidAt, i) => ({ amount: 1 + ((i * 7919) % 100_003), paidAt }))
      const total = payments.reduce((sum, p) => sum + p.amount, 0)
      await invoice({ status: 'paid', total, issueDate: '2025-01-02', currency: 'EUR', payments })

      const direct = async (from: string, to: string) => {
        const { rows } = await sql<{
          sum: string | null
        }>`select sum(amount)::bigint::text as sum from payments
          where user_id = ${userId} and paid_at >= (cast(${from} as date)::timestamp at time zone ${zone})
            and paid_at < ((cast(${to} as date) + 1)::timestamp at time zone ${zone})`.execute(
          crossTenant(t.deps.database.db),
        )
        return Number(rows[0]!.sum ?? 0)
      }
      const periods = [
        ['2025-03-29', '2025-03-29'],
        ['2025-03-30', '2025-03-30'],
        ['2025-03-30', '2025-03-31'],
        ['2025-03-28', '2025-04-01'],
        ['2025-06-30', '2025-06-30'],
        ['2025-06-30', '2025-07-01'],
        ['2025-10-26', '2025-10-26'],
        ['2025-10-25', '2025-10-27'],
        ['2025-12-31', '2026-01-01'],
        ['2025-12-31', '2025-12-31'],
        ['2025-01-01', '2025-12-31'],
      ] as const
      for (const [from, to] of periods) {
        const rows = (await call(token, `/api/v1/reports/summary?from=${from}&to=${to}`)).body[
          'data'
        ] as Json[]
        const expected = await direct(from, to)
        expect({
          from,
          to,
          collected: rows.find((r) => r['currency'] === 'EUR')?.['collected'] ?? 0,
        }).toEqual({
          from,
          to,
          collected: expected,
        })
      }

      const revenue = (await call(token, '/api/v1/reports/revenue?from=2025-03-15&to=2026-01-01')).body[
        'data'
      ] as { month: string; collected: number }[]
      expect(revenue.map((r) => r.month)).toEqual([
        '2025-03',
        '2025-04',
        '2025-05',
        '2025-06',
        '2025-07',
        '2025-08',
        '2025-09',
        '2025-10',
        '2025-11',
        '2025-12',
        '2026-01',
      ])
      const monthEnd = (month: string) => {
        const [y, m] = month.split('-').map(Number) as [number, number]
        return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10)
      }
      for (const row of revenue) {
        const from = row.month === '2025-03' ? '2025-03-15' : `${row.month}-01`
        const to = row.month === '2026-01' ? '2026-01-01' : monthEnd(row.month)
        expect({ month: row.month, collected: row.collected }).toEqual({
          month: row.month,
          collected: await direct(from, to),
        })
      }
      expect(revenue.reduce((sum, r) => sum + r.collected, 0)).toBe(await direct('2025-03-15', '2026-01-01'))
    })
  }

  test('when the profile changes time zone after the payments, then collected follows the new zone', async () => {
    const { token, id: userId } = await newUser('UTC')
    const { invoice } = invoiceFactory(t.deps.database.db, userId)
    // July in Kathmandu (+05:45) runs from 18:15 UTC on June 30 to 18:15 UTC on July 31.
    const payments = [
      { amount: 1, paidAt: '2025-06-30T18:14:59.999Z' },
      { amount: 2, paidAt: '2025-06-30T23:30:00.000Z' },
      { amount: 4, paidAt: '2025-07-15T12:00:00.000Z' },
      { amount: 8, paidAt: '2025-07-31T18:15:00.000Z' },
    ]
    await invoice({ status: 'paid', total: 15, issueDate: '2025-06-01', currency: 'EUR', payments })
    const july = async () =>
      (
        (await call(token, '/api/v1/reports/summary?from=2025-07-01&to=2025-07-31')).body['data'] as Json[]
      )[0]?.['collected']

    expect(await july()).toBe(4 + 8)
    expect((await call(token, '/api/v1/me', 'PATCH', { timezone: 'Asia/Kathmandu' })).status).toBe(200)
    expect(await july()).toBe(2 + 4)
    const { kept, recount } = await totalsAndRecount(userId)
    expect(kept).toEqual(recount)
    // The day that only the old zone had payments on is gone, not left behind as zeros.
    const { rows } = await sql<{ days: number }>`select count(*)::int as days from report_daily_totals
      where user_id = ${userId} and (invoiced, issued, collected, payments) = (0, 0, 0, 0)`.execute(
      crossTenant(t.deps.database.db),
    )
    expect(rows[0]!.days).toBe(0)
  })

  // The two orders of one race, held open at the database so that each interleaving surely happens: a payment
  // counted by a zone that changes before it commits, and a zone change that recounts before a payment commits.
  describe('a payment and a change of zone in two open transactions', () => {
    const paidAt = '2026-01-31T23:30:00Z' // January 31 in UTC, February 1 in Kathmandu (+05:45)

    async function setUp() {
      const { id: userId } = await newUser('UTC')
      const { invoice } = invoiceFactory(t.deps.database.db, userId)
      const id = await invoice({ status: 'sent', total: 500, issueDate: '2026-01-05', currency: 'EUR' })
      const db = crossTenant(t.deps.database.db)
      const payInto = (trx: typeof db) =>
        Promise.all([
          sql`update invoices set amount_paid = total, status = 'paid', paid_at = ${paidAt} where id = ${id}`.execute(
            trx,
          ),
          trx
            .insertInto('payments')
            .values({
              invoice_id: id,
              user_id: userId,
              amount: 500,
              currency: 'EUR',
              paid_at: paidAt,
              method: 'cash',
            })
            .execute(),
        ])
      const rezoneIn = (trx: typeof db) =>
        sql`update users set timezone = 'Asia/Kathmandu' where id = ${userId}`.execute(trx)
      return { userId, db, payInto, rezoneIn }
    }

    /** Runs `first` in a transaction held open until `second` (in its own) has had 300 ms to get through. */
    async function holdOpen(
      db: Awaited<ReturnType<typeof setUp>>['db'],
      first: (trx: typeof db) => Promise<unknown>,
      second: (trx: typeof db) => Promise<unknown>,
    ) {
      let release!: () => void
      const released = new Promise<void>((resolve) => {
        release = resolve
      })
      let started!: () => void
      const begun = new Promise<void>((resolve) => {
        started = resolve
      })
      const held = db.transaction().execute(async (trx) => {
        await first(trx)
        started()
        await released
      })
      await begun
      let secondDone = false
      const other = db
        .transaction()
        .execute((trx) => second(trx))
        .then(() => {
          secondDone = true
        })
      await Bun.sleep(300)
      const waited = !secondDone
      release()
      await Promise.all([held, other])
      return { waited }
    }

    test('when the payment is in first, then the change of zone waits for it and recounts it', async () => {
      const { userId, db, payInto, rezoneIn } = await setUp()
      const { waited } = await holdOpen(db, payInto, rezoneIn)
      expect(waited).toBe(true)
      const { kept, recount } = await totalsAndRecount(userId)
      expect(kept).toEqual(recount)
      expect(kept.days.filter((row) => row.includes('"payments":1'))).toEqual([
        '{"currency":"EUR","day":"2026-02-01","invoiced":"0","issued":0,"collected":"500","payments":1,"credited":"0","credit_notes":0}',
      ])
    })

    test('when the change of zone is in first, then the payment waits for it and counts in the new zone', async () => {
      const { userId, db, payInto, rezoneIn } = await setUp()
      const { waited } = await holdOpen(db, rezoneIn, payInto)
      expect(waited).toBe(true)
      const { kept, recount } = await totalsAndRecount(userId)
      expect(kept).toEqual(recount)
      expect(kept.days.filter((row) => row.includes('"payments":1'))).toEqual([
        '{"currency":"EUR","day":"2026-02-01","invoiced":"0","issued":0,"collected":"500","payments":1,"credited":"0","credit_notes":0}',
      ])
    })
  })

  test('when payments race changes of the profile time zone, then all succeed and the tables follow the last zone', async () => {
    const { token, id: userId } = await newUser('UTC')
    const eur = await customer(token, 'EUR')
    const invoices: string[] = []
    for (let i = 0; i < 6; i++) {
      const id = await draft(token, eur, 100_000, { issueDate: '2026-01-05', dueDate: '2026-02-04' })
      expect((await send(token, id)).status).toBe(200)
      invoices.push(id)
    }
    // Instants around midnights of several zones, so that a payment counted in a stale zone lands on another day.
    const instants = [
      '2026-01-31T18:30:00Z',
      '2026-01-31T23:30:00Z',
      '2026-02-01T02:15:00Z',
      '2026-02-01T11:30:00Z',
    ]
    const zones = ['Asia/Kathmandu', 'America/St_Johns', 'Pacific/Chatham', 'Europe/Berlin']
    const answers = await Promise.all([
      ...invoices.flatMap((id, i) =>
        instants.map((paidAt, j) => pay(token, id, 100 * (i + 1) + j, paidAt).then((r) => r.status)),
      ),
      ...zones.map((timezone) => call(token, '/api/v1/me', 'PATCH', { timezone }).then((r) => r.status)),
    ])
    expect(answers).toEqual([
      ...Array(invoices.length * instants.length).fill(201),
      ...Array(zones.length).fill(200),
    ])

    const { kept, recount } = await totalsAndRecount(userId)
    expect(kept).toEqual(recount)
    const zone = ((await call(token, '/api/v1/me')).body['profile'] as Json)['timezone'] as string
    expect(zones).toContain(zone)
    const summed = kept.days.reduce((sum, row) => sum + Number(JSON.parse(row)['collected']), 0)
    expect(summed).toBe(
      invoices.reduce((sum, _, i) => sum + instants.reduce((s, _, j) => s + 100 * (i + 1) + j, 0), 0),
    )
  })
})
