/**
 * The job queue (src/lib/jobs) on a real server: what a send costs inside a transaction, how fast two worker
 * processes drain a backlog, whether each job ran exactly once, and how soon an idle queue picks a job up.
 * Runs against DATABASE_URL (a scratch database is created and dropped); the workers are two child processes
 * of this script, each a queue instance with its own pool, as two API processes would have. Without
 * DATABASE_URL it measures the embedded mode instead: an in-memory PGlite, one process, one connection,
 * the worker in this process (no LISTEN: an idle queue is polled every 0.5 s).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bun bench/jobs.ts
 *   bun bench/jobs.ts        # embedded
 *
 * JOBS (default 5000) sets the backlog, CONCURRENCY (default 10) the jobs a worker runs at once, SAMPLES
 * (default 1000 sends, 60 pickups) the measured sends and pickups.
 */
import path from 'node:path'
import { sql } from 'kysely'
import postgres from 'postgres'
import { type DatabaseHandle, openDatabase } from '../src/lib/db'
import { startEmbeddedPostgres } from '../src/lib/embedded-postgres'
import { createJobQueue } from '../src/lib/jobs'
import { createLogger } from '../src/lib/logger'

const QUEUE = 'bench'
const JOBS = Number(process.env['JOBS'] ?? 5000)
const CONCURRENCY = Number(process.env['CONCURRENCY'] ?? 10)
const SENDS = Number(process.env['SAMPLES'] ?? 1000)
const PICKUPS = 60
const logger = createLogger({ logLevel: (process.env['LOG_LEVEL'] as 'warn') ?? 'warn', logPretty: false })

const open = (url: string, poolMax: number): Promise<DatabaseHandle> =>
  openDatabase(
    {
      databaseUrl: url,
      dataDir: '/nonexistent',
      db: {
        poolMin: 1,
        poolMax,
        idleTimeoutSeconds: 30,
        connectTimeoutSeconds: 5,
        statementTimeoutMs: 30_000,
        slowQueryMs: 60_000,
      },
    },
    logger,
  )

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}
const ms = (value: number) => `${value.toFixed(2)} ms`

if (process.argv[2] === 'worker') await worker(process.argv[3]!)
else await main()

/** A child process: one queue instance whose handler records each run, until SIGTERM. */
async function worker(url: string): Promise<void> {
  const database = await open(url, CONCURRENCY + 2)
  const record = postgres(url, { max: 4, onnotice: () => {} })
  const queue = createJobQueue({ db: database.db, databaseUrl: url, logger })
  await queue.work<{ k: number; t: number }>(QUEUE, { concurrency: CONCURRENCY }, async (job) => {
    const pickedUpMs = Date.now() - job.data.t
    await record`insert into bench_job_runs (k, pid, picked_up_ms) values (${job.data.k}, ${process.pid}, ${pickedUpMs})`
  })
  await queue.start()
  process.on('SIGTERM', async () => {
    await queue.stop({ timeoutMs: 5000 })
    await record.end()
    await database.close()
    process.exit(0)
  })
  console.log('ready')
}

async function main(): Promise<void> {
  const serverUrl = process.env['DATABASE_URL']
  const name = `jobs_bench_${Date.now()}`
  const admin = serverUrl ? postgres(serverUrl, { max: 1, onnotice: () => {} }) : undefined
  const embedded = serverUrl ? undefined : await startEmbeddedPostgres(undefined)
  await admin?.unsafe(`create database ${name}`)
  const url = new URL(serverUrl ?? embedded!.url)
  if (serverUrl) url.pathname = `/${name}`
  const database = await open(url.toString(), embedded ? 1 : 4)
  const children: ReturnType<typeof Bun.spawn>[] = []
  try {
    await database.sql.unsafe(
      `create table bench_job_runs (k bigint not null, pid int not null, picked_up_ms float8 not null,
         at timestamptz not null default clock_timestamp())`,
    )
    const queue = createJobQueue({
      db: database.db,
      ...(embedded ? {} : { databaseUrl: url.toString() }),
      logger,
    })
    if (embedded) {
      // The worker lives in this process and writes through the one connection there is.
      await queue.work<{ k: number; t: number }>(QUEUE, { concurrency: CONCURRENCY }, async (job) => {
        const pickedUpMs = Date.now() - job.data.t
        await database.sql`insert into bench_job_runs (k, pid, picked_up_ms) values (${job.data.k}, ${process.pid}, ${pickedUpMs})`
      })
    }
    await queue.start()
    // Creates the queue with the settings a worker gives it, before any worker runs.
    await queue.sendNow(QUEUE, { k: -1, t: Date.now() })

    // 1. A send inside a transaction, against the same transaction without it.
    const withSend: number[] = []
    const sendOnly: number[] = []
    const without: number[] = []
    for (let i = 0; i < SENDS; i++) {
      let started = performance.now()
      await database.db.transaction().execute(async (trx) => {
        const sent = performance.now()
        await queue.send(trx, QUEUE, { k: -2 - i, t: Date.now() })
        sendOnly.push(performance.now() - sent)
      })
      withSend.push(performance.now() - started)
      started = performance.now()
      await database.db.transaction().execute(async (trx) => {
        await sql`insert into bench_job_runs (k, pid, picked_up_ms) values (${-1_000_000 - i}, 0, 0)`.execute(
          trx,
        )
      })
      without.push(performance.now() - started)
    }
    console.log(
      `enqueue in a transaction (${SENDS}): send p50 ${ms(percentile(sendOnly, 50))} p95 ${ms(percentile(sendOnly, 95))}; ` +
        `transaction with it p50 ${ms(percentile(withSend, 50))} p95 ${ms(percentile(withSend, 95))}, ` +
        `with a one-row insert instead p50 ${ms(percentile(without, 50))} p95 ${ms(percentile(without, 95))}`,
    )

    // 2. A backlog of JOBS, then two worker processes drain it.
    const t = Date.now()
    for (let start = 0; start < JOBS; start += 500) {
      await database.db.transaction().execute(async (trx) => {
        for (let k = start; k < Math.min(JOBS, start + 500); k++) await queue.send(trx, QUEUE, { k, t })
      })
    }
    const script = path.resolve(import.meta.dir, 'jobs.ts')
    const began = performance.now()
    for (let i = 0; i < (embedded ? 0 : 2); i++) {
      const child = Bun.spawn(['bun', script, 'worker', url.toString()], {
        stdout: 'pipe',
        stderr: 'inherit',
      })
      children.push(child)
    }
    const count = async () =>
      (await database.sql`select count(distinct k)::int as n from bench_job_runs where k >= 0`)[0]![
        'n'
      ] as number
    while ((await count()) < JOBS) {
      if (performance.now() - began > 300_000) throw new Error('the backlog was not drained in 5 minutes')
      await Bun.sleep(50)
    }
    const [drain] = await database.sql`
      select count(*)::int as runs, count(distinct k)::int as jobs, count(distinct pid)::int as processes,
             extract(epoch from max(at) - min(at))::float8 as seconds
        from bench_job_runs where k >= 0`
    const seconds = (drain!['seconds'] as number) || (performance.now() - began) / 1000
    console.log(
      `throughput, ${embedded ? '1 process (embedded)' : '2 worker processes'} × concurrency ${CONCURRENCY}: ${drain!['jobs']} jobs in ${seconds.toFixed(2)} s ` +
        `= ${Math.round((drain!['jobs'] as number) / seconds)} jobs/s (first run to last); ` +
        `${drain!['runs']} runs for ${drain!['jobs']} jobs (${(drain!['runs'] as number) - (drain!['jobs'] as number)} duplicates), ` +
        `${drain!['processes']} processes took part`,
    )

    // 3. Idle queue: one job at a time, each sent in its own committed transaction.
    await Bun.sleep(1000)
    const base = 1_000_000
    for (let i = 0; i < PICKUPS; i++) {
      await database.db.transaction().execute((trx) => queue.send(trx, QUEUE, { k: base + i, t: Date.now() }))
      await Bun.sleep(200 + Math.random() * 300)
    }
    await Bun.sleep(2500)
    const pickups = (
      await database.sql`select picked_up_ms from bench_job_runs where k >= ${base} order by k`
    ).map((row) => row['picked_up_ms'] as number)
    console.log(
      `idle pickup, commit to handler (${pickups.length} of ${PICKUPS}): p50 ${ms(percentile(pickups, 50))} ` +
        `p95 ${ms(percentile(pickups, 95))} max ${ms(Math.max(...pickups))}`,
    )
    await queue.stop({ timeoutMs: 1000 })
  } finally {
    for (const child of children) child.kill('SIGTERM')
    await Promise.all(children.map((child) => child.exited))
    await database.close()
    await admin?.unsafe(`drop database if exists ${name} with (force)`)
    await admin?.end()
    await embedded?.stop()
  }
}
