/**
 * Webhooks on the outbox, measured on the real app (issue 14, "Numbers"): what the outbox adds to a write, how
 * fast a backlog of deliveries drains to a receiver, and how soon one change reaches the receiver on an idle
 * queue. The API runs as `createDeps` + `createApp` served by Bun on 127.0.0.1 in a child process of this
 * script (its job queue started, its workers started or not as each part needs); deliveries go to a receiver
 * on loopback in this process that verifies every request with the `standardwebhooks` package (the reference
 * implementation) and counts each `webhook-id`.
 *
 *   bun bench/webhooks.ts                       # every part: ≈ 12 min of work, plus waits for a quiet machine
 *   ONLY=outbox,drain bun bench/webhooks.ts     # some parts: outbox, drain, latency, pglite
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) names the server; a scratch database
 * `invoice_bench_webhooks_<random>` is created, migrated and dropped. The `pglite` part runs a server on the
 * embedded in-memory PGlite instead (one connection, no LISTEN: an idle queue is polled every 0.5 s).
 *
 * 1. outbox: POST /api/v1/invoices (10 items), mark-as-sent and a full payment, no workers running (only the
 *    write is measured), users without an endpoint (a) against users with one endpoint subscribed to `*` (b).
 *    At 1 connection a and b alternate request by request (a b b a …) so both see the same machine; the
 *    server also times the outbox's own statements (the event insert, with its deliveries, and the job's
 *    insert) in process. At 32 connections a and b run in alternating blocks (a b a b).
 * 2. drain: EVENTS customer creations for a user whose endpoint listens to `*`, no workers; then one worker
 *    process (workers only, no HTTP), and for a second backlog two, until the receiver verified them all.
 * 3. latency: one customer creation at a time on an idle queue (the API process with its workers, as in
 *    production), from the API's answer to the receiver's verified arrival.
 * 4. pglite: a smaller drain and the same latency on the embedded database.
 *
 * Before each measurement the 1-minute load average is checked; above QUIET_LOAD (1.5) the script waits a
 * minute at a time, up to QUIET_MINUTES (20). Every result carries the load and the CPU of each process group
 * from /proc; when processes outside the benchmark used more than OTHERS_LIMIT (0.3) cores during a
 * measurement, it is made again, up to RETRIES (3) times, keeping the least disturbed attempt.
 * Knobs: SAMPLES (600 requests per arm and operation at 1 connection), BLOCK (800 per block at 32),
 * EVENTS (5000), LATENCY_SAMPLES (100), PGLITE_EVENTS (1000); PROFILE_DIR puts the drain's worker processes
 * under `bun --cpu-prof` (summarise with bench/cpuprofile.ts).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import path from 'node:path'
import type { Subprocess } from 'bun'
import type { KyselyPlugin, RawNode, UnknownRow } from 'kysely'
import postgres from 'postgres'
import { Webhook } from 'standardwebhooks'
import { migrateToLatest } from '../db/migrator'
import { createApp } from '../src/app'
import { loadConfig } from '../src/config'
import { createDeps } from '../src/deps'
import { signDevToken } from '../src/lib/auth/dev-issuer'
import { openDatabase } from '../src/lib/db'
import type { JobQueue } from '../src/lib/jobs'
import { createLogger } from '../src/lib/logger'
import { startWorkers } from '../src/workers'

const num = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`)
  return value
}

type OutboxKind = 'event' | 'event+delivery' | 'job'
interface OutboxTiming {
  kind: OutboxKind
  ms: number
}
type ToServer = { type: 'timings' } | { type: 'start-workers' }
type FromServer =
  | { type: 'ready'; port: number | undefined }
  | { type: 'timings'; timings: OutboxTiming[] }
  | { type: 'workers-started' }

// ------------------------------------------------------------------------------------------------------------
// The API in a child process

/**
 * createDeps + createApp, listening on 127.0.0.1 when BENCH_HTTP=1, workers from the start when BENCH_WORKERS=1
 * or when told over IPC. The app's own database handle and job queue carry two timers, for the outbox's
 * statements only: the event insert (which inserts the deliveries and their jobs in the same statement) and a
 * job's separate send (none from the outbox since the jobs are embedded; kept to show that).
 */
async function serverProcess(): Promise<void> {
  const databaseUrl = process.env['BENCH_DATABASE_URL'] || undefined
  const config = loadConfig({
    NODE_ENV: 'development',
    DATA_DIR: process.env['BENCH_DATA_DIR'],
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    LOG_LEVEL: 'warn',
    LOG_PRETTY: 'false',
    RATE_LIMIT_PER_MINUTE: '1000000',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  })
  const logger = createLogger(config)
  // On the embedded database the child creates and migrates it (in memory); a real one was migrated before.
  const deps = await createDeps(config, logger, { migrate: !databaseUrl, embeddedInMemory: true })

  const timings: OutboxTiming[] = []
  const started = new WeakMap<object, number>()
  const timer: KyselyPlugin = {
    transformQuery({ node, queryId }) {
      if (node.kind === 'RawNode' && (node as RawNode).sqlFragments[0]?.includes('insert into events')) {
        started.set(queryId, performance.now())
      }
      return node
    },
    async transformResult({ result, queryId }) {
      const at = started.get(queryId)
      if (at !== undefined) {
        started.delete(queryId)
        // The statement inserts the event, its deliveries and their jobs (src/modules/webhooks/repository.ts).
        const ids = (result.rows as UnknownRow[])[0]?.['delivery_ids']
        const deliveries = Array.isArray(ids) ? ids.length : 0
        timings.push({ kind: deliveries > 0 ? 'event+delivery' : 'event', ms: performance.now() - at })
      }
      return result
    },
  }
  const jobs: JobQueue = {
    ...deps.jobs,
    async send(trx, name, data, options) {
      const at = performance.now()
      await deps.jobs.send(trx, name, data, options)
      timings.push({ kind: 'job', ms: performance.now() - at })
    },
  }
  const appDeps = { ...deps, database: { ...deps.database, db: deps.database.db.withPlugin(timer) }, jobs }

  const http = process.env['BENCH_HTTP'] === '1'
  const app = http
    ? createApp(appDeps).listen({ port: 0, hostname: '127.0.0.1', idleTimeout: 30 })
    : undefined
  let workers = false
  const startTheWorkers = async () => {
    if (workers) return
    workers = true
    await startWorkers({ db: deps.database.db, jobs: deps.jobs, logger, config })
  }
  if (process.env['BENCH_WORKERS'] === '1') await startTheWorkers()

  const reply = (message: FromServer) => process.send?.(message)
  process.on('message', async (received) => {
    const message = received as ToServer
    if (message.type === 'timings') reply({ type: 'timings', timings: timings.splice(0) })
    else if (message.type === 'start-workers') {
      await startTheWorkers()
      reply({ type: 'workers-started' })
    }
  })
  process.on('SIGTERM', async () => {
    await app?.stop(false)
    await deps.jobs.stop({ timeoutMs: 5_000 })
    await deps.database.close()
    process.exit(0)
  })
  reply({ type: 'ready', port: app?.server?.port })
}

interface ServerChild {
  process: Subprocess
  base: string
  ask(message: ToServer): Promise<FromServer>
  stop(): Promise<void>
}

async function spawnServer(options: {
  databaseUrl: string | undefined
  dataDir: string
  http: boolean
  workers: boolean
}): Promise<ServerChild> {
  const waiting: ((message: FromServer) => void)[] = []
  let ready: (message: FromServer) => void = () => {}
  const readyMessage = new Promise<FromServer>((resolve) => {
    ready = resolve
  })
  // PROFILE_DIR: the processes that only work the queue run under `bun --cpu-prof` (bench/cpuprofile.ts reads it).
  const profile = process.env['PROFILE_DIR']
  const profiling = profile && !options.http ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []
  const child = Bun.spawn(['bun', ...profiling, import.meta.path, 'server'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      BENCH_DATABASE_URL: options.databaseUrl ?? '',
      BENCH_DATA_DIR: options.dataDir,
      BENCH_HTTP: options.http ? '1' : '0',
      BENCH_WORKERS: options.workers ? '1' : '0',
    },
    stdout: 'inherit',
    stderr: 'inherit',
    ipc(message: FromServer) {
      if (message.type === 'ready') ready(message)
      else waiting.shift()?.(message)
    },
  })
  const first = await Promise.race([
    readyMessage,
    child.exited.then((code) => {
      throw new Error(`the server exited with ${code} before it was ready`)
    }),
  ])
  const port = first.type === 'ready' ? first.port : undefined
  return {
    process: child,
    base: `http://127.0.0.1:${port}`,
    ask(message) {
      return new Promise((resolve) => {
        waiting.push(resolve)
        child.send(message)
      })
    },
    async stop() {
      child.kill('SIGTERM')
      await child.exited
    },
  }
}

// ------------------------------------------------------------------------------------------------------------
// The receiver

interface Receiver {
  url(pathname: string): string
  /** The secret of the endpoint at `pathname`: its requests are verified with it. */
  register(pathname: string, secret: string): void
  /** Verified arrivals at `pathname`: distinct webhook-ids, all arrivals, first and last (performance.now()). */
  stats(pathname: string): { distinct: number; arrivals: number; first: number; last: number }
  /** Webhook-ids that arrived more than once at `pathname`. */
  duplicates(pathname: string): string[]
  /** How many times each object id arrived at `pathname`. */
  objects(pathname: string): Map<string, number>
  /** The verified arrival of the first message about `objectId` (performance.now()), or undefined on timeout. */
  arrivalOf(objectId: string, timeoutMs: number): Promise<number | undefined>
  refused(): number
  close(): Promise<void>
}

function startReceiver(): Receiver {
  const verifiers = new Map<string, Webhook>()
  const paths = new Map<
    string,
    { ids: Map<string, number>; objects: Map<string, number>; arrivals: number; first: number; last: number }
  >()
  const arrivals = new Map<string, number>()
  const waiters = new Map<string, (at: number) => void>()
  let refused = 0
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    idleTimeout: 30,
    async fetch(request) {
      const pathname = new URL(request.url).pathname
      const body = await request.text()
      const headers: Record<string, string> = {}
      request.headers.forEach((value, key) => {
        headers[key] = value
      })
      let payload: { data?: { object?: { id?: string } } }
      try {
        const verifier = verifiers.get(pathname)
        if (!verifier) throw new Error('no secret for this path')
        payload = verifier.verify(body, headers) as typeof payload
      } catch {
        refused++
        return new Response('signature refused', { status: 401 })
      }
      const at = performance.now()
      const id = headers['webhook-id']!
      const objectId = payload.data?.object?.id ?? ''
      let seen = paths.get(pathname)
      if (!seen) {
        seen = { ids: new Map(), objects: new Map(), arrivals: 0, first: at, last: at }
        paths.set(pathname, seen)
      }
      seen.ids.set(id, (seen.ids.get(id) ?? 0) + 1)
      seen.objects.set(objectId, (seen.objects.get(objectId) ?? 0) + 1)
      seen.arrivals++
      seen.last = at
      if (!arrivals.has(objectId)) {
        arrivals.set(objectId, at)
        waiters.get(objectId)?.(at)
        waiters.delete(objectId)
      }
      return new Response(null, { status: 204 })
    },
  })
  const empty = { distinct: 0, arrivals: 0, first: Number.NaN, last: Number.NaN }
  return {
    url: (pathname) => `http://127.0.0.1:${server.port}${pathname}`,
    register(pathname, secret) {
      verifiers.set(pathname, new Webhook(secret))
    },
    stats(pathname) {
      const seen = paths.get(pathname)
      return seen
        ? { distinct: seen.ids.size, arrivals: seen.arrivals, first: seen.first, last: seen.last }
        : empty
    },
    duplicates: (pathname) =>
      [...(paths.get(pathname)?.ids ?? new Map<string, number>())].flatMap(([id, n]) => (n > 1 ? [id] : [])),
    objects: (pathname) => paths.get(pathname)?.objects ?? new Map(),
    arrivalOf(objectId, timeoutMs) {
      const at = arrivals.get(objectId)
      if (at !== undefined) return Promise.resolve(at)
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters.delete(objectId)
          resolve(undefined)
        }, timeoutMs)
        waiters.set(objectId, (arrived) => {
          clearTimeout(timer)
          resolve(arrived)
        })
      })
    },
    refused: () => refused,
    close: () => server.stop(true),
  }
}

// ------------------------------------------------------------------------------------------------------------
// Measuring: load, CPU, percentiles

const loadAverage = (): number[] => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number)
const QUIET_LOAD = num('QUIET_LOAD', 1.5)
const QUIET_MINUTES = num('QUIET_MINUTES', 20)

/** Waits (a minute at a time, up to QUIET_MINUTES) for a 1-minute load at or below QUIET_LOAD. */
async function quietWindow(what: string): Promise<string> {
  const began = Date.now()
  for (;;) {
    const [one] = loadAverage()
    if (one! <= QUIET_LOAD) break
    if (Date.now() - began >= QUIET_MINUTES * 60_000) {
      console.log(`  ${what}: load ${one} after ${QUIET_MINUTES} min of waiting; measuring anyway`)
      break
    }
    console.log(`  ${what}: load ${one} > ${QUIET_LOAD}, waiting a minute`)
    await Bun.sleep(60_000)
  }
  const waited = Math.round((Date.now() - began) / 1000)
  return waited > 0 ? `after ${waited} s of waiting` : 'no wait'
}

const CLOCK_TICKS = 100
const processTicks = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return 0
  }
}
/** PostgreSQL backends serving `database` (their process titles name it). */
const backendsOf = (database: string): number[] =>
  readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return []
    try {
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
      return title.startsWith('postgres:') && title.includes(` ${database} `) ? [Number(entry)] : []
    } catch {
      return []
    }
  })

interface CpuSample {
  at: number
  machine: number
  ticks: Map<number, number>
}
const machineTicks = (): number => {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const [user, nice, system, , , irq, softirq, steal] = fields
  return user! + nice! + system! + irq! + softirq! + steal!
}

interface CpuUse {
  text: string
  /** Cores used by processes outside this benchmark (the machine minus every group). */
  others: number
  cores: Record<string, number>
}

/** CPU of named process groups between two samples, in cores; "others" is the machine minus all of them. */
class CpuMeter {
  private before: CpuSample | undefined
  constructor(private readonly groups: () => Record<string, number[]>) {}

  private sample(): CpuSample {
    const ticks = new Map<number, number>()
    for (const pids of Object.values(this.groups())) for (const pid of pids) ticks.set(pid, processTicks(pid))
    return { at: performance.now(), machine: machineTicks(), ticks }
  }
  start(): void {
    this.before = this.sample()
  }
  stop(): CpuUse {
    const after = this.sample()
    const before = this.before!
    const seconds = (after.at - before.at) / 1000
    const toCores = (ticks: number) => ticks / CLOCK_TICKS / seconds
    const cores: Record<string, number> = {}
    let ours = 0
    for (const [name, pids] of Object.entries(this.groups())) {
      const used = pids.reduce(
        (sum, pid) => sum + Math.max(0, (after.ticks.get(pid) ?? 0) - (before.ticks.get(pid) ?? 0)),
        0,
      )
      ours += used
      cores[name] = toCores(used)
    }
    const machine = toCores(after.machine - before.machine)
    const others = Math.max(0, machine - toCores(ours))
    const parts = Object.entries(cores).map(([name, used]) => `${name} ${used.toFixed(2)}`)
    return {
      text: `CPU (cores of ${availableParallelism()}): machine ${machine.toFixed(2)} = ${parts.join(' + ')} + others ${others.toFixed(2)}`,
      others,
      cores,
    }
  }
}

const RETRIES = num('RETRIES', 3)
const OTHERS_LIMIT = num('OTHERS_LIMIT', 0.3)

interface Conditions {
  load: number[]
  loadAfter: number[]
  wait: string
  cpu: CpuUse
  attempt: number
}
const conditionsLine = (c: Conditions) =>
  `load ${c.load.join(' ')} → ${c.loadAfter.join(' ')} (${c.wait}${c.attempt > 1 ? `, attempt ${c.attempt}` : ''})`

/**
 * One measurement: `prepare` (not measured), a quiet window, then `run`, which may call `finish` to end the
 * measured window early (what follows it is checking). When other processes used more than OTHERS_LIMIT
 * cores meanwhile it is done again, up to RETRIES times; the attempt they disturbed least is kept.
 */
async function measure<T>(
  what: string,
  meter: CpuMeter,
  run: (finish: () => void) => Promise<T>,
  prepare?: () => Promise<void>,
): Promise<{ result: T; conditions: Conditions }> {
  let best: { result: T; conditions: Conditions } | undefined
  for (let attempt = 1; attempt <= Math.max(1, RETRIES); attempt++) {
    await prepare?.()
    const wait = await quietWindow(what)
    const load = loadAverage()
    let ended: { cpu: CpuUse; loadAfter: number[] } | undefined
    const finish = () => {
      ended ??= { cpu: meter.stop(), loadAfter: loadAverage() }
    }
    meter.start()
    const result = await run(finish)
    finish()
    const conditions: Conditions = { load, loadAfter: ended!.loadAfter, wait, cpu: ended!.cpu, attempt }
    if (!best || conditions.cpu.others < best.conditions.cpu.others) best = { result, conditions }
    if (conditions.cpu.others <= OTHERS_LIMIT) break
    console.log(
      `  ${what}: other processes used ${f(conditions.cpu.others)} cores meanwhile (limit ${OTHERS_LIMIT})` +
        (attempt < RETRIES ? '; measuring again' : '; keeping the least disturbed attempt'),
    )
  }
  return best!
}

const sortNumbers = (values: number[]) => [...values].sort((a, b) => a - b)
const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length
const f = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '–')
const summary = (values: number[]) => {
  const sorted = sortNumbers(values)
  return {
    n: values.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: mean(values),
  }
}
const line = (s: ReturnType<typeof summary>) =>
  `n ${s.n}, p50 ${f(s.p50)} / p95 ${f(s.p95)} / p99 ${f(s.p99)} / max ${f(s.max)} ms, mean ${f(s.mean)} ms`

/** A 90 % bootstrap interval of p95(b) − p95(a). */
function bootstrapP95Difference(a: number[], b: number[], rounds = 1000): [number, number] {
  const draw = (values: number[]) =>
    sortNumbers(
      Array.from({ length: values.length }, () => values[Math.floor(Math.random() * values.length)]!),
    )
  const differences = sortNumbers(
    Array.from({ length: rounds }, () => percentile(draw(b), 95) - percentile(draw(a), 95)),
  )
  return [percentile(differences, 5), percentile(differences, 95)]
}

/** Runs `task(0…count-1)` with `concurrency` in flight. */
async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++
        results[i] = await task(i)
      }
    }),
  )
  return results
}

// ------------------------------------------------------------------------------------------------------------
// The client

interface Answer {
  status: number
  body: Record<string, unknown>
  ms: number
  /** performance.now() when the answer had been read. */
  at: number
}

function client(base: () => string) {
  return async (token: string, method: string, pathname: string, json?: unknown): Promise<Answer> => {
    const started = performance.now()
    const res = await fetch(`${base()}${pathname}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(json === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      signal: AbortSignal.timeout(60_000),
    })
    const text = await res.text()
    const at = performance.now()
    const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>
    if (!res.ok) throw new Error(`${method} ${pathname}: ${res.status} ${text.slice(0, 300)}`)
    return { status: res.status, body, ms: at - started, at }
  }
}

const ITEMS = Array.from({ length: 10 }, (_, i) => ({
  description: `Consulting, block ${i + 1}`,
  quantity: 1 + i / 4,
  unitPrice: 9_500 + i * 125,
  taxRate: 19,
}))

// ------------------------------------------------------------------------------------------------------------
// The run

async function main(): Promise<void> {
  // Only Linux has /proc; the load and the CPU figures come from there.
  if (!existsSync('/proc/loadavg')) throw new Error('bench/webhooks.ts reads /proc (Linux)')
  const only = (process.env['ONLY'] ?? 'outbox,drain,latency,pglite').split(',').map((part) => part.trim())
  const SAMPLES = num('SAMPLES', 600)
  const BLOCK = num('BLOCK', 800)
  const EVENTS = num('EVENTS', 5000)
  const LATENCY_SAMPLES = num('LATENCY_SAMPLES', 100)
  const PGLITE_EVENTS = num('PGLITE_EVENTS', 1000)
  const serverUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const name = `invoice_bench_webhooks_${crypto.randomUUID().slice(0, 8)}`
  const scratch = new URL(serverUrl)
  scratch.pathname = `/${name}`
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bench-webhooks-'))
  const commit = Bun.spawnSync(['git', 'rev-parse', '--short', 'HEAD'], { cwd: import.meta.dir }).stdout
  console.log(
    `bench/webhooks.ts at ${commit.toString().trim()}, ${new Date().toISOString()}, database ${name}, ` +
      `${availableParallelism()} cores, load ${loadAverage().join(' ')}; quiet window: 1-minute load ≤ ${QUIET_LOAD}, ` +
      `other processes ≤ ${OTHERS_LIMIT} cores during a measurement (else up to ${RETRIES} attempts)`,
  )

  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database "${name}"`)
  const receiver = startReceiver()
  const children = new Set<ServerChild>()
  let api: ServerChild | undefined
  const call = client(() => api!.base)
  const spawn = async (options: { databaseUrl: string | undefined; http: boolean; workers: boolean }) => {
    const child = await spawnServer({ ...options, dataDir })
    children.add(child)
    return child
  }
  const stop = async (child: ServerChild | undefined) => {
    if (!child) return
    children.delete(child)
    await child.stop()
  }
  const cpu = (database: string | undefined) =>
    new CpuMeter(() => ({
      'API/worker processes': [...children].map((child) => child.process.pid),
      'this process (client, receiver)': [process.pid],
      ...(database ? { 'PostgreSQL backends': backendsOf(database) } : {}),
    }))
  let users = 0
  const newUser = async (label: string) => {
    const token = await signDevToken(dataDir, `${label}-${users++}@example.com`)
    await call(token, 'PATCH', '/api/v1/me', { defaultCurrency: 'EUR', companyName: `${label} GmbH` })
    const customer = await call(token, 'POST', '/api/v1/customers', { name: `${label} customer` })
    return { token, customerId: customer.body['id'] as string }
  }
  let endpoints = 0
  const addEndpoint = async (token: string, label: string) => {
    const pathname = `/hooks/${label}-${endpoints++}`
    const answer = await call(token, 'POST', '/api/v1/webhook-endpoints', {
      url: receiver.url(pathname),
      events: ['*'],
    })
    receiver.register(pathname, answer.body['secret'] as string)
    return { pathname, id: answer.body['id'] as string }
  }
  /** `count` customer creations for a new user with an endpoint: a backlog while no worker runs. */
  const backlog = async (label: string, count: number, concurrency: number) => {
    const user = await newUser(label)
    const endpoint = await addEndpoint(user.token, label)
    const began = performance.now()
    const created = await pool(count, concurrency, async (i) => {
      const answer = await call(user.token, 'POST', '/api/v1/customers', { name: `${label} customer ${i}` })
      return answer.body['id'] as string
    })
    const seconds = (performance.now() - began) / 1000
    console.log(
      `  backlog: ${count} customer creations at ${concurrency} connections in ${f(seconds)} s (${f(count / seconds, 0)} req/s)`,
    )
    return { ...endpoint, created }
  }
  /** Waits until the receiver verified `count` distinct webhook-ids at `pathname` (10 minutes at most). */
  const drained = async (pathname: string, count: number) => {
    const deadline = performance.now() + 600_000
    while (receiver.stats(pathname).distinct < count && performance.now() < deadline) await Bun.sleep(10)
  }
  const throughputLine = (stats: ReturnType<Receiver['stats']>, since: number) => {
    const span = (stats.last - stats.first) / 1000
    return (
      `${stats.distinct} events verified in ${f(span)} s from the first arrival to the last = ` +
      `**${f((stats.distinct - 1) / span, 0)} events/s**; ${f(stats.distinct / ((stats.last - since) / 1000), 0)} events/s ` +
      'counted from the workers’ start (process start-up included)'
    )
  }

  let db: postgres.Sql | undefined
  let cleaned = false
  /** Stops every child, drops the scratch database: at the end, or on Ctrl-C / SIGTERM. */
  const cleanup = async () => {
    if (cleaned) return
    cleaned = true
    for (const child of children) await child.stop()
    await db?.end()
    await receiver.close()
    await admin.unsafe(`drop database if exists "${name}" with (force)`)
    await admin.end()
    rmSync(dataDir, { recursive: true, force: true })
    console.log(`\nrequests that failed verification at the receiver: ${receiver.refused()}`)
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => void cleanup().finally(() => process.exit(130)))
  }
  try {
    const database = await openDatabase(
      {
        databaseUrl: scratch.toString(),
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
      createLogger({ logLevel: 'warn', logPretty: false }),
    )
    await migrateToLatest(database.db)
    await database.close()
    db = postgres(scratch.toString(), { max: 2, onnotice: () => {} })

    if (only.includes('outbox') || only.includes('drain')) {
      api = await spawn({ databaseUrl: scratch.toString(), http: true, workers: false })
    }

    // 1. The outbox's cost on the write -------------------------------------------------------------------
    if (only.includes('outbox')) {
      console.log('\n## 1. Outbox write cost (no workers running)')
      type Arm = 'a' | 'b'
      type User = Awaited<ReturnType<typeof newUser>>
      const arms: Record<Arm, User[]> = { a: [], b: [] }
      for (let i = 0; i < 8; i++) {
        arms.a.push(await newUser('outbox-a'))
        const user = await newUser('outbox-b')
        await addEndpoint(user.token, 'outbox')
        arms.b.push(user)
      }
      interface Invoice {
        user: User
        id: string
        amountDue: number
      }
      const drafts: Record<Arm, Invoice[]> = { a: [], b: [] }
      const sent: Record<Arm, Invoice[]> = { a: [], b: [] }
      const turns = { a: 0, b: 0 }
      const nextUser = (arm: Arm) => arms[arm][turns[arm]++ % 8]!
      const create = async (arm: Arm) => {
        const user = nextUser(arm)
        const answer = await call(user.token, 'POST', '/api/v1/invoices', {
          customerId: user.customerId,
          items: ITEMS,
        })
        drafts[arm].push({ user, id: answer.body['id'] as string, amountDue: 0 })
        return answer.ms
      }
      const send = async (arm: Arm) => {
        const draft = drafts[arm].shift()!
        const answer = await call(draft.user.token, 'POST', `/api/v1/invoices/${draft.id}/mark-as-sent`)
        sent[arm].push({ ...draft, amountDue: answer.body['amountDue'] as number })
        return answer.ms
      }
      const pay = async (arm: Arm) => {
        const invoice = sent[arm].shift()!
        const answer = await call(invoice.user.token, 'POST', `/api/v1/invoices/${invoice.id}/payments`, {
          amount: invoice.amountDue,
          method: 'bank_transfer',
        })
        return answer.ms
      }
      /** What each operation consumes, made beforehand (not measured): drafts to send, sent invoices to pay. */
      const stock = async (operation: 'create' | 'send' | 'pay', perArm: number) => {
        for (const arm of ['a', 'b'] as const) {
          if (operation === 'send' && drafts[arm].length < perArm) {
            await pool(perArm - drafts[arm].length, 8, () => create(arm))
          }
          if (operation === 'pay' && sent[arm].length < perArm) {
            const missing = perArm - sent[arm].length
            if (drafts[arm].length < missing) await pool(missing - drafts[arm].length, 8, () => create(arm))
            await pool(missing, 8, () => send(arm))
          }
        }
      }
      const operations = [
        { key: 'create' as const, name: 'POST /api/v1/invoices (10 items)', run: create },
        { key: 'send' as const, name: 'POST /api/v1/invoices/{id}/mark-as-sent', run: send },
        { key: 'pay' as const, name: 'POST /api/v1/invoices/{id}/payments (in full)', run: pay },
      ]
      const timings = async () => {
        const answer = await api!.ask({ type: 'timings' })
        return answer.type === 'timings' ? answer.timings : []
      }

      // Warm-up: statements prepared, the render worker started, each path run.
      for (const operation of operations) {
        for (let i = 0; i < 40; i++) await operation.run(i % 2 ? 'a' : 'b')
      }

      const meter = cpu(name)
      for (const operation of operations) {
        const { result, conditions } = await measure(
          `${operation.name} at 1 connection`,
          meter,
          async (finish) => {
            await timings()
            const latencies: Record<Arm, number[]> = { a: [], b: [] }
            // a b b a a b …: each arm goes first half of the time.
            for (let i = 0; i < SAMPLES; i++) {
              for (const arm of i % 2 ? (['b', 'a'] as const) : (['a', 'b'] as const)) {
                latencies[arm].push(await operation.run(arm))
              }
            }
            finish()
            return { latencies, server: await timings() }
          },
          () => stock(operation.key, SAMPLES),
        )
        const a = summary(result.latencies.a)
        const b = summary(result.latencies.b)
        const [low, high] = bootstrapP95Difference(result.latencies.a, result.latencies.b)
        console.log(`\n${operation.name}, 1 connection, a and b alternating; ${conditionsLine(conditions)}`)
        console.log(`  a, no endpoint:        ${line(a)}`)
        console.log(`  b, one endpoint (*):   ${line(b)}`)
        console.log(
          `  b − a: p50 ${f(b.p50 - a.p50)} ms, **p95 ${f(b.p95 - a.p95)} ms** (90 % bootstrap interval ${f(low)} … ${f(high)}), mean ${f(b.mean - a.mean)} ms`,
        )
        console.log(`  ${outboxPerRequest(result.server, SAMPLES)}`)
        console.log(`  ${conditions.cpu.text}`)
      }

      console.log('\n32 connections, a and b in alternating blocks (a b a b), 8 users per arm, round robin')
      for (const operation of operations) {
        const { result, conditions } = await measure(
          `${operation.name} at 32 connections`,
          meter,
          async (finish) => {
            const latencies: Record<Arm, number[]> = { a: [], b: [] }
            const rates: Record<Arm, number[]> = { a: [], b: [] }
            const server: Record<Arm, OutboxTiming[]> = { a: [], b: [] }
            await timings()
            for (const arm of ['a', 'b', 'a', 'b'] as const) {
              const began = performance.now()
              const ms = await pool(BLOCK, 32, () => operation.run(arm))
              rates[arm].push((BLOCK / (performance.now() - began)) * 1000)
              latencies[arm].push(...ms)
              server[arm].push(...(await timings()))
            }
            finish()
            return { latencies, rates, server }
          },
          () => stock(operation.key, 2 * BLOCK),
        )
        const a = summary(result.latencies.a)
        const b = summary(result.latencies.b)
        console.log(`\n${operation.name}, 32 connections; ${conditionsLine(conditions)}`)
        const rates = (arm: Arm) => result.rates[arm].map((rate) => f(rate, 0)).join(' and ')
        console.log(`  a, no endpoint:        ${line(a)}; ${rates('a')} req/s`)
        console.log(`  b, one endpoint (*):   ${line(b)}; ${rates('b')} req/s`)
        console.log(
          `  b − a: p50 ${f(b.p50 - a.p50)} ms, **p95 ${f(b.p95 - a.p95)} ms**, mean ${f(b.mean - a.mean)} ms`,
        )
        console.log(`  outbox statements, a: ${statementLine(result.server.a)}`)
        console.log(`  outbox statements, b: ${statementLine(result.server.b)}`)
        console.log(`  ${conditions.cpu.text}`)
      }
      // Nothing of this part is delivered later: its endpoints go, with their deliveries, and so do the jobs.
      await db`delete from webhook_endpoints`
      await db`delete from pgboss.job where name = 'webhook-deliver'`
    }

    // 2. Draining a backlog --------------------------------------------------------------------------------
    if (only.includes('drain')) {
      console.log('\n## 2. Delivery throughput: a backlog drained by worker processes')
      for (const processes of [1, 2]) {
        let work: Awaited<ReturnType<typeof backlog>> | undefined
        const workers: ServerChild[] = []
        const { result, conditions } = await measure(
          `drain with ${processes} worker process(es)`,
          cpu(name),
          async (finish) => {
            const started = performance.now()
            workers.push(
              ...(await Promise.all(
                Array.from({ length: processes }, () =>
                  spawn({ databaseUrl: scratch.toString(), http: false, workers: true }),
                ),
              )),
            )
            await drained(work!.pathname, EVENTS)
            finish()
            await Bun.sleep(2_000) // a duplicate would arrive now
            for (const worker of workers.splice(0)) await stop(worker)
            return { work: work!, started, stats: receiver.stats(work!.pathname) }
          },
          async () => {
            work = await backlog(`drain-${processes}`, EVENTS, 32)
          },
        )
        const { stats, started } = result
        const objects = receiver.objects(result.work.pathname)
        const missing = result.work.created.filter((id) => !objects.has(id)).length
        const twice = result.work.created.filter((id) => (objects.get(id) ?? 0) > 1).length
        const states = await db`
          select status, attempts, count(*)::int as n from webhook_deliveries where endpoint_id = ${result.work.id}
           group by 1, 2 order by 1, 2`
        const [queued] = await db`
          select count(distinct event_id)::int as n from webhook_deliveries where endpoint_id = ${result.work.id}`
        const seconds = (stats.last - stats.first) / 1000
        const cores = conditions.cpu.cores
        const perEvent = (group: string) => f(((cores[group] ?? 0) * seconds * 1000) / stats.distinct, 1)
        console.log(
          `\n${processes} worker process(es), delivery concurrency 32 each; ${conditionsLine(conditions)}`,
        )
        console.log(`  ${throughputLine(stats, started)}`)
        console.log(
          `  exactly once: ${stats.arrivals} verified arrivals of ${stats.distinct} webhook-ids ` +
            `(${receiver.duplicates(result.work.pathname).length} ids more than once) for ${queued!['n']} events queued; ` +
            `${missing} customers never announced, ${twice} announced more than once; deliveries ` +
            `${states.map((row) => `${row['status']} after ${row['attempts']} attempt(s): ${row['n']}`).join(', ')}`,
        )
        console.log(`  ${conditions.cpu.text}`)
        console.log(
          `  CPU per event (approx.): workers ${perEvent('API/worker processes')} ms, PostgreSQL backends ` +
            `${perEvent('PostgreSQL backends')} ms, receiver ${perEvent('this process (client, receiver)')} ms`,
        )
      }
    }

    // 3. Latency on an idle queue (real server, LISTEN) ----------------------------------------------------
    if (only.includes('latency')) {
      console.log('\n## 3. Commit to receiver on an idle queue, PostgreSQL (the queue LISTENs)')
      await stop(api)
      api = await spawn({ databaseUrl: scratch.toString(), http: true, workers: true })
      await latencyRun('PostgreSQL, the API process with its workers', LATENCY_SAMPLES, name)
      await stop(api)
      api = undefined
    }

    // 4. The embedded PGlite -------------------------------------------------------------------------------
    if (only.includes('pglite')) {
      console.log('\n## 4. Embedded PGlite (one connection, the queue polls every 0.5 s)')
      let work: Awaited<ReturnType<typeof backlog>> | undefined
      const { result, conditions } = await measure(
        'PGlite drain',
        cpu(undefined),
        async (finish) => {
          const started = performance.now()
          await api!.ask({ type: 'start-workers' })
          await drained(work!.pathname, PGLITE_EVENTS)
          finish()
          await Bun.sleep(2_000)
          return { work: work!, started, stats: receiver.stats(work!.pathname) }
        },
        async () => {
          // A fresh server each attempt: its workers, once started, keep running.
          await stop(api)
          api = await spawn({ databaseUrl: undefined, http: true, workers: false })
          work = await backlog('pglite-drain', PGLITE_EVENTS, 8)
        },
      )
      const objects = receiver.objects(result.work.pathname)
      const missing = result.work.created.filter((id) => !objects.has(id)).length
      console.log(`\nthe API process's workers, concurrency 32; ${conditionsLine(conditions)}`)
      console.log(`  ${throughputLine(result.stats, result.started)}`)
      console.log(
        `  exactly once: ${result.stats.arrivals} verified arrivals of ${result.stats.distinct} webhook-ids ` +
          `(${receiver.duplicates(result.work.pathname).length} more than once), ${missing} customers never announced`,
      )
      console.log(`  ${conditions.cpu.text}`)
      await latencyRun('PGlite, the API process with its workers', LATENCY_SAMPLES, undefined)
      await stop(api)
      api = undefined
    }
  } finally {
    await cleanup()
  }

  /** One customer creation at a time; from the API's answer to the receiver's verified arrival of its event. */
  async function latencyRun(what: string, samples: number, database: string | undefined) {
    let user: Awaited<ReturnType<typeof newUser>> | undefined
    const one = async (i: number) => {
      const answer = await call(user!.token, 'POST', '/api/v1/customers', { name: `Latency customer ${i}` })
      const arrived = await receiver.arrivalOf(answer.body['id'] as string, 10_000)
      return {
        fromAnswer: (arrived ?? Number.NaN) - answer.at,
        fromRequest: (arrived ?? Number.NaN) - (answer.at - answer.ms),
      }
    }
    const { result, conditions } = await measure(
      what,
      cpu(database),
      async () => {
        const fromAnswer: number[] = []
        const fromRequest: number[] = []
        let lost = 0
        for (let i = 0; i < samples; i++) {
          const sample = await one(i)
          if (Number.isNaN(sample.fromAnswer)) lost++
          else {
            fromAnswer.push(sample.fromAnswer)
            fromRequest.push(sample.fromRequest)
          }
          // The queue is idle again, and the next change comes at a random point of its poll interval.
          await Bun.sleep(250 + Math.random() * 500)
        }
        return { fromAnswer, fromRequest, lost }
      },
      async () => {
        user = await newUser('latency')
        await addEndpoint(user.token, 'latency')
        for (let i = 0; i < 5; i++) {
          await one(-1 - i)
          await Bun.sleep(300)
        }
      },
    )
    console.log(`\n${what}, ${samples} changes one at a time; ${conditionsLine(conditions)}`)
    console.log(`  API answer → verified arrival: ${line(summary(result.fromAnswer))}`)
    console.log(`  request sent → verified arrival: ${line(summary(result.fromRequest))}`)
    console.log(`  not arrived within 10 s: ${result.lost}`)
    console.log(`  ${conditions.cpu.text} (idle gaps included)`)
  }
}

/**
 * At 1 connection the outbox's statements come in request order: each event insert, and after one that made a
 * delivery its job's insert. Summed per outbox call, then per request (k calls per request: 1 for a creation
 * or a send, 2 for a payment in full: `payment.created` and `invoice.paid`).
 */
function outboxPerRequest(timings: OutboxTiming[], requestsPerArm: number): string {
  const calls: Record<'a' | 'b', number[]> = { a: [], b: [] }
  let last: 'a' | 'b' | undefined
  for (const timing of timings) {
    if (timing.kind === 'job') {
      if (last === 'b') calls.b[calls.b.length - 1]! += timing.ms
    } else {
      last = timing.kind === 'event' ? 'a' : 'b'
      calls[last].push(timing.ms)
    }
  }
  const jobs = timings.filter((timing) => timing.kind === 'job').length
  const parts = (['a', 'b'] as const).map((arm) => {
    const k = calls[arm].length / requestsPerArm
    if (!Number.isInteger(k) || k === 0)
      return `${arm}: ${calls[arm].length} outbox calls for ${requestsPerArm} requests`
    const perRequest = Array.from({ length: requestsPerArm }, (_, i) =>
      calls[arm].slice(i * k, i * k + k).reduce((sum, ms) => sum + ms, 0),
    )
    const s = summary(perRequest)
    return `${arm} ${k} event(s)/request: p50 ${f(s.p50)} / p95 ${f(s.p95)} / max ${f(s.max)} ms`
  })
  return `outbox statements in the server, per request: ${parts.join('; ')} (${jobs} job inserts)`
}

function statementLine(timings: OutboxTiming[]): string {
  const kinds: OutboxKind[] = ['event', 'event+delivery', 'job']
  return kinds
    .map((kind) => {
      const values = timings.filter((timing) => timing.kind === kind).map((timing) => timing.ms)
      if (values.length === 0) return undefined
      const s = summary(values)
      return `${kind === 'job' ? 'job insert' : `${kind} insert`} ×${s.n} p50 ${f(s.p50)} / p95 ${f(s.p95)} ms`
    })
    .filter(Boolean)
    .join('; ')
}

// Last, so that every constant above is initialised.
if (process.argv[2] === 'server') await serverProcess()
else await main()
