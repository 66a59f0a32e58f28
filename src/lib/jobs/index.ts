/*
 * The job queue: pg-boss 12.38.0, over our own Kysely/postgres.js pool, with our own consumer loop.
 *
 * Chosen by measuring pg-boss 12.38.0 and graphile-worker 0.18.0 on this stack (Bun 1.4.5, PostgreSQL 15,
 * 2 cores shared with other work: load average 6–11 while measuring, so numbers vary by ±40 % run to run):
 * - Bun: both run (start, enqueue, work, stop).
 * - Embedded PGlite behind pglite-socket (one session, held by our pool): graphile-worker cannot run. With
 *   our pool connected: "Connection terminated unexpectedly" (the socket refuses a second connection); alone
 *   with its default pool: the same, from its LISTEN client; alone with maxPoolSize 1: its LISTEN client holds
 *   the only connection and addJob waits forever. It needs node-postgres, a dedicated LISTEN connection and
 *   a pool. pg-boss with its own node-postgres pool fails the same way, but it takes a `db` adapter
 *   (`executeSql`), needs no LISTEN, and runs over our one-connection postgres.js pool (schema install,
 *   advisory locks, queues, send/fetch/complete/fail, cron).
 * - Enqueue in our transaction: both can (pg-boss `send(…, { db: <trx> })`, graphile-worker
 *   `select graphile_worker.add_job(…)` in the trx); committed → one job, rolled back → none.
 * - Real PostgreSQL, 2 processes × concurrency 10, 5,000 jobs, each writing one row: graphile-worker 398 and
 *   470 jobs/s; pg-boss `work()` one job per fetch 40 jobs/s (a worker waits its ≥ 0.5 s poll after each
 *   job); pg-boss `work()` batches of 10 351 jobs/s (a batch's slots wait for its slowest job); this module
 *   327 and 562 jobs/s. Exactly once: 5,000 runs of 5,000 jobs, 0 duplicates, in every run. Send inside a
 *   transaction p50/p95: graphile-worker 0.96/3.6 ms, pg-boss 2.7/12.8 ms, this module 1.0/5.2–6.6 ms.
 *   Idle pickup p50/p95: graphile-worker (LISTEN) 29/52 ms; this module with LISTEN 13/41 and 33/125 ms; on
 *   the embedded PGlite (0.5 s poll) 259/486 ms. Retry: a throwing first attempt is retried and succeeds, both.
 *   SIGTERM with 2 s jobs in flight: both finish them (stop in 1.98 s / 0.85 s) and the other process runs
 *   the rest, 40 of 40.
 * pg-boss is the one that runs in both of our modes, on our own pool and driver. Its `work()` loop is replaced
 * (worker.ts: per-job slots, refetch at once while jobs wait, 0.5 s idle poll, NOTIFY wake-up on a real
 * server); its storage, SKIP LOCKED fetch, retries with backoff, expiry of lost jobs, cron and maintenance
 * stay. Numbers of this module: bench/jobs.ts.
 *
 * pg-boss owns its schema (`pgboss`): `start()` installs it, and migrates it after a pg-boss upgrade, under
 * its own advisory lock, so processes starting together are safe. It is not in db/migrations: that DDL
 * follows the library's version, not ours.
 *
 * Handlers run at least once: a job runs again if its process dies (after EXPIRE_SECONDS), if it is released
 * at shutdown, or if settling it failed. Keep them idempotent. On the embedded database the pool has one
 * connection: inside a transaction use `send(trx, …)`, never `sendNow` (it would wait for that connection).
 */
import { CompiledQuery, type RawBuilder, sql } from 'kysely'
import { PgBoss, type QueueOptions, type SendOptions } from 'pg-boss'
// pg-boss's own statement texts (the package has no export map; 12.38.0 is pinned in bun.lock, and the
// webhook tests fail if an upgrade changes what `embeddedInsert` relies on).
import { COMMON_JOB_TABLE, insertJobs, notifyChannelSql } from 'pg-boss/dist/plans.js'
import postgres from 'postgres'
import { crossTenant, type Database, type Transaction } from '../db'
import type { Logger } from '../logger'
import { poolDatabase, transactionDatabase } from './database'
import { type CompleteJobs, type JobContext, type JobHandler, QueueWorker } from './worker'

export type { JobContext, JobHandler }

export interface SendJobOptions {
  /** Not before this many seconds from now. */
  startAfterSeconds?: number
  /**
   * While a job with this key waits in the queue (created or retrying), a send with the same key replaces
   * its data and start time instead of adding a second job (pg-boss `upsert`). Concurrent sends may still
   * add two: handlers stay idempotent.
   */
  singletonKey?: string
}

/**
 * Jobs inserted by a caller's own statement instead of a round trip of their own: pg-boss's insert statement
 * (the one `insert()` runs), ready to be one member of a `WITH`, so that a change and its jobs are written
 * together. pg-boss embeds its flows the same way. Only for queues in the shared job table (ours: no queue is
 * partitioned); the queue must exist when the statement runs.
 */
export interface EmbeddedInsert {
  /**
   * The insert of one job per element of `jobs`, a SQL expression of type json: an array of `{ "data": … }`
   * objects (NULL inserts none). Job options come from the queue's settings.
   */
  insert(jobs: RawBuilder<unknown>): RawBuilder<unknown>
  /** `pg_notify` on the channel the queue's workers LISTEN on, with the queue's name: wakes them at commit. */
  notify: RawBuilder<unknown>
}

export interface WorkOptions {
  /** Jobs of this queue run at once in this process. Default 5. */
  concurrency?: number
  /** Retries after the first attempt before the job is `failed`. Default 3. */
  retryLimit?: number
  /** Base delay before a retry; doubled each attempt with jitter, at most an hour. 0 retries at once. Default 5. */
  retryDelaySeconds?: number
  /**
   * A job active this long is taken for lost (its process died) and retried. Default 300; short for jobs that
   * are bounded themselves (a webhook attempt has a 10 s timeout), so a crash delays them little.
   */
  expireInSeconds?: number
}

export interface JobQueue {
  /** Enqueues in the caller's transaction: the job exists exactly when that transaction commits. */
  send(trx: Transaction, name: string, data: Record<string, unknown>, options?: SendJobOptions): Promise<void>
  /** pg-boss's job insert for queue `name`, to embed in a caller's statement (see EmbeddedInsert). */
  embeddedInsert(name: string): EmbeddedInsert
  /** Enqueues outside any transaction. */
  sendNow(name: string, data: Record<string, unknown>, options?: SendJobOptions): Promise<void>
  /** Registers a handler; a job is done by one worker of one process; a throw retries it (the queue's own retry: retryLimit, backoff) */
  work<T extends Record<string, unknown>>(
    name: string,
    options: WorkOptions,
    handler: (job: { id: string; data: T; attempt: number }) => Promise<void>,
  ): Promise<void>
  /**
   * Creates the queue (at start, or now when started) without working it, so that a process that only
   * enqueues (an API process without workers, the embedded database's single connection) can send to it
   * inside a transaction.
   */
  declare(name: string, options?: WorkOptions): Promise<void>
  /** A recurring job, e.g. daily at 00:05 UTC or every 10 minutes (cron, evaluated in UTC). */
  schedule(name: string, cron: string, data?: Record<string, unknown>): Promise<void>
  start(): Promise<void>
  /** Stops taking jobs, lets in-flight ones finish up to timeoutMs, releases the rest for another process. */
  stop(options?: { timeoutMs?: number }): Promise<void>
  /** Queued (created or retrying, not yet active) and active jobs per queue name, for metrics. */
  depth(): Promise<Record<string, { queued: number; active: number }>>
}

export interface JobQueueDeps {
  db: Database
  /**
   * A real server's URL: a dedicated connection LISTENs for pg-boss's NOTIFY so an idle queue picks a job up
   * at once, and queues unknown to this process can be created while a caller's transaction holds a pooled
   * connection. Leave it out on the embedded PGlite (one session: no second connection exists).
   */
  databaseUrl?: string
  logger: Logger
  onJobDone?: (name: string, seconds: number, ok: boolean) => void
  /** Where pg-boss keeps its tables. Default `pgboss`. */
  schema?: string
  /** Idle poll of each queue (ms). Default 500; with LISTEN up, 2,000 (NOTIFY wakes the consumers). */
  pollIntervalMs?: number
  /** How often schedules are checked (s, 1–45). Default 30; a due job is sent within this and 5 s. */
  cronIntervalSeconds?: number
}

const DEFAULT_CONCURRENCY = 5
const DEFAULT_RETRY_LIMIT = 3
const DEFAULT_RETRY_DELAY_SECONDS = 5
const MAX_RETRY_DELAY_SECONDS = 3600
/** A job active this long is taken for lost (its process died) and retried by pg-boss's maintenance. */
const EXPIRE_SECONDS = 300
const DEFAULT_POLL_MS = 500
const LISTENING_POLL_MS = 2000
const DEFAULT_STOP_TIMEOUT_MS = 10_000

interface Registration {
  options: WorkOptions
  handler: JobHandler<Record<string, unknown>>
}

export function createJobQueue(deps: JobQueueDeps): JobQueue {
  const schema = deps.schema ?? 'pgboss'
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`job queue schema "${schema}" is not a plain name`)
  const logger = deps.logger.child({ component: 'jobs' })
  // pg-boss's tables hold no tenant's rows: its statements need no user_id scope.
  const db = crossTenant(deps.db)
  const cronSeconds = deps.cronIntervalSeconds ?? 30
  const boss = new PgBoss({
    db: poolDatabase(db),
    schema,
    cronMonitorIntervalSeconds: cronSeconds,
    cronWorkerIntervalSeconds: Math.min(cronSeconds, 5),
  })
  boss.on('error', (error) => logger.error({ err: error }, 'job queue error'))
  boss.on('warning', (warning) => logger.warn({ warning }, 'job queue warning'))

  const registrations = new Map<string, Registration>()
  const schedules = new Map<string, { cron: string; data: Record<string, unknown> | undefined }>()
  const declared = new Map<string, WorkOptions>()
  const workers = new Map<string, QueueWorker>()
  /** Queues that exist in the database, as far as this process knows. */
  const known = new Set<string>()
  let state: 'new' | 'starting' | 'started' | 'stopped' = 'new'
  let listener: postgres.Sql | undefined
  let listening = false
  const pollMs = () => deps.pollIntervalMs ?? (listening ? LISTENING_POLL_MS : DEFAULT_POLL_MS)

  const queueSettings = (options: WorkOptions): QueueOptions & { notify: boolean } => {
    const retryDelay = options.retryDelaySeconds ?? DEFAULT_RETRY_DELAY_SECONDS
    return {
      retryLimit: options.retryLimit ?? DEFAULT_RETRY_LIMIT,
      retryDelay,
      retryBackoff: retryDelay > 0,
      ...(retryDelay > 0 ? { retryDelayMax: MAX_RETRY_DELAY_SECONDS } : {}),
      expireInSeconds: options.expireInSeconds ?? EXPIRE_SECONDS,
      notify: true,
    }
  }

  async function ensureQueue(name: string): Promise<void> {
    if (known.has(name)) return
    await boss.createQueue(name, queueSettings(registrations.get(name)?.options ?? declared.get(name) ?? {}))
    known.add(name)
  }

  async function register(name: string, registration: Registration): Promise<void> {
    await ensureQueue(name)
    // Every process applies its settings, so a changed retry policy reaches the queue on deploy.
    await boss.updateQueue(name, queueSettings(registration.options))
    const worker = new QueueWorker(
      boss,
      completeJobs,
      name,
      Math.max(1, registration.options.concurrency ?? DEFAULT_CONCURRENCY),
      registration.handler,
      pollMs,
      logger,
      deps.onJobDone,
    )
    workers.set(name, worker)
    worker.start()
  }

  /**
   * Completions do not wait for the WAL flush (`synchronous_commit = off` for their transaction only): one lost
   * to a crash (the last fraction of a second) runs its job again after expiry, which at-least-once allows; the
   * jobs' own writes and the outbox stay synchronous. Worth ≈ 15 % of webhook throughput (bench/RESULTS.md).
   */
  const completeJobs: CompleteJobs = async (name, attempts) => {
    await db.transaction().execute(async (trx) => {
      await sql`set local synchronous_commit = off`.execute(trx)
      await boss.complete(name, attempts, null, { db: transactionDatabase(trx) })
    })
  }

  async function applySchedule(name: string, cron: string, data: Record<string, unknown> | undefined) {
    await ensureQueue(name)
    await boss.schedule(name, cron, data ?? null, { tz: 'UTC' })
  }

  async function listen(url: string): Promise<void> {
    // The channel pg-boss notifies on for this schema (plans.notifyChannelSql); the payload is the queue.
    const { rows } = await db.executeQuery<{ channel: string }>(
      CompiledQuery.raw(`select 'pgboss_' || left(encode(sha224($1::text::bytea), 'hex'), 24) as channel`, [
        schema,
      ]),
    )
    const row = rows[0]
    if (!row) return
    listener = postgres(url, {
      max: 1,
      onnotice: () => {},
      connection: { application_name: 'invoice-api-jobs-listen' },
    })
    try {
      await listener.listen(
        row.channel,
        (queue) => workers.get(queue)?.wake(),
        // Also after every reconnection: a NOTIFY sent while the connection was down is lost.
        () => {
          listening = true
          for (const worker of workers.values()) worker.wake()
        },
      )
    } catch (error) {
      listening = false
      logger.warn({ err: error }, 'job queue: LISTEN failed; polling only')
    }
  }

  const requireStarted = (what: string) => {
    if (state !== 'started') throw new Error(`job queue: ${what} needs start() first (state: ${state})`)
  }

  const sendOptions = (options: SendJobOptions | undefined): SendOptions => ({
    ...(options?.startAfterSeconds ? { startAfter: options.startAfterSeconds } : {}),
    ...(options?.singletonKey ? { singletonKey: options.singletonKey } : {}),
  })

  async function enqueue(
    name: string,
    data: Record<string, unknown>,
    options: SendJobOptions | undefined,
    extra: SendOptions,
  ): Promise<void> {
    const settings = { ...sendOptions(options), ...extra }
    if (options?.singletonKey) await boss.upsert(name, data, settings)
    else await boss.send(name, data, settings)
  }

  return {
    async send(trx, name, data, options) {
      requireStarted('send')
      if (!known.has(name)) {
        // Creating a queue takes a connection of its own; on the embedded database the caller's
        // transaction holds the only one.
        if (!deps.databaseUrl) {
          throw new Error(
            `job queue "${name}" does not exist yet: register it with work() or schedule() before sending in a transaction`,
          )
        }
        await ensureQueue(name)
      }
      await enqueue(name, data, options, { db: transactionDatabase(trx) })
    },

    embeddedInsert(name) {
      if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`job queue name "${name}" cannot be embedded`)
      const [before, after, ...rest] = insertJobs(schema, {
        table: COMMON_JOB_TABLE,
        name,
        returnId: false,
      }).split('$1')
      if (before === undefined || after === undefined || rest.length > 0) {
        throw new Error('pg-boss changed its job insert: it no longer takes exactly one parameter ($1)')
      }
      return {
        insert: (jobs) => sql`${sql.raw(before)}(${jobs})${sql.raw(after)}`,
        notify: sql`pg_notify(${sql.raw(notifyChannelSql(schema))}, ${sql.lit(name)})`,
      }
    },

    async sendNow(name, data, options) {
      requireStarted('sendNow')
      await ensureQueue(name)
      await enqueue(name, data, options, {})
      workers.get(name)?.wake()
    },

    async work(name, options, handler) {
      if (registrations.has(name)) throw new Error(`job queue "${name}" already has a handler`)
      const registration = { options, handler: handler as JobHandler<Record<string, unknown>> }
      registrations.set(name, registration)
      if (state === 'started') await register(name, registration)
    },

    async declare(name, options = {}) {
      declared.set(name, options)
      if (state === 'started') await ensureQueue(name)
    },

    async schedule(name, cron, data) {
      schedules.set(name, { cron, data })
      if (state === 'started') await applySchedule(name, cron, data)
    },

    async start() {
      if (state !== 'new') throw new Error(`job queue: start() called twice (state: ${state})`)
      state = 'starting'
      await boss.start()
      for (const queue of await boss.getQueues()) known.add(queue.name)
      for (const name of declared.keys()) await ensureQueue(name)
      for (const [name, registration] of registrations) await register(name, registration)
      for (const [name, { cron, data }] of schedules) await applySchedule(name, cron, data)
      if (deps.databaseUrl) await listen(deps.databaseUrl)
      state = 'started'
      logger.info(
        { queues: [...registrations.keys()], schedules: [...schedules.keys()], listening },
        'job queue started',
      )
    },

    async stop(options = {}) {
      if (state !== 'started' && state !== 'starting') return
      state = 'stopped'
      const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS)
      await Promise.all([...workers.values()].map((worker) => worker.stop(deadline)))
      await listener?.end({ timeout: 1 }).catch(() => {})
      // Its maintenance, cron and internal workers; our pool stays open (`close` applies to its own pool only).
      await boss.stop({ graceful: true, close: false, timeout: Math.max(1000, deadline - Date.now()) })
      logger.info('job queue stopped')
    },

    async depth() {
      const result = await db.executeQuery<{ name: string; queued: number; active: number }>(
        CompiledQuery.raw(
          `select name,
                  count(*) filter (where state in ('created', 'retry'))::int as queued,
                  count(*) filter (where state = 'active')::int as active
             from ${schema}.job
            where state in ('created', 'retry', 'active') and name not like '\\_\\_pgboss\\_\\_%'
            group by name`,
        ),
      )
      const depth: Record<string, { queued: number; active: number }> = {}
      for (const name of new Set([...known, ...registrations.keys()])) {
        if (!name.startsWith('__pgboss__')) depth[name] = { queued: 0, active: 0 }
      }
      for (const row of result.rows) depth[row.name] = { queued: row.queued, active: row.active }
      return depth
    },
  }
}
