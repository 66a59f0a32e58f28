import net from 'node:net'
import { Kysely, type Transaction as KyselyTransaction, type LogEvent } from 'kysely'
import { PostgresJSDialect } from 'kysely-postgres-js'
import postgres from 'postgres'
import type { DB } from '../../db/schema'
import type { Config } from '../config'
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres'
import type { Logger } from './logger'
import { tenantGuard } from './tenant-guard'

export type Database = Kysely<DB>
/** A function that takes this type locks rows or needs its writes to commit together: it runs in the caller's transaction. */
export type Transaction = KyselyTransaction<DB>

/** The database without the tenant guard, for work that spans users by design (maintenance, migrations). */
export const crossTenant = (db: Database): Database => db.withoutPlugins()

export interface DatabaseHandle {
  db: Database
  sql: postgres.Sql
  embedded: boolean
  /** Connections the pool may open; PGlite serves one session. */
  poolMax: number
  /** Connections held and reservations waiting right now (see `watchPool`). */
  poolUsage: Readonly<PoolUsage>
  ping(): Promise<void>
  close(timeoutSeconds?: number): Promise<void>
}

/** Margin over `statement_timeout` after which the client stops waiting for a server that said nothing. */
const QUERY_TIMEOUT_MARGIN_MS = 5_000
/** Reconnection backoff ceiling; postgres.js's own grows to 20 s, which would outlast a short outage. */
const MAX_RECONNECT_DELAY_SECONDS = 1

function clientDeadlines(settings: Config['db']): { acquireMs: number; queryMs: number } {
  const queryMs =
    settings.queryTimeoutMs ??
    (settings.statementTimeoutMs > 0 ? settings.statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS : 0)
  return { acquireMs: settings.connectTimeoutSeconds * 1000, queryMs }
}

export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'db'>,
  logger: Logger,
  options: {
    embeddedInMemory?: boolean
    /**
     * Log `connection pool busy` when the pool runs short (default). Off for batch commands (db:verify), which
     * use every connection on purpose.
     */
    poolWarnings?: boolean
  } = {},
): Promise<DatabaseHandle> {
  let embedded: EmbeddedPostgres | undefined
  let url = config.databaseUrl
  if (!url) {
    embedded = await startEmbeddedPostgres(options.embeddedInMemory ? undefined : config.dataDir)
    url = embedded.url
    logger.info({ dataDir: config.dataDir }, 'using the embedded PostgreSQL (PGlite)')
  }
  const poolMax = embedded ? 1 : config.db.poolMax

  const sessions = new SessionSockets()
  const sql = postgres(url, {
    max: poolMax,
    idle_timeout: config.db.idleTimeoutSeconds,
    connect_timeout: config.db.connectTimeoutSeconds,
    max_lifetime: 60 * 30,
    backoff: (attempt: number) =>
      (0.5 + Math.random() / 2) * Math.min(3 ** attempt / 100, MAX_RECONNECT_DELAY_SECONDS),
    onnotice: () => {},
    // Calendar dates stay `YYYY-MM-DD` strings: a JS Date would shift them by the process's time zone.
    types: {
      date: { to: 1082, from: [1082], serialize: (value: string) => value, parse: (value: string) => value },
      // postgres.js sends a timestamp parameter through `new Date(value)`, which cuts a string's microseconds:
      // a list cursor of `…12.345678Z` became `…12.345Z` and skipped rows created in that millisecond.
      // Strings go to the server unchanged; Dates as their ISO form. Rows still come back as Dates.
      timestamptz: {
        to: 1184,
        from: [1114, 1184],
        serialize: (value: Date | string) => (value instanceof Date ? value.toISOString() : value),
        parse: (value: string) => new Date(value),
      },
    },
    connection: {
      application_name: 'invoice-api',
      ...(config.db.statementTimeoutMs > 0 && !embedded
        ? { statement_timeout: config.db.statementTimeoutMs }
        : {}),
      // Every query here runs in milliseconds. JIT compiles when the planner's cost estimate passes a
      // threshold, which a report over a period reaches on estimates alone: 0.5 s of compiling for 10 ms of
      // work (docs/reports-explain.md).
      ...(embedded ? {} : { jit: 'off' }),
    },
    // Documented by postgres.js ("Custom socket") but missing from its type definitions.
    ...{ socket: sessions.open },
  })

  const reserve = guardReservations(sql, sessions, clientDeadlines(config.db))
  const poolUsage = watchPool(sql, poolMax, options.poolWarnings === false ? undefined : logger)

  const slowQueryMs = config.db.slowQueryMs
  const db = new Kysely<DB>({
    dialect: new PostgresJSDialect({ postgres: sql }),
    plugins: [tenantGuard],
    log: (event: LogEvent) => {
      if (event.level === 'error') {
        logger.debug({ durationMs: event.queryDurationMillis, sql: event.query.sql }, 'query failed')
      } else if (event.queryDurationMillis >= slowQueryMs) {
        // The statement text only: parameters may carry customer data.
        logger.warn({ durationMs: Math.round(event.queryDurationMillis), sql: event.query.sql }, 'slow query')
      }
    },
  })

  const ping = async () => {
    const connection = await reserve()
    try {
      await connection.unsafe('select 1')
    } finally {
      connection.release()
    }
  }

  // postgres.js opens connections lazily; warm the pool's minimum so the first requests do not pay for it.
  const warm = Math.min(config.db.poolMin, poolMax)
  await Promise.all(Array.from({ length: Math.max(warm, 1) }, ping))

  return {
    db,
    sql,
    embedded: embedded !== undefined,
    poolMax,
    poolUsage,
    ping,
    async close(timeoutSeconds = 5) {
      await sql.end({ timeout: timeoutSeconds })
      await embedded?.stop()
    },
  }
}

interface BackendKey {
  pid: number | null
  secret: number | null
}

/**
 * Opens the pool's sockets itself, as postgres.js's documented `socket` option allows, to learn which socket
 * carries which server session (the BackendKeyData message of the start-up exchange). With that, a session
 * that stopped answering can be cut, and a reserved session whose socket closed is known to be gone. Under
 * TLS the exchange is encrypted and no socket is known: deadlines still apply, eviction does not.
 */
class SessionSockets {
  private readonly bySession = new Map<string, net.Socket>()
  private nextHost = 0

  readonly open = (options: postgres.ParsedOptions<Record<string, never>>): net.Socket => {
    const path = (options as { path?: string }).path
    const index = this.nextHost++ % options.host.length
    const socket = path
      ? net.connect(path)
      : net.connect(options.port[index] ?? options.port[0] ?? 5432, options.host[index] ?? 'localhost')
    if (!options.ssl) this.watchStartup(socket)
    return socket
  }

  find(key: BackendKey | undefined): net.Socket | undefined {
    return key?.pid == null ? undefined : this.bySession.get(`${key.pid}:${key.secret}`)
  }

  private watchStartup(socket: net.Socket): void {
    let buffered: Buffer = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
      while (buffered.length >= 5) {
        const type = buffered[0]
        const length = buffered.readUInt32BE(1)
        if (buffered.length < length + 1) return
        if (type === 0x4b && length >= 12) {
          const key = `${buffered.readUInt32BE(5)}:${buffered.readUInt32BE(9)}`
          this.bySession.set(key, socket)
          socket.once('close', () => {
            if (this.bySession.get(key) === socket) this.bySession.delete(key)
          })
        }
        // BackendKeyData comes before the first ReadyForQuery; an ErrorResponse ends the start-up.
        if (type === 0x4b || type === 0x5a || type === 0x45) {
          socket.off('data', onData)
          return
        }
        buffered = buffered.subarray(length + 1)
      }
    }
    socket.on('data', onData)
  }
}

/** Statements with more parameters than this (multi-row inserts) vary in shape and are not worth caching. */
const MAX_PREPARED_PARAMETERS = 64

/**
 * Kysely sends its queries through `unsafe`, which postgres.js runs as unnamed statements: parsed and planned
 * anew every time. Prepared, the invoice read is planned once per connection (about three times the throughput
 * of the same read unprepared). Statements without parameters (BEGIN, COMMIT) keep the simple protocol.
 */
const preparing = (text: string, parameters: readonly unknown[] | undefined) =>
  parameters &&
  parameters.length > 0 &&
  parameters.length <= MAX_PREPARED_PARAMETERS &&
  !plannedPerExecution.has(text)
    ? { prepare: true }
    : {}

const plannedPerExecution = new Set<string>()

/**
 * Statements whose best plan depends on their values, such as the invoice list of a user with 100,000 invoices
 * against one with 100: left unprepared, PostgreSQL plans each execution for its own parameters instead of
 * settling on a generic plan after five runs.
 */
export function planEachExecution(sqlText: string): void {
  plannedPerExecution.add(sqlText)
}

const LOST_CONNECTION_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECTION_ENDED'])

/** The session is gone: the socket failed or closed, or the server ended the session (FATAL). */
function isConnectionLost(error: unknown): boolean {
  if (error instanceof postgres.PostgresError) return error.severity === 'FATAL' || error.severity === 'PANIC'
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && (LOST_CONNECTION_CODES.has(code) || /^E[A-Z]+$/.test(code))
}

/** Codes the error handler maps to 503 SERVICE_UNAVAILABLE. */
function deadlineError(code: 'CONNECT_TIMEOUT' | 'ETIMEDOUT', message: string): Error {
  return Object.assign(new Error(message), { code })
}

/** Rejects when `ms` pass first; what arrives later goes to `late`. */
function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error, late: (value: T) => void) {
  if (ms <= 0) return work
  return new Promise<T>((resolve, reject) => {
    let expired = false
    const timer = setTimeout(() => {
      expired = true
      reject(onTimeout())
    }, ms)
    work.then(
      (value) => {
        clearTimeout(timer)
        if (expired) late(value)
        else resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        if (!expired) reject(error)
      },
    )
  })
}

type Reserve = () => Promise<postgres.ReservedSql>

export interface PoolUsage {
  inUse: number
  waiting: number
}

/** At most one "connection pool busy" line per this many milliseconds per pool. */
const POOL_WARNING_INTERVAL_MS = 60_000

/**
 * Counts what the pool is doing and says so in the log when it runs short: a `connection pool busy` warning when
 * 90 % or more of its connections are held or a reservation has to wait (the runbook greps for "connection
 * pool"; the alert on `db_pool_connections_in_use` fires after 5 minutes, the log line at once), at most once a
 * minute. postgres.js keeps its queues private; every query of the app goes through Kysely, which takes a
 * connection with `sql.reserve()` and gives it back with `release()`, so counting those two is exact for the
 * app's work (readiness pings on `sql` itself are not counted).
 */
function watchPool(sql: postgres.Sql, poolMax: number, logger: Logger | undefined): Readonly<PoolUsage> {
  const usage: PoolUsage = { inUse: 0, waiting: 0 }
  const busyAt = Math.max(1, Math.ceil(poolMax * 0.9))
  let warnedAt = Number.NEGATIVE_INFINITY
  const warn = () => {
    const now = Date.now()
    if (!logger || poolMax <= 1 || now - warnedAt < POOL_WARNING_INTERVAL_MS) return
    warnedAt = now
    logger.warn({ inUse: usage.inUse, waiting: usage.waiting, max: poolMax }, 'connection pool busy')
  }
  const reserve = sql.reserve.bind(sql)
  sql.reserve = async () => {
    usage.waiting++
    // The embedded database has one connection: waiting for it is its normal state, not a warning.
    if (usage.inUse >= poolMax) warn()
    let connection: postgres.ReservedSql
    try {
      connection = await reserve()
    } finally {
      usage.waiting--
    }
    usage.inUse++
    if (usage.inUse >= busyAt) warn()
    const release = connection.release.bind(connection)
    let released = false
    connection.release = () => {
      if (!released) {
        released = true
        usage.inUse--
      }
      release()
    }
    return connection
  }
  return usage
}

/**
 * Bounds what Kysely waits for (a pooled connection: the connect timeout; an answer: `queryMs`), and keeps
 * three postgres.js 3.4.9 behaviours away from requests:
 * - a half-open connection (no FIN, no RST: a partition, a failover) leaves a query waiting forever, as
 *   `statement_timeout` is enforced by a server that never got the query; past the deadline the query is
 *   answered with ETIMEDOUT and its socket is cut, so the pool reconnects;
 * - a reservation queued while a connection closes is handed to its reconnection and never resolved
 *   (porsager/postgres#1195): the acquire deadline answers it;
 * - a reserved connection that was released, or used, after its socket closed is put back among the open
 *   ones and the next write throws outside any promise, which ends the process (porsager/postgres#1199,
 *   #1208). Once its session is known lost, a reservation rejects its queries at once and is not released:
 *   the pool already took the closed connection back.
 * Queries go through `unsafe`, as Kysely sends them; returns the guarded `reserve` (readiness pings use it).
 */
function guardReservations(
  sql: postgres.Sql,
  sessions: SessionSockets,
  deadlines: { acquireMs: number; queryMs: number },
): Reserve {
  const reserve = sql.reserve.bind(sql)
  const guarded: Reserve = async () => {
    const reserved = await withDeadline(
      reserve(),
      deadlines.acquireMs,
      () =>
        Object.assign(
          deadlineError(
            'CONNECT_TIMEOUT',
            `connection pool: no database connection free within ${deadlines.acquireMs} ms`,
          ),
          { poolWait: true },
        ),
      (connection) => connection.release(),
    )
    return guardReservation(reserved, sessions, deadlines.queryMs)
  }
  sql.reserve = guarded
  return guarded
}

function guardReservation(
  reserved: postgres.ReservedSql,
  sessions: SessionSockets,
  queryMs: number,
): postgres.ReservedSql {
  const unsafe = reserved.unsafe.bind(reserved)
  const release = reserved.release.bind(reserved)
  let socket: net.Socket | undefined
  let lost: unknown
  /** A query that outlived its deadline; the connection is busy until it settles. */
  let stuck: Promise<unknown> | undefined
  const timedOut = () => deadlineError('ETIMEDOUT', `the database did not answer within ${queryMs} ms`)

  const usable = () => {
    if (lost === undefined && socket?.destroyed) {
      lost = Object.assign(new Error('the database connection closed'), { code: 'CONNECTION_CLOSED' })
    }
    if (lost !== undefined) throw lost
    if (stuck) throw timedOut()
  }

  /**
   * The server rolls back the transaction of a session that ended. Kysely's PostgresDriver marks a
   * connection whose rollback failed for discard through a private symbol kysely-postgres-js cannot
   * implement, which would turn the cause (a 503) into a TypeError (a 500).
   */
  const rollbackOfLostSession = (error: unknown) => {
    if (lost !== undefined || stuck) return Object.assign([], { command: 'ROLLBACK', count: 0 })
    throw error
  }

  const run = (text: string, parameters: postgres.ParameterOrJSON<never>[] | undefined, options: object) => {
    usable()
    const query = unsafe(text, parameters, { ...preparing(text, parameters), ...options })
    const outcome = query.then(
      (result) => {
        socket ??= sessions.find(result.state)
        return result
      },
      (error: unknown) => {
        if (isConnectionLost(error)) lost = error
        throw error
      },
    )
    return withDeadline(
      outcome,
      queryMs,
      () => {
        stuck = outcome.catch(() => {})
        // Cut the silent session; postgres.js then fails the query with CONNECTION_CLOSED and reconnects later.
        ;(socket ?? sessions.find((query as { state?: BackendKey }).state))?.destroy()
        return timedOut()
      },
      () => {},
    )
  }

  reserved.unsafe = ((text: string, parameters?: postgres.ParameterOrJSON<never>[], options: object = {}) => {
    let started: Promise<unknown> | undefined
    const send = () => Promise.resolve().then(() => run(text, parameters, options))
    const result = () => {
      started ??= text === 'rollback' ? send().catch(rollbackOfLostSession) : send()
      return started
    }
    return {
      // biome-ignore lint/suspicious/noThenProperty: a lazy query, as postgres.js's own: sent when awaited
      then: (onFulfilled?: (value: unknown) => unknown, onRejected?: (reason: unknown) => unknown) =>
        result().then(onFulfilled, onRejected),
      catch: (onRejected?: (reason: unknown) => unknown) => result().catch(onRejected),
      finally: (onFinally?: () => void) => result().finally(onFinally),
      [Symbol.toStringTag]: 'Promise',
      // Streamed results (Kysely's `stream()`) have no deadline: they may rightly take long.
      cursor: (rows?: number) => {
        usable()
        return unsafe(text, parameters, options).cursor(rows ?? 1)
      },
    }
  }) as unknown as typeof reserved.unsafe

  const giveBack = () => {
    if (lost !== undefined && !(socket && !socket.destroyed)) return
    release()
  }
  reserved.release = () => {
    if (stuck) void stuck.then(giveBack)
    else giveBack()
  }
  return reserved
}
