/**
 * How many requests at once one API process takes before they queue too long for the pool (issue 17: fly.toml's
 * `soft_limit`/`hard_limit` against `DB_POOL_MAX`). One process (WEB_CONCURRENCY=1, DB_POOL_MAX=20, as a Fly
 * machine with one core) on a scratch database `invoice_bench_conc_<random>` of DATABASE_URL's server: one
 * user issues drafts with N requests in flight (mark-as-sent: a transaction that holds a connection while the
 * PDF is rendered and stored, the heaviest common write), while a second user reads `GET /api/v1/me` every
 * 50 ms. For each N: the sender's and the reader's latencies, and the most reservations the pool had waiting
 * (`db_pool_acquire_waiting`, sampled every 50 ms from /metrics).
 *
 *   bun bench/concurrency.ts                       N = 20, 40, 60, 100, 200; DRAFTS_PER_CLIENT (6)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import postgres from 'postgres'
import { migrateToLatest } from '../db/migrator'
import { signDevToken } from '../src/lib/auth/dev-issuer'
import { openDatabase } from '../src/lib/db'
import { createLogger } from '../src/lib/logger'

const LEVELS = (process.env['LEVELS'] ?? '20,40,60,100,200').split(',').map(Number)
const DRAFTS_PER_CLIENT = Number(process.env['DRAFTS_PER_CLIENT'] ?? 6)
const METRICS_TOKEN = 'bench-metrics'

const serverUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const name = `invoice_bench_conc_${Math.random().toString(36).slice(2, 10)}`
const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
await admin.unsafe(`create database "${name}"`)
const url = new URL(serverUrl)
url.pathname = `/${name}`
const databaseUrl = url.toString()
const dataDir = mkdtempSync(path.join(tmpdir(), 'invoice-bench-conc-'))
const logger = createLogger({ logLevel: 'silent', logPretty: false })

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
}
const f = (ms: number) => ms.toFixed(0)

let server: ReturnType<typeof Bun.spawn> | undefined
try {
  const handle = await openDatabase(
    {
      databaseUrl,
      dataDir,
      db: {
        poolMin: 1,
        poolMax: 2,
        idleTimeoutSeconds: 30,
        connectTimeoutSeconds: 5,
        statementTimeoutMs: 0,
        slowQueryMs: 60_000,
      },
    },
    logger,
  )
  await migrateToLatest(handle.db)
  await handle.close()

  const port = 31_000 + Math.floor(Math.random() * 1000)
  server = Bun.spawn(['bun', 'src/index.ts'], {
    cwd: path.resolve(import.meta.dir, '..'),
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      DATA_DIR: dataDir,
      WEB_CONCURRENCY: '1',
      DB_POOL_MIN: '5',
      DB_POOL_MAX: '20',
      RATE_LIMIT_PER_MINUTE: '1000000',
      METRICS_TOKEN,
      LOG_LEVEL: process.env['API_LOG_LEVEL'] ?? 'error',
    },
    stdout: 'ignore',
    stderr: 'inherit',
  })
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    if (
      await fetch(`${base}/health`)
        .then((r) => r.ok)
        .catch(() => false)
    )
      break
    if (i > 400 || server.exitCode !== null) throw new Error('the API did not start')
    await Bun.sleep(100)
  }
  const sender = {
    authorization: `Bearer ${await signDevToken(dataDir, 'sender@example.com')}`,
    'content-type': 'application/json',
  }
  const reader = { authorization: `Bearer ${await signDevToken(dataDir, 'reader@example.com')}` }
  await fetch(`${base}/api/v1/me`, {
    method: 'PATCH',
    headers: sender,
    body: JSON.stringify({ companyName: 'Sender GmbH', defaultCurrency: 'EUR', defaultTaxRate: 19 }),
  })
  const customer = (await (
    await fetch(`${base}/api/v1/customers`, {
      method: 'POST',
      headers: sender,
      body: JSON.stringify({ name: 'Zoë Müller' }),
    })
  ).json()) as { id: string }
  const items = Array.from({ length: 10 }, (_, i) => ({
    description: `Line ${i + 1}`,
    quantity: 1 + (i % 3),
    unitPrice: 1999 + i,
  }))

  console.log(
    `bench/concurrency.ts: one API process, DB_POOL_MAX 20, ${DRAFTS_PER_CLIENT} sends per client; load ${(await Bun.file('/proc/loadavg').text()).split(' ').slice(0, 3).join(' ')}`,
  )
  console.log(
    '\n| in flight (sender) | sends/s | send p50 / p95 / max ms | GET /me (other user) p50 / p95 / max ms | pool waiting, max |',
  )
  console.log('|---:|---:|---:|---:|---:|')
  for (const n of LEVELS) {
    // Drafts first, 16 at a time, outside the measurement.
    const drafts: string[] = []
    for (let made = 0; made < n * DRAFTS_PER_CLIENT; made += 16) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(16, n * DRAFTS_PER_CLIENT - made) }, async () => {
          const res = await fetch(`${base}/api/v1/invoices`, {
            method: 'POST',
            headers: sender,
            body: JSON.stringify({ customerId: customer.id, items }),
          })
          return ((await res.json()) as { id: string }).id
        }),
      )
      drafts.push(...batch)
    }
    let running = true
    const reads: number[] = []
    let waitingMax = 0
    const probe = (async () => {
      while (running) {
        const started = performance.now()
        await fetch(`${base}/api/v1/me`, { headers: reader })
        reads.push(performance.now() - started)
        await Bun.sleep(50)
      }
    })()
    const sampler = (async () => {
      while (running) {
        const text = await (
          await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
        ).text()
        const waiting = Number(/^db_pool_acquire_waiting(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0)
        waitingMax = Math.max(waitingMax, waiting)
        await Bun.sleep(50)
      }
    })()
    const sends: number[] = []
    const queue = [...drafts]
    const started = performance.now()
    await Promise.all(
      Array.from({ length: n }, async () => {
        for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
          const at = performance.now()
          const res = await fetch(`${base}/api/v1/invoices/${id}/mark-as-sent`, {
            method: 'POST',
            headers: sender,
          })
          await res.arrayBuffer()
          if (res.status !== 200) throw new Error(`mark-as-sent answered ${res.status}`)
          sends.push(performance.now() - at)
        }
      }),
    )
    const seconds = (performance.now() - started) / 1000
    running = false
    await Promise.all([probe, sampler])
    console.log(
      `| ${n} | ${(sends.length / seconds).toFixed(0)} | ${f(quantile(sends, 0.5))} / ${f(quantile(sends, 0.95))} / ${f(Math.max(...sends))} | ${f(quantile(reads, 0.5))} / ${f(quantile(reads, 0.95))} / ${f(Math.max(...reads))} | ${waitingMax} |`,
    )
  }
} finally {
  server?.kill('SIGTERM')
  await server?.exited
  await admin.unsafe(`drop database if exists "${name}" with (force)`)
  await admin.end()
  rmSync(dataDir, { recursive: true, force: true })
}
