import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
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

// A real server process killed with SIGKILL in the middle of concurrent mark-as-sent calls, payments and
// idempotent creates, then restarted on the same database and data directory. Every request that got no
// answer is sent again with the same Idempotency-Key and body: each must succeed, or replay its first answer,
// within a few seconds (the idempotency lease is 60 s), no key may stay in progress, every effect must exist
// exactly once, and `db:verify` must find nothing wrong with the data or the stored PDFs.

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

const serverUrl = process.env['TEST_DATABASE_EMBEDDED'] === '1' ? undefined : process.env['TEST_DATABASE_URL']

type Kind = 'customer' | 'invoice' | 'send' | 'payment'

interface Op {
  kind: Kind
  key: string
  token: string
  path: string
  body: Record<string, unknown> | undefined
  /** For sends: the invoice issued; for payments: the invoice paid. */
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

async function setUp(base: string, token: string, path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const answer = (await res.json()) as { id: string }
  if (res.status >= 300) throw new Error(`set-up ${path}: ${res.status} ${JSON.stringify(answer)}`)
  return answer.id
}

/** The slowest retry of each kind, as `send 812 ms, payment 95 ms`. */
function slowest(retries: Retry[]): string {
  const most = new Map<Kind, number>()
  for (const r of retries) most.set(r.op.kind, Math.max(most.get(r.op.kind) ?? 0, r.ms))
  return [...most].map(([kind, ms]) => `${kind} ${ms} ms`).join(', ') || 'none'
}

const expectedStatus: Record<Kind, number> = { customer: 201, invoice: 201, send: 200, payment: 201 }

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
  if (op.kind === 'payment') {
    const rows = await db.selectFrom('payments').select('id').where('reference', '=', op.key).execute()
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
  }

  let serial = 0
  const nextOp = (): Op => {
    const n = serial++
    const key = `crash-${index}-${n}-${crypto.randomUUID()}`
    const user = users[n % users.length]!
    const pick = Math.random()
    if (pick < 0.3 && drafts.length > 0) {
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
    if (pick < 0.6) {
      const invoice = payable[n % payable.length]!
      return {
        kind: 'payment',
        key,
        token: invoice.token,
        path: `/api/v1/invoices/${invoice.id}/payments`,
        body: { amount: 1 + (n % 997), method: 'bank_transfer', reference: key },
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
    .filter((op) => op.status !== undefined && op.status !== expectedStatus[op.kind])
    .map((op) => `${op.kind} ${op.key}: ${op.status} ${JSON.stringify(op.answer).slice(0, 200)}`)

  // Each effect exists once, and is the one the answer (first or replayed) named.
  const notExactlyOnce: string[] = []
  for (const op of ops) {
    const answer = retries.find((r) => r.op === op)?.answer ?? op.answer
    const status = retries.find((r) => r.op === op)?.status ?? op.status
    if (status !== expectedStatus[op.kind]) continue
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
  }
}

describe.skipIf(serverUrl === undefined)('a server killed with SIGKILL', () => {
  test('when it dies amid sends, payments and idempotent creates and comes back, then every unanswered request retried with its key succeeds within seconds, no key blocks, and the data verifies', async () => {
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
      const slow = r.retries.filter((x) => x.status !== expectedStatus[x.op.kind] || x.ms > RETRY_WITHIN_MS)
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
          `${r.violations.length} db:verify violations`,
      )
    }

    const failures = reports.flatMap((r) => [
      ...r.retries
        .filter((x) => x.status !== expectedStatus[x.op.kind] || x.ms > RETRY_WITHIN_MS)
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
    ])
    expect(reports.every((r) => r.unanswered > 0)).toBe(true)
    const shown =
      failures.length > 30 ? [...failures.slice(0, 30), `… and ${failures.length - 30} more`] : failures
    expect(shown).toEqual([])
  }, 120_000)
})
