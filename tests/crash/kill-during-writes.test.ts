import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import postgres from 'postgres'
import { migrateToLatest } from '../../db/migrator'
import { crossTenant, type DatabaseHandle, openDatabase } from '../../src/lib/db'
import { createLogger } from '../../src/lib/logger'
import { createStorage } from '../../src/lib/storage'
import { formatViolation, verifyDatabase } from '../../src/ops/verify'
import { startTestIssuer, TEST_CLIENT_ID, type TestIssuer } from '../helpers/jwks'
import { ROOT, readLines, serverEnv } from '../helpers/server-process'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

// A real server process killed with SIGKILL in the middle of concurrent mark-as-sent calls, payments, credit
// notes (partial ones interleaved with payments on the same invoices, full ones raced by payments) and
// idempotent creates, then restarted on the same database and data directory. Every request that got no
// answer is sent again with the same Idempotency-Key and body: each must succeed (or, for a payment racing a
// full credit, be refused as the lifecycle says), or replay its first answer, within a few seconds (the
// idempotency lease is 60 s), no key may stay in progress, every effect must exist exactly once, and
// `db:verify` must find nothing wrong with the data or the stored PDFs. Besides, this test's own reading of the
// rows: the credit-note series of each user has no gap, each invoice's creditedTotal is the sum of its notes,
// the credits of a line stay within it, the statuses follow the balances, and a credited invoice takes no
// payment while an open one takes none above its amountDue.

const ROUNDS = 3
/** SIGKILL lands this long after the stream of requests starts, at random. */
const KILL_AFTER_MS = [250, 1_200] as const
const WORKERS = 16
const RETRY_WITHIN_MS = 5_000
/** Retries are bounded well past RETRY_WITHIN_MS, so a stuck key shows as slow instead of hanging the suite. */
const RETRY_TIMEOUT_MS = 15_000
const START_WITHIN_MS = 30_000
const USERS = 2
const DRAFTS_PER_ROUND = 12
/** Per user and round: invoices credited a little at a time while paid, and invoices credited in full once. */
const CREDITABLE_PER_ROUND = 2
const TO_CREDIT_IN_FULL_PER_ROUND = 2

const serverUrl = process.env['TEST_DATABASE_EMBEDDED'] === '1' ? undefined : process.env['TEST_DATABASE_URL']

type Kind = 'customer' | 'invoice' | 'send' | 'payment' | 'credit' | 'full-credit' | 'racing-payment'

interface Op {
  kind: Kind
  key: string
  token: string
  path: string
  body: Record<string, unknown> | undefined
  /** For sends: the invoice issued; for payments: the invoice paid; for credits: the invoice credited. */
  invoiceId?: string
  started?: number
  status?: number
  answer?: Record<string, unknown>
  error?: string
}

interface Retry {
  op: Op
  status?: number
  replayed: boolean
  ms: number
  error?: string
  answer?: Record<string, unknown>
}

interface RoundReport {
  round: number
  killAfterMs: number
  sent: number
  answered: number
  unanswered: number
  retries: Retry[]
  wrongAnswers: string[]
  keysInProgress: number
  notExactlyOnce: string[]
  violations: string[]
  /** This test's own checks of credit notes, balances and statuses, and of payments after the restart. */
  creditProblems: string[]
  ops: Op[]
}

/** `bun src/index.ts` on the crash database; `start` resolves with its base URL once it listens. */
class ServerProcess {
  private proc: ReturnType<typeof Bun.spawn> | undefined
  base = ''

  constructor(private readonly env: Record<string, string>) {}

  async start(): Promise<void> {
    const proc = Bun.spawn(['bun', 'src/index.ts'], {
      cwd: ROOT,
      env: serverEnv(this.env),
      stdout: 'pipe',
      stderr: 'inherit',
    })
    this.proc = proc
    let listening: (port: number) => void = () => {}
    const port = new Promise<number>((resolve) => {
      listening = resolve
    })
    void readLines(proc.stdout as ReadableStream<Uint8Array>, (raw) => {
      try {
        const line = JSON.parse(raw) as Record<string, unknown>
        if (typeof line['port'] === 'number') listening(line['port'])
      } catch {
        // Not a log line.
      }
    }).catch(() => {})
    const started = await Promise.race([
      port,
      proc.exited.then((code) =>
        Promise.reject(new Error(`the server exited with ${code} before listening`)),
      ),
      Bun.sleep(START_WITHIN_MS).then(() => Promise.reject(new Error('the server did not listen in time'))),
    ])
    this.base = `http://127.0.0.1:${started}`
  }

  async kill(): Promise<void> {
    if (!this.proc) return
    this.proc.kill('SIGKILL')
    await this.proc.exited
    this.proc = undefined
  }
}

let dbName = ''
let admin: postgres.Sql
let database: DatabaseHandle
let dataDir = ''
let issuer: TestIssuer
let server: ServerProcess

beforeAll(async () => {
  if (serverUrl === undefined) return
  dbName = `invoice_crash_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`
  admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database "${dbName}"`)
  const url = new URL(serverUrl)
  url.pathname = `/${dbName}`
  database = await openDatabase(
    {
      databaseUrl: url.toString(),
      dataDir: '/nonexistent',
      db: {
        poolMin: 1,
        poolMax: 4,
        idleTimeoutSeconds: 30,
        connectTimeoutSeconds: 5,
        statementTimeoutMs: 0,
        slowQueryMs: 60_000,
      },
    },
    createLogger({ logLevel: 'silent', logPretty: false }),
  )
  await migrateToLatest(database.db)
  dataDir = mkdtempSync(path.join(tmpdir(), 'invoice-api-crash-'))
  issuer = await startTestIssuer()
  server = new ServerProcess({
    DATABASE_URL: url.toString(),
    DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: 'info',
    COGNITO_ISSUER: issuer.issuer,
    COGNITO_CLIENT_ID: TEST_CLIENT_ID,
    RATE_LIMIT_PER_MINUTE: '1000000',
    DB_POOL_MIN: '1',
    DB_POOL_MAX: '10',
  })
})

afterAll(async () => {
  if (serverUrl === undefined) return
  await server?.kill()
  await database?.close()
  await issuer?.stop()
  await admin?.unsafe(`drop database if exists "${dbName}" with (force)`)
  await admin?.end()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

async function request(
  base: string,
  op: Pick<Op, 'token' | 'path' | 'body' | 'key'>,
  signal?: AbortSignal,
): Promise<{ status: number; replayed: boolean; answer: Record<string, unknown> }> {
  const headers: Record<string, string> = { authorization: `Bearer ${op.token}`, 'idempotency-key': op.key }
  if (op.body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${base}${op.path}`, {
    method: 'POST',
    headers,
    ...(op.body === undefined ? {} : { body: JSON.stringify(op.body) }),
    ...(signal ? { signal } : {}),
  })
  const answer = (await res.json()) as Record<string, unknown>
  return { status: res.status, replayed: res.headers.get('idempotent-replayed') === 'true', answer }
}

async function setUpAnswer<T extends { id: string }>(
  base: string,
  token: string,
  path: string,
  body: unknown,
) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const answer = (await res.json()) as T
  if (res.status >= 300) throw new Error(`set-up ${path}: ${res.status} ${JSON.stringify(answer)}`)
  return answer
}

async function setUp(base: string, token: string, path: string, body: unknown) {
  return (await setUpAnswer(base, token, path, body)).id
}

interface InvoiceAnswer {
  id: string
  status: string
  total: number
  amountPaid: number
  creditedTotal: number
  amountDue: number
  items: { id: string }[]
  creditNotes: { total: number }[]
}

async function getInvoice(base: string, token: string, id: string): Promise<InvoiceAnswer> {
  const res = await fetch(`${base}/api/v1/invoices/${id}`, { headers: { authorization: `Bearer ${token}` } })
  if (res.status !== 200) throw new Error(`GET invoice ${id}: ${res.status}`)
  return (await res.json()) as InvoiceAnswer
}

/** Two lines: 1000 licences to credit a little at a time, and support of 2.5 hours; 10 % off. */
const creditableInvoice = (customerId: string, label: string) => ({
  customerId,
  discountPercent: 10,
  items: [
    { description: `${label} licences`, quantity: 1000, unitPrice: 1_000, taxRate: 19 },
    { description: `${label} support`, quantity: 2.5, unitPrice: 3_333, taxRate: 7.25 },
  ],
})

/** How many requests of each kind a round sent, with the answers they got (first or retried). */
function kinds(r: RoundReport): string {
  const byKind = new Map<string, number>()
  for (const op of r.ops) {
    const status = r.retries.find((x) => x.op === op)?.status ?? op.status ?? op.error
    const label = `${op.kind} ${status}`
    byKind.set(label, (byKind.get(label) ?? 0) + 1)
  }
  return [...byKind].map(([label, n]) => `${n}× ${label}`).join(', ')
}

/** The slowest retry of each kind, as `send 812 ms, payment 95 ms`. */
function slowest(retries: Retry[]): string {
  const most = new Map<Kind, number>()
  for (const r of retries) most.set(r.op.kind, Math.max(most.get(r.op.kind) ?? 0, r.ms))
  return [...most].map(([kind, ms]) => `${kind} ${ms} ms`).join(', ') || 'none'
}

/** The answer of a request that did its work. */
const expectedStatus: Record<Kind, number> = {
  customer: 201,
  invoice: 201,
  send: 200,
  payment: 201,
  credit: 201,
  'full-credit': 201,
  'racing-payment': 201,
}

/**
 * The answers a request may get: a payment racing a full credit of its invoice is booked when it comes first
 * and refused (409, nothing booked) when the credit does.
 */
const acceptable = (kind: Kind): number[] =>
  kind === 'racing-payment' ? [expectedStatus[kind], 409] : [expectedStatus[kind]]
const isAcceptable = (kind: Kind, status: number | undefined) =>
  status !== undefined && acceptable(kind).includes(status)

/** The same resource as the first answer would have named: the id behind the key in the database. */
async function idBehind(op: Op): Promise<string[]> {
  const db = crossTenant(database.db)
  if (op.kind === 'customer') {
    const rows = await db.selectFrom('customers').select('id').where('name', '=', `Crash ${op.key}`).execute()
    return rows.map((r) => r.id)
  }
  if (op.kind === 'invoice') {
    const rows = await db.selectFrom('invoices').select('id').where('notes', '=', op.key).execute()
    return rows.map((r) => r.id)
  }
  if (op.kind === 'payment' || op.kind === 'racing-payment') {
    const rows = await db.selectFrom('payments').select('id').where('reference', '=', op.key).execute()
    return rows.map((r) => r.id)
  }
  if (op.kind === 'credit' || op.kind === 'full-credit') {
    const rows = await db.selectFrom('credit_notes').select('id').where('memo', '=', op.key).execute()
    return rows.map((r) => r.id)
  }
  const rows = await db
    .selectFrom('invoices')
    .select('id')
    .where('id', '=', op.invoiceId!)
    .where('status', '<>', 'draft')
    .execute()
  return rows.map((r) => r.id)
}

async function round(index: number, users: { token: string; customerId: string }[]): Promise<RoundReport> {
  const base = server.base
  // Drafts to send and invoices to pay, made before the stream starts.
  const drafts: { token: string; id: string }[] = []
  const payable: { token: string; id: string }[] = []
  /** Credited a little at a time (their first line) while paid. */
  const creditable: { token: string; id: string; lineId: string }[] = []
  /** Each credited in full once during the stream, raced by payments. */
  const toCredit: { token: string; id: string }[] = []
  for (const user of users) {
    for (let i = 0; i < DRAFTS_PER_ROUND; i++) {
      const id = await setUp(base, user.token, '/api/v1/invoices', {
        customerId: user.customerId,
        items: [{ description: `Round ${index} draft ${i}`, quantity: 2, unitPrice: 49_999, taxRate: 19 }],
      })
      drafts.push({ token: user.token, id })
    }
    for (let i = 0; i < 2; i++) {
      const id = await setUp(base, user.token, '/api/v1/invoices', {
        customerId: user.customerId,
        items: [{ description: 'Retainer', quantity: 1, unitPrice: 10_000_000, taxRate: 0 }],
      })
      await setUp(base, user.token, `/api/v1/invoices/${id}/mark-as-sent`, {})
      payable.push({ token: user.token, id })
    }
    for (let i = 0; i < CREDITABLE_PER_ROUND; i++) {
      const invoice = await setUpAnswer<InvoiceAnswer>(
        base,
        user.token,
        '/api/v1/invoices',
        creditableInvoice(user.customerId, `Round ${index} creditable ${i}`),
      )
      await setUp(base, user.token, `/api/v1/invoices/${invoice.id}/mark-as-sent`, {})
      creditable.push({ token: user.token, id: invoice.id, lineId: invoice.items[0]!.id })
    }
    // Paid in part and credited in part before the stream, so the full credit owes some back.
    for (let i = 0; i < TO_CREDIT_IN_FULL_PER_ROUND; i++) {
      const invoice = await setUpAnswer<InvoiceAnswer>(
        base,
        user.token,
        '/api/v1/invoices',
        creditableInvoice(user.customerId, `Round ${index} to credit ${i}`),
      )
      await setUp(base, user.token, `/api/v1/invoices/${invoice.id}/mark-as-sent`, {})
      await setUp(base, user.token, `/api/v1/invoices/${invoice.id}/payments`, {
        amount: 50_000,
        method: 'card',
      })
      await setUp(base, user.token, `/api/v1/invoices/${invoice.id}/credit-notes`, {
        reason: 'order_change',
        items: [{ invoiceItemId: invoice.items[1]!.id, quantity: 1.25 }],
      })
      toCredit.push({ token: user.token, id: invoice.id })
    }
  }
  const creditedInFull: { token: string; id: string }[] = []

  // Sends and credit notes render a PDF while they hold the user's numbering lock, so those of one user queue
  // behind each other; together they stay about the share sends alone once had (30 %), which keeps the retries
  // after a restart within RETRY_WITHIN_MS on a busy machine.
  let serial = 0
  const nextOp = (): Op => {
    const n = serial++
    const key = `crash-${index}-${n}-${crypto.randomUUID()}`
    const user = users[n % users.length]!
    const pick = Math.random()
    if (pick < 0.16 && drafts.length > 0) {
      const draft = drafts.shift()!
      return {
        kind: 'send',
        key,
        token: draft.token,
        path: `/api/v1/invoices/${draft.id}/mark-as-sent`,
        body: undefined,
        invoiceId: draft.id,
      }
    }
    if (pick < 0.34) {
      // Payments on invoices without credits, and on invoices being credited.
      const invoice = n % 2 === 0 ? payable[n % payable.length]! : creditable[n % creditable.length]!
      return {
        kind: 'payment',
        key,
        token: invoice.token,
        path: `/api/v1/invoices/${invoice.id}/payments`,
        body: { amount: 1 + (n % 997), method: 'bank_transfer', reference: key },
        invoiceId: invoice.id,
      }
    }
    if (pick < 0.44) {
      // 0.01 to 3 licences, 3-decimal quantities: never the whole line, always a total above 0.
      const invoice = creditable[n % creditable.length]!
      return {
        kind: 'credit',
        key,
        token: invoice.token,
        path: `/api/v1/invoices/${invoice.id}/credit-notes`,
        body: {
          reason: 'product_unsatisfactory',
          memo: key,
          items: [{ invoiceItemId: invoice.lineId, quantity: (10 + ((n * 37) % 2_991)) / 1000 }],
        },
        invoiceId: invoice.id,
      }
    }
    if (pick < 0.48 && toCredit.length > 0) {
      const invoice = toCredit.shift()!
      creditedInFull.push(invoice)
      return {
        kind: 'full-credit',
        key,
        token: invoice.token,
        path: `/api/v1/invoices/${invoice.id}/credit-notes`,
        body: { reason: 'duplicate', memo: key },
        invoiceId: invoice.id,
      }
    }
    if (pick < 0.56 && creditedInFull.length > 0) {
      const invoice = creditedInFull[n % creditedInFull.length]!
      return {
        kind: 'racing-payment',
        key,
        token: invoice.token,
        path: `/api/v1/invoices/${invoice.id}/payments`,
        body: { amount: 1 + (n % 97), method: 'cash', reference: key },
        invoiceId: invoice.id,
      }
    }
    if (pick < 0.8) {
      return {
        kind: 'invoice',
        key,
        token: user.token,
        path: '/api/v1/invoices',
        body: {
          customerId: user.customerId,
          notes: key,
          items: [{ description: 'Streamed', quantity: 1.5, unitPrice: 3_333 + n, taxRate: 7.25 }],
        },
      }
    }
    return {
      kind: 'customer',
      key,
      token: user.token,
      path: '/api/v1/customers',
      body: { name: `Crash ${key}`, currency: 'EUR' },
    }
  }

  const ops: Op[] = []
  let killed = false
  const worker = async () => {
    while (!killed) {
      const op = nextOp()
      op.started = performance.now()
      ops.push(op)
      try {
        const { status, answer } = await request(base, op)
        op.status = status
        op.answer = answer
      } catch (error) {
        op.error = String((error as { code?: unknown }).code ?? error)
      }
    }
  }
  const killAfterMs = Math.round(KILL_AFTER_MS[0] + Math.random() * (KILL_AFTER_MS[1] - KILL_AFTER_MS[0]))
  const workers = Promise.all(Array.from({ length: WORKERS }, worker))
  await Bun.sleep(killAfterMs)
  killed = true
  await server.kill()
  await workers

  await server.start()
  const unanswered = ops.filter((op) => op.status === undefined)
  const retries = await Promise.all(
    unanswered.map(async (op): Promise<Retry> => {
      const started = performance.now()
      try {
        const { status, replayed, answer } = await request(
          server.base,
          op,
          AbortSignal.timeout(RETRY_TIMEOUT_MS),
        )
        return { op, status, replayed, answer, ms: Math.round(performance.now() - started) }
      } catch (error) {
        const ms = Math.round(performance.now() - started)
        return { op, replayed: false, ms, error: String((error as { name?: unknown }).name ?? error) }
      }
    }),
  )

  const wrongAnswers = ops
    .filter((op) => op.status !== undefined && !isAcceptable(op.kind, op.status))
    .map((op) => `${op.kind} ${op.key}: ${op.status} ${JSON.stringify(op.answer).slice(0, 200)}`)

  // Each effect exists once, and is the one the answer (first or replayed) named.
  const notExactlyOnce: string[] = []
  for (const op of ops) {
    const answer = retries.find((r) => r.op === op)?.answer ?? op.answer
    const status = retries.find((r) => r.op === op)?.status ?? op.status
    if (status !== expectedStatus[op.kind]) {
      // A refusal the lifecycle explains did nothing.
      const ids = isAcceptable(op.kind, status) ? await idBehind(op) : []
      if (ids.length > 0)
        notExactlyOnce.push(`${op.kind} ${op.key}: answered ${status}, found [${ids.join(', ')}]`)
      continue
    }
    const ids = await idBehind(op)
    const named = op.kind === 'send' ? op.invoiceId : (answer?.['id'] as string | undefined)
    if (ids.length !== 1 || ids[0] !== named) {
      notExactlyOnce.push(`${op.kind} ${op.key}: answered ${named}, found [${ids.join(', ')}]`)
    }
  }

  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from idempotency_keys where state = 'in_progress'`.execute(
    crossTenant(database.db),
  )
  const storage = await createStorage({ dataDir, publicBaseUrl: 'http://localhost' })
  const verified = await verifyDatabase(database.db, { storage })
  const fullCreditsDone = ops
    .filter((op) => op.kind === 'full-credit')
    .filter((op) => (retries.find((r) => r.op === op)?.status ?? op.status) === expectedStatus[op.kind])
    .map((op) => ({ token: op.token, id: op.invoiceId! }))
  const creditProblems = [
    ...(await creditInvariants(fullCreditsDone.map((i) => i.id))),
    ...(await paymentsAfterRestart(server.base, creditable, fullCreditsDone)),
  ]

  return {
    round: index,
    killAfterMs,
    sent: ops.length,
    answered: ops.length - unanswered.length,
    unanswered: unanswered.length,
    retries,
    wrongAnswers,
    keysInProgress: rows[0]!.n,
    notExactlyOnce,
    violations: verified.violations.map(formatViolation),
    creditProblems,
    ops,
  }
}

/**
 * The rows as API.md describes them, read directly: each user's credit notes numbered 1, 2, 3, … without a
 * gap (and the user's counters past the last), each invoice's credited_total the sum of its notes and
 * amount_paid the sum of its payments, each note split into applied + refund = total, with the applied parts
 * and the payments together accounting for what is due, the credits of each line within it, the status the
 * balance means, and every line of an invoice credited in full taken entirely.
 */
async function creditInvariants(creditedInFull: readonly string[]): Promise<string[]> {
  const db = crossTenant(database.db)
  const problems: string[] = []
  const series = await sql<{
    user_id: string
    notes: number
    max_seq: number
    distinct_seqs: number
    distinct_numbers: number
    last: number
    next: number
    well_formed: boolean
  }>`
    select u.id as user_id, count(n.id)::int as notes, coalesce(max(n.number_seq), 0)::int as max_seq,
           count(distinct n.number_seq)::int as distinct_seqs, count(distinct n.number)::int as distinct_numbers,
           u.last_credit_note_number::int as last, u.next_credit_note_number::int as next,
           coalesce(bool_and(n.number = u.credit_note_prefix || lpad(n.number_seq::text, 4, '0')), true)
             as well_formed
      from users u left join credit_notes n on n.user_id = u.id
     group by u.id`.execute(db)
  for (const r of series.rows) {
    const gapless = r.notes === r.max_seq && r.distinct_seqs === r.notes && r.distinct_numbers === r.notes
    if (!gapless || !r.well_formed || r.last !== r.max_seq || r.next !== r.max_seq + 1) {
      problems.push(
        `user ${r.user_id}: ${r.notes} credit notes numbered up to ${r.max_seq} (${r.distinct_seqs} distinct ` +
          `numbers${r.well_formed ? '' : ', some not prefix + 4 digits'}), counters last ${r.last} next ${r.next}`,
      )
    }
  }
  const balances = await sql<{ id: string; number: string; problem: string }>`
    select i.id, i.number, concat_ws('; ',
             case when i.credited_total <> coalesce(n.total, 0)
                  then 'credited_total ' || i.credited_total || ' ≠ ' || coalesce(n.total, 0) || ', the sum of its notes' end,
             case when i.amount_paid <> coalesce(p.paid, 0)
                  then 'amount_paid ' || i.amount_paid || ' ≠ ' || coalesce(p.paid, 0) || ', the sum of its payments' end,
             case when not coalesce(n.split_ok, true) then 'a note whose applied + refund ≠ total' end,
             case when i.total - i.amount_paid - coalesce(n.applied, 0)
                       <> greatest(0, i.total - i.amount_paid - i.credited_total)
                  then 'total ' || i.total || ' − paid ' || i.amount_paid || ' − applied ' || coalesce(n.applied, 0)
                       || ' ≠ amountDue ' || greatest(0, i.total - i.amount_paid - i.credited_total) end,
             case when i.status <> 'void' and i.status <> b.status
                  then 'status ' || i.status || ' where the balance means ' || b.status end
           ) as problem
      from invoices i
      left join (
        select invoice_id, sum(total) as total, sum(applied_to_balance) as applied,
               bool_and(applied_to_balance + refund_due = total) as split_ok
          from credit_notes group by invoice_id
      ) n on n.invoice_id = i.id
      left join (select invoice_id, sum(amount) as paid from payments group by invoice_id) p on p.invoice_id = i.id
      cross join lateral (
        select case when i.credited_total > 0 and i.credited_total = i.total then 'credited'
                    when i.total - i.amount_paid - i.credited_total <= 0 then 'paid'
                    when i.amount_paid > 0 then 'partially_paid'
                    else 'sent' end as status
      ) b
     where i.status <> 'draft'`.execute(db)
  for (const r of balances.rows) if (r.problem) problems.push(`invoice ${r.number}: ${r.problem}`)
  const within = (amount: string) =>
    sql.raw(`(c.${amount} * sign(it.${amount}) between 0 and abs(it.${amount}))`)
  const lines = await sql<{
    number: string
    position: number
    line: string
    credited: string
    whole: boolean
  }>`
    select i.number, it.position,
           concat_ws(' ', it.quantity, it.subtotal, it.discount, it.tax, it.total) as line,
           concat_ws(' ', c.quantity, c.subtotal, c.discount, c.tax, c.total) as credited,
           i.id = any(${[...creditedInFull]}::uuid[]) as whole
      from invoice_items it
      join invoices i on i.id = it.invoice_id
      left join (
        select invoice_item_id, sum(quantity) as quantity, sum(subtotal) as subtotal, sum(discount) as discount,
               sum(tax) as tax, sum(total) as total
          from credit_note_items group by invoice_item_id
      ) c on c.invoice_item_id = it.id
     where (c.invoice_item_id is not null
            and not (c.quantity <= it.quantity and ${within('subtotal')} and ${within('discount')}
                     and ${within('tax')} and ${within('total')}))
        or (i.id = any(${[...creditedInFull]}::uuid[])
            and (c.quantity, c.subtotal, c.discount, c.tax, c.total)
                is distinct from (it.quantity, it.subtotal, it.discount, it.tax, it.total))`.execute(db)
  for (const r of lines.rows) {
    problems.push(
      `invoice ${r.number} line ${r.position} (quantity subtotal discount tax total ${r.line}): credited ` +
        `${r.credited || 'nothing'}${r.whole ? ', yet the invoice was credited in full' : ', past the line'}`,
    )
  }
  return problems
}

/**
 * After the restart, through the API: an invoice credited in full is `credited`, owes nothing and takes no
 * payment (409); one credited in part shows amountDue = max(0, total − amountPaid − creditedTotal) and takes
 * no payment above it (422).
 */
async function paymentsAfterRestart(
  base: string,
  partlyCredited: readonly { token: string; id: string }[],
  creditedInFull: readonly { token: string; id: string }[],
): Promise<string[]> {
  const problems: string[] = []
  const pay = (invoice: { token: string; id: string }, amount: number) =>
    request(base, {
      token: invoice.token,
      key: `after-restart-${crypto.randomUUID()}`,
      path: `/api/v1/invoices/${invoice.id}/payments`,
      body: { amount, method: 'other' },
    })
  const code = (answer: Record<string, unknown>) => (answer['error'] as { code?: string } | undefined)?.code
  for (const invoice of creditedInFull) {
    const shown = await getInvoice(base, invoice.token, invoice.id)
    if (shown.status !== 'credited' || shown.creditedTotal !== shown.total || shown.amountDue !== 0) {
      problems.push(
        `invoice ${invoice.id} credited in full shows status ${shown.status}, creditedTotal ` +
          `${shown.creditedTotal} of ${shown.total}, amountDue ${shown.amountDue}`,
      )
    }
    const paid = await pay(invoice, 1)
    if (paid.status !== 409 || code(paid.answer) !== 'INVALID_STATUS_TRANSITION') {
      problems.push(
        `a payment on invoice ${invoice.id}, credited in full, answered ${paid.status} ${code(paid.answer)}`,
      )
    }
  }
  for (const invoice of partlyCredited) {
    const shown = await getInvoice(base, invoice.token, invoice.id)
    const credited = shown.creditNotes.reduce((acc, n) => acc + n.total, 0)
    const due = Math.max(0, shown.total - shown.amountPaid - shown.creditedTotal)
    if (shown.creditedTotal !== credited || shown.amountDue !== due) {
      problems.push(
        `invoice ${invoice.id}: creditedTotal ${shown.creditedTotal} (notes sum to ${credited}), amountDue ` +
          `${shown.amountDue} (expected ${due})`,
      )
    }
    const over = await pay(invoice, shown.amountDue + 1)
    if (over.status !== 422 || code(over.answer) !== 'PAYMENT_EXCEEDS_BALANCE') {
      problems.push(
        `a payment of amountDue + 1 (${shown.amountDue + 1}) on invoice ${invoice.id} answered ` +
          `${over.status} ${code(over.answer)}`,
      )
    }
  }
  return problems
}

describe.skipIf(serverUrl === undefined)('a server killed with SIGKILL', () => {
  test('when it dies amid sends, payments, credit notes and idempotent creates and comes back, then every unanswered request retried with its key succeeds within seconds, no key blocks, and the data verifies', async () => {
    await server.start()
    const users: { token: string; customerId: string }[] = []
    for (let i = 0; i < USERS; i++) {
      const token = await issuer.sign({}, { expiresIn: '1h' })
      const customerId = await setUp(server.base, token, '/api/v1/customers', {
        name: `Customer ${i}`,
        currency: 'EUR',
      })
      users.push({ token, customerId })
    }

    const reports: RoundReport[] = []
    for (let i = 1; i <= ROUNDS; i++) reports.push(await round(i, users))

    for (const r of reports) {
      const slow = r.retries.filter((x) => !isAcceptable(x.op.kind, x.status) || x.ms > RETRY_WITHIN_MS)
      const byStatus = new Map<string, number>()
      for (const x of r.retries) {
        const label = `${x.status ?? x.error}${x.replayed ? ' replayed' : ''}`
        byStatus.set(label, (byStatus.get(label) ?? 0) + 1)
      }
      console.info(
        `round ${r.round}: SIGKILL after ${r.killAfterMs} ms; ${r.sent} requests, ${r.answered} answered, ` +
          `${r.unanswered} retried after restart (${[...byStatus].map(([k, n]) => `${n}× ${k}`).join(', ')}; ` +
          `slowest ${slowest(r.retries)}); ${slow.length} failed or slow; ` +
          `${r.keysInProgress} keys in progress; ${r.notExactlyOnce.length} effects not exactly once; ` +
          `${r.violations.length} db:verify violations; ${r.creditProblems.length} credit-note problems; ` +
          `${kinds(r)}`,
      )
    }

    const failures = reports.flatMap((r) => [
      ...r.retries
        .filter((x) => !isAcceptable(x.op.kind, x.status) || x.ms > RETRY_WITHIN_MS)
        .map(
          (x) =>
            `round ${r.round}: retry of ${x.op.kind} ${x.op.key} answered ${x.status ?? x.error} after ${x.ms} ms` +
            (x.answer?.['error'] ? ` ${JSON.stringify(x.answer['error']).slice(0, 160)}` : ''),
        ),
      ...r.wrongAnswers.map((w) => `round ${r.round}: answered before the kill: ${w}`),
      ...(r.keysInProgress > 0
        ? [`round ${r.round}: ${r.keysInProgress} idempotency keys left in progress`]
        : []),
      ...r.notExactlyOnce.map((w) => `round ${r.round}: ${w}`),
      ...r.violations.map((v) => `round ${r.round}: db:verify: ${v}`),
      ...r.creditProblems.map((p) => `round ${r.round}: ${p}`),
    ])
    expect(reports.every((r) => r.unanswered > 0)).toBe(true)
    const shown =
      failures.length > 30 ? [...failures.slice(0, 30), `… and ${failures.length - 30} more`] : failures
    expect(shown).toEqual([])
  }, 120_000)
})
