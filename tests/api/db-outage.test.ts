import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Kysely, sql } from 'kysely'
import { PostgresJSDialect } from 'kysely-postgres-js'
import postgres from 'postgres'
import { migrateToLatest } from '../../db/migrator'
import { type App, type AppDeps, createApp } from '../../src/app'
import { loadConfig } from '../../src/config'
import { createDeps } from '../../src/deps'
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../src/lib/embedded-postgres'
import { createLogger } from '../../src/lib/logger'
import type { LogLine } from '../helpers/app'
import { testDatabaseUrl } from '../helpers/database'
import { startTestIssuer, TEST_CLIENT_ID, type TestIssuer } from '../helpers/jwks'
import { type Outage, startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

const CONNECT_TIMEOUT_SECONDS = 2
const QUERY_TIMEOUT_MS = 1_500
/** Every outage must be answered well before a client or a load balancer would give up (30 s). */
const ANSWER_WITHIN_MS = 5_000
const RECOVER_WITHIN_MS = 10_000

/**
 * The target behind the proxy: the run's PostgreSQL server, or with PGlite a database of its own (the run's
 * PGlite serves one connection, which the shared test pool holds).
 */
async function startTarget(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env['TEST_DATABASE_EMBEDDED'] !== '1') return { url: testDatabaseUrl(), stop: async () => {} }
  const embedded: EmbeddedPostgres = await startEmbeddedPostgres(undefined)
  const client = postgres(embedded.url, { max: 1, onnotice: () => {} })
  await migrateToLatest(new Kysely({ dialect: new PostgresJSDialect({ postgres: client }) }))
  await client.end()
  return { url: embedded.url, stop: () => embedded.stop() }
}

let target: { url: string; stop: () => Promise<void> }
let proxy: TcpProxy
let issuer: TestIssuer
let deps: AppDeps
let app: App
let token: string
const logs: LogLine[] = []
const dataDir = mkdtempSync(path.join(tmpdir(), 'invoice-api-outage-'))

beforeAll(async () => {
  target = await startTarget()
  const upstream = new URL(target.url)
  proxy = startTcpProxy({ hostname: upstream.hostname, port: Number(upstream.port) })
  issuer = await startTestIssuer()
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    DATABASE_URL: proxy.rewrite(target.url),
    DB_POOL_MIN: '1',
    DB_POOL_MAX: process.env['TEST_DATABASE_EMBEDDED'] === '1' ? '1' : '4',
    DB_CONNECT_TIMEOUT_SECONDS: String(CONNECT_TIMEOUT_SECONDS),
    DB_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
    COGNITO_ISSUER: issuer.issuer,
    COGNITO_CLIENT_ID: TEST_CLIENT_ID,
    LOG_LEVEL: 'info',
  })
  const logger = createLogger(config, {
    write(line: string) {
      logs.push(JSON.parse(line) as LogLine)
    },
  })
  // The queue is not started: its maintenance would share the pool this file holds whole.
  deps = await createDeps(config, logger, { migrate: false, startJobs: false })
  app = createApp(deps)
  token = await issuer.sign({})
})

afterAll(async () => {
  proxy.restore()
  await deps.database.close(1)
  proxy.stop()
  await issuer.stop()
  await target.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

const me = () =>
  app.handle(new Request('http://localhost/api/v1/me', { headers: { authorization: `Bearer ${token}` } }))
const ready = () => app.handle(new Request('http://localhost/health/ready'))

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now()
  const value = await work()
  return { value, ms: Math.round(performance.now() - started) }
}

/** Asks until `/api/v1/me` is 200 again; bounded in time and in attempts. */
async function untilRecovered(): Promise<{ ms: number; attempts: number }> {
  const started = performance.now()
  for (let attempt = 1; attempt <= 100; attempt++) {
    if ((await me()).status === 200) return { ms: Math.round(performance.now() - started), attempts: attempt }
    if (performance.now() - started > RECOVER_WITHIN_MS) break
    await Bun.sleep(100)
  }
  throw new Error(`not recovered within ${RECOVER_WITHIN_MS} ms`)
}

const outages: [Outage, string][] = [
  ['blackhole', 'open connections are closed and new ones are never answered'],
  ['refuse', 'open connections are closed and new ones are closed at once'],
  ['freeze', 'open connections stay open but nothing comes back (a partition)'],
]

describe('database outage', () => {
  test('when the database answers, then /me and readiness are 200', async () => {
    expect((await me()).status).toBe(200)
    expect((await ready()).status).toBe(200)
  })

  for (const [outage, what] of outages) {
    test(`when the link is cut (${outage}: ${what}), then requests get 503 SERVICE_UNAVAILABLE within seconds and succeed again after it is restored, without a restart`, async () => {
      expect((await me()).status).toBe(200)
      proxy.cut(outage)
      try {
        const down = await timed(me)
        expect(down.value.status).toBe(503)
        expect(down.value.headers.get('retry-after')).toBe('5')
        expect(((await down.value.json()) as { error: { code: string } }).error.code).toBe(
          'SERVICE_UNAVAILABLE',
        )
        expect(down.ms).toBeLessThan(ANSWER_WITHIN_MS)

        const probe = await timed(ready)
        expect(probe.value.status).toBe(503)
        expect(await probe.value.json()).toEqual({
          status: 'fail',
          checks: { database: 'fail', migrations: 'ok', storage: 'ok' },
        })
        expect(probe.ms).toBeLessThan(ANSWER_WITHIN_MS)

        const again = await timed(me)
        expect(again.value.status).toBe(503)
        expect(again.ms).toBeLessThan(ANSWER_WITHIN_MS)
        console.info(`[${outage}] first 503 after ${down.ms} ms, readiness 503 after ${probe.ms} ms`)
      } finally {
        proxy.restore()
      }
      const recovered = await untilRecovered()
      console.info(`[${outage}] 200 again ${recovered.ms} ms after restore (${recovered.attempts} attempts)`)
      expect((await ready()).status).toBe(200)
      const errorLine = logs.find((l) => l.level === 'error' && l['code'] === 'SERVICE_UNAVAILABLE')
      expect(typeof (errorLine?.['err'] as { stack?: unknown } | undefined)?.stack).toBe('string')
    }, 30_000)
  }

  test('when every pooled connection is busy for longer than the connect timeout, then 503 and the log names the connection pool', async () => {
    expect((await me()).status).toBe(200)
    const poolMax = deps.database.poolMax
    let release: () => void = () => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    // Every connection of the pool held by a transaction that waits.
    const holders = Array.from({ length: poolMax }, () =>
      deps.database.db.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx)
        await released
      }),
    )
    await Bun.sleep(200)
    try {
      const started = performance.now()
      const res = await me()
      expect(res.status).toBe(503)
      expect(performance.now() - started).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_SECONDS * 1000 - 100)
      const line = logs.findLast((l) => l['code'] === 'SERVICE_UNAVAILABLE')
      expect(line?.message).toContain('connection pool')
      // Before any request failed, the pool said it was full: once, however many reservations waited.
      if (poolMax > 1) {
        const busy = logs.filter((l) => l.message === 'connection pool busy')
        expect(busy).toHaveLength(1)
        expect(busy[0]).toMatchObject({ level: 'warn', max: poolMax })
        expect(busy[0]!['inUse']).toBeGreaterThanOrEqual(Math.ceil(poolMax * 0.9))
      }
    } finally {
      release()
      await Promise.all(holders)
    }
    expect((await me()).status).toBe(200)
  }, 30_000)

  test('when the connection closes while a transaction waits between statements, then the next statement fails with a connection error and the pool serves the next transaction', async () => {
    const db = deps.database.db
    const failure = await db
      .transaction()
      .execute(async (trx) => {
        await sql`select 1`.execute(trx)
        proxy.cut('refuse')
        await Bun.sleep(100)
        await sql`select 2`.execute(trx)
      })
      .then(
        () => undefined,
        (error: unknown) => error as { code?: string },
      )
    proxy.restore()
    expect(failure?.code).toMatch(/^(CONNECTION_CLOSED|ECONNRESET)$/)
    const started = performance.now()
    let answer: unknown
    for (let attempt = 0; attempt < 50 && answer === undefined; attempt++) {
      answer = await sql<{ x: number }>`select 3 as x`.execute(db).then(
        (r) => r.rows[0]?.x,
        () => Bun.sleep(100).then(() => undefined),
      )
      if (performance.now() - started > RECOVER_WITHIN_MS) break
    }
    expect(answer).toBe(3)
  }, 30_000)
})
