import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import postgres from 'postgres'
import { migrateToLatest } from '../../db/migrator'
import { crossTenant, type DatabaseHandle, openDatabase } from '../../src/lib/db'
import { createLogger } from '../../src/lib/logger'
import { startTestIssuer, TEST_CLIENT_ID, type TestIssuer } from '../helpers/jwks'
import { ROOT, readLines, serverEnv } from '../helpers/server-process'
import { type Received, startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

// The outbox under a real process death (API.md "Webhooks": "no change without its event even if the process
// dies right after the commit"): the API runs as `bun src/index.ts` on its own database, is SIGKILLed right after
// answering changes whose receiver is down, and after a restart every event is delivered. Then two API processes
// work one database: with many events, no (webhook-id, attempt) reaches the receiver twice.

const serverUrl = process.env['TEST_DATABASE_EMBEDDED'] === '1' ? undefined : process.env['TEST_DATABASE_URL']
const START_WITHIN_MS = 30_000
const DELIVER_WITHIN_MS = 45_000
/** Many events, made through both processes at once. */
const EVENTS = 160
const FLAKY_EVENTS = 60
const PARALLEL = 8

/** `bun src/index.ts`; `start` resolves once it listens. Its log lines are kept. */
class ServerProcess {
  private proc: ReturnType<typeof Bun.spawn> | undefined
  base = ''
  readonly lines: Record<string, unknown>[] = []

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
        this.lines.push(line)
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
    this.base = ''
  }

  /** Deliveries this process attempted without success, by its log. */
  failedAttempts(): number {
    return this.lines.filter((line) => line['message'] === 'webhook delivery attempt failed').length
  }
}

let dbName = ''
let admin: postgres.Sql
let database: DatabaseHandle
let dataDir = ''
let issuer: TestIssuer
let receiver: WebhookReceiver
let env: Record<string, string> = {}
const servers: ServerProcess[] = []

beforeAll(async () => {
  if (serverUrl === undefined) return
  dbName = `invoice_webhooks_crash_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`
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
  dataDir = mkdtempSync(path.join(tmpdir(), 'invoice-api-webhooks-crash-'))
  issuer = await startTestIssuer()
  receiver = await startWebhookReceiver()
  receiver.answer((message: Received) => {
    // `/hooks/flaky…` fails the first arrival of each message; `/hooks/inflight…` holds the first one past the
    // process's death; everything else succeeds.
    if (message.path.startsWith('/hooks/flaky') && message.seen === 1) return 500
    if (message.path.startsWith('/hooks/inflight') && message.seen === 1) return { sleepMs: 5_000 }
    return 200
  })
  env = {
    DATABASE_URL: url.toString(),
    DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: 'info',
    COGNITO_ISSUER: issuer.issuer,
    COGNITO_CLIENT_ID: TEST_CLIENT_ID,
    RATE_LIMIT_PER_MINUTE: '1000000',
    DB_POOL_MIN: '1',
    DB_POOL_MAX: '10',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    WEBHOOK_RETRY_SCHEDULE: '1,1,1,1,1,1',
    WEBHOOK_TIMEOUT_MS: '2000',
  }
})

afterAll(async () => {
  if (serverUrl === undefined) return
  for (const server of servers) await server.kill()
  await receiver?.close()
  await database?.close()
  await issuer?.stop()
  await admin?.unsafe(`drop database if exists "${dbName}" with (force)`)
  await admin?.end()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

async function startServer(): Promise<ServerProcess> {
  const server = new ServerProcess(env)
  servers.push(server)
  await server.start()
  return server
}

async function post(
  base: string,
  token: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const answer = (await res.json()) as Record<string, unknown>
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(answer).slice(0, 300)}`)
  return answer
}

async function patch(base: string, token: string, path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  expect(res.status).toBe(200)
}

async function newEndpoint(base: string, token: string, name: string, events: string[] = ['*']) {
  const created = await post(base, token, '/api/v1/webhook-endpoints', { url: receiver.url(name), events })
  receiver.addSecret(created['secret'] as string)
  return created['id'] as string
}

/** The ids of the events of the given types, from the database. */
async function eventIds(types: string[]): Promise<string[]> {
  const rows = await crossTenant(database.db)
    .selectFrom('events')
    .select('id')
    .where('type', 'in', types)
    .execute()
  return rows.map((row) => row.id)
}

/** Polls a delivery's row until `done` holds. */
async function waitForDelivery(id: string, done: (row: { status: string; attempts: number }) => boolean) {
  const deadline = Date.now() + DELIVER_WITHIN_MS
  for (;;) {
    const row = await crossTenant(database.db)
      .selectFrom('webhook_deliveries')
      .select(['status', 'attempts'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
    if (done(row) || Date.now() > deadline) return row
    await Bun.sleep(50)
  }
}

const countBy = (messages: Received[]) => {
  const counts = new Map<string, number>()
  for (const m of messages) counts.set(m.id, (counts.get(m.id) ?? 0) + 1)
  return counts
}

describe.skipIf(serverUrl === undefined)('webhooks across a SIGKILL and across processes', () => {
  test('when the process is SIGKILLed right after answering changes whose receiver is down, then after a restart each event is delivered', async () => {
    const server = await startServer()
    const token = await issuer.sign({}, { expiresIn: '1h' })
    const endpointId = await newEndpoint(server.base, token, 'crash')
    await receiver.stop()

    // Changes, each answered, and the process killed at once after the last answer.
    const customer = await post(server.base, token, '/api/v1/customers', {
      name: 'Crash Ltd',
      currency: 'EUR',
    })
    const invoice = await post(server.base, token, '/api/v1/invoices', {
      customerId: customer['id'],
      items: [{ description: 'Work', quantity: 1, unitPrice: 10_000, taxRate: 0 }],
    })
    await post(server.base, token, `/api/v1/invoices/${invoice['id'] as string}/mark-as-sent`)
    await post(server.base, token, `/api/v1/invoices/${invoice['id'] as string}/payments`, { amount: 10_000 })
    await server.kill()

    const rows = await crossTenant(database.db)
      .selectFrom('events as e')
      .innerJoin('webhook_deliveries as d', 'd.event_id', 'e.id')
      .select(['e.id', 'e.type', 'd.id as deliveryId', 'd.status', 'd.attempts'])
      .orderBy('e.seq')
      .execute()
    expect(rows.map((row) => row.type)).toEqual([
      'customer.created',
      'invoice.created',
      'invoice.sent',
      'payment.created',
      'invoice.paid',
    ])
    // Written with their changes, and none delivered before the kill.
    expect(rows.every((row) => row.status === 'pending' || row.status === 'retrying')).toBe(true)
    expect(receiver.received).toEqual([])
    // A delivery job the dead process had already taken (fetched, perhaps claimed, not finished) stays with it
    // until the queue takes it for lost: pg-boss expires active jobs after 300 s (src/lib/jobs, EXPIRE_SECONDS)
    // and looks every 60 s, far past this test's bounds. Those are found in the queue's table, reported, and
    // retried by hand; every other delivery must go out on its own once the API is back.
    const { rows: active } = await sql<{ delivery_id: string }>`
      select data->>'deliveryId' as delivery_id from pgboss.job
       where name = 'webhook-deliver' and state = 'active'`.execute(crossTenant(database.db))
    const held = new Set(active.map((row) => row.delivery_id))
    const inFlight = rows.filter((row) => held.has(row.deliveryId))

    await receiver.start()
    const restarted = await startServer()
    const started = Date.now()
    const waiting = rows.filter((row) => !held.has(row.deliveryId))
    await receiver.waitFor(
      (received) => waiting.every((row) => received.some((m) => m.id === row.id)),
      DELIVER_WITHIN_MS,
      'the events written before the kill whose jobs were still queued',
    )
    const ms = Date.now() - started
    // A held job may have queued its delivery's next attempt before the kill (an attempt's outcome commits
    // before its job is completed): that one goes out on its own within the schedule's second.
    await Bun.sleep(1_500)
    const heldDelivered = inFlight.filter((row) => receiver.byId(row.id).length > 0).length
    for (const row of inFlight.filter((r) => receiver.byId(r.id).length === 0)) {
      await post(
        restarted.base,
        token,
        `/api/v1/webhook-endpoints/${endpointId}/deliveries/${row.deliveryId}/retry`,
      )
    }
    await receiver.waitFor(
      (received) => rows.every((row) => received.some((m) => m.id === row.id)),
      DELIVER_WITHIN_MS,
      'the events whose jobs the killed process held, retried by hand',
    )
    console.info(
      `SIGKILL right after the last answer: ${waiting.length} of ${rows.length} deliveries went out on their own ` +
        `${ms} ms after the restart; ${inFlight.length} (${inFlight.map((row) => row.type).join(', ') || 'none'}) ` +
        `were held by the killed process (left to pg-boss expiry, 300 s); ${heldDelivered} of those went out ` +
        'through the next attempt their job had queued, the others were retried by hand',
    )
    for (const row of waiting) expect(receiver.byId(row.id).map((m) => m.type)).toEqual([row.type])
    for (const row of inFlight)
      expect(new Set(receiver.byId(row.id).map((m) => m.type))).toEqual(new Set([row.type]))
  }, 120_000)

  test('when the process is SIGKILLed while a delivery is in flight, then the claim survives and the event is delivered after the restart under the same webhook-id', async () => {
    const server = servers.at(-1)!
    const token = await issuer.sign({}, { expiresIn: '1h' })
    const endpointId = await newEndpoint(server.base, token, 'inflight', ['customer.created'])
    const before = new Set(await eventIds(['customer.created']))
    await post(server.base, token, '/api/v1/customers', { name: 'In flight Ltd' })
    const [id] = (await eventIds(['customer.created'])).filter((eventId) => !before.has(eventId))
    // The attempt has reached the receiver, which has not answered yet: the job is in flight.
    await receiver.waitForId(id!, 1, DELIVER_WITHIN_MS)
    await server.kill()
    const delivery = await crossTenant(database.db)
      .selectFrom('webhook_deliveries')
      .select(['id', 'status', 'attempts'])
      .where('event_id', '=', id!)
      .executeTakeFirstOrThrow()
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1 })

    const restarted = await startServer()
    await Bun.sleep(2_000)
    const automatic = receiver.byId(id!).length >= 2
    if (!automatic) {
      await post(
        restarted.base,
        token,
        `/api/v1/webhook-endpoints/${endpointId}/deliveries/${delivery.id}/retry`,
      )
    }
    await receiver.waitForId(id!, 2, DELIVER_WITHIN_MS)
    console.info(
      automatic
        ? 'a delivery in flight at SIGKILL was attempted again within 2 s of the restart'
        : 'a delivery in flight at SIGKILL was still held by the dead process 2 s after the restart; retried by hand',
    )
    expect(receiver.byId(id!).map((m) => [m.headers['webhook-id'], m.answered])).toEqual([
      [id, 'late'],
      [id, 200],
    ])
    const settled = await waitForDelivery(delivery.id, (row) => row.status === 'succeeded')
    expect(settled.attempts).toBe(2)
  }, 120_000)

  test('when two processes work one database with many events, then no (webhook-id, attempt) arrives twice: once each when all succeed, twice each when the first arrival fails', async () => {
    const running = servers.filter((s) => s.base !== '').at(-1)!
    const second = await startServer()
    const bases = [running.base, second.base]
    const token = await issuer.sign({}, { expiresIn: '1h' })
    const endpointId = await newEndpoint(bases[0]!, token, 'many', ['customer.created'])

    /** `count` customers created through both processes at once; answers the ids of their events. */
    const burst = async (count: number, label: string) => {
      const before = new Set(await eventIds(['customer.created']))
      let next = 0
      await Promise.all(
        Array.from({ length: PARALLEL }, async (_, worker) => {
          while (next < count) {
            const n = next++
            await post(bases[(worker + n) % 2]!, token, '/api/v1/customers', { name: `${label} ${n}` })
          }
        }),
      )
      return (await eventIds(['customer.created'])).filter((id) => !before.has(id))
    }

    const startedMany = Date.now()
    const many = await burst(EVENTS, 'Many')
    expect(many).toHaveLength(EVENTS)
    const at = (name: string) => receiver.received.filter((m) => m.path === `/hooks/${name}`)
    await receiver.waitFor(
      () => new Set(at('many').map((m) => m.id)).size >= EVENTS,
      DELIVER_WITHIN_MS,
      `${EVENTS} events from two processes`,
    )
    const manyMs = Date.now() - startedMany
    await Bun.sleep(1_500)
    const counts = countBy(at('many'))
    expect([...counts.keys()].sort()).toEqual([...many].sort())
    expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([])

    // Now every first arrival fails: each event must arrive exactly twice (attempt 1 refused, attempt 2 taken).
    await patch(bases[1]!, token, `/api/v1/webhook-endpoints/${endpointId}`, { enabled: false })
    await newEndpoint(bases[1]!, token, 'flaky', ['customer.created'])
    const startedFlaky = Date.now()
    const flaky = await burst(FLAKY_EVENTS, 'Flaky')
    await receiver.waitFor(
      () => at('flaky').filter((m) => m.seen >= 2).length >= FLAKY_EVENTS,
      DELIVER_WITHIN_MS,
      `${FLAKY_EVENTS} events delivered on their second attempt`,
    )
    const flakyMs = Date.now() - startedFlaky
    await Bun.sleep(2_500)
    const flakyCounts = countBy(at('flaky'))
    expect([...flakyCounts.keys()].sort()).toEqual([...flaky].sort())
    expect([...flakyCounts.entries()].filter(([, n]) => n !== 2)).toEqual([])

    const states = await crossTenant(database.db)
      .selectFrom('webhook_deliveries')
      .select(['status', 'attempts'])
      .where('event_id', 'in', flaky)
      .execute()
    expect(states.every((s) => s.status === 'succeeded' && s.attempts === 2)).toBe(true)
    console.info(
      `two processes: ${EVENTS} events made and delivered in ${manyMs} ms, ${FLAKY_EVENTS} made and delivered on ` +
        `their second attempt in ${flakyMs} ms; ` +
        `failed attempts logged by each process: ${running.failedAttempts()}, ${second.failedAttempts()}`,
    )
    expect(receiver.refused).toEqual([])
  }, 120_000)
})
