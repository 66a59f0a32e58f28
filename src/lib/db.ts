import { Kysely, type LogEvent } from 'kysely'
import { PostgresJSDialect } from 'kysely-postgres-js'
import postgres from 'postgres'
import type { DB } from '../../db/schema'
import type { Config } from '../config'
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres'
import type { Logger } from './logger'

export type Database = Kysely<DB>

export interface DatabaseHandle {
  db: Database
  sql: postgres.Sql
  embedded: boolean
  /** Connections the pool may open; PGlite serves one session. */
  poolMax: number
  ping(): Promise<void>
  close(timeoutSeconds?: number): Promise<void>
}

export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'db'>,
  logger: Logger,
  options: { embeddedInMemory?: boolean } = {},
): Promise<DatabaseHandle> {
  let embedded: EmbeddedPostgres | undefined
  let url = config.databaseUrl
  if (!url) {
    embedded = await startEmbeddedPostgres(options.embeddedInMemory ? undefined : config.dataDir)
    url = embedded.url
    logger.info({ dataDir: config.dataDir }, 'using the embedded PostgreSQL (PGlite)')
  }
  const poolMax = embedded ? 1 : config.db.poolMax

  const sql = postgres(url, {
    max: poolMax,
    idle_timeout: config.db.idleTimeoutSeconds,
    connect_timeout: config.db.connectTimeoutSeconds,
    max_lifetime: 60 * 30,
    onnotice: () => {},
    // Calendar dates stay `YYYY-MM-DD` strings: a JS Date would shift them by the process's time zone.
    types: {
      date: { to: 1082, from: [1082], serialize: (value: string) => value, parse: (value: string) => value },
    },
    connection: {
      application_name: 'invoice-api',
      ...(config.db.statementTimeoutMs > 0 && !embedded
        ? { statement_timeout: config.db.statementTimeoutMs }
        : {}),
    },
  })

  const slowQueryMs = config.db.slowQueryMs
  const db = new Kysely<DB>({
    dialect: new PostgresJSDialect({ postgres: sql }),
    log: (event: LogEvent) => {
      if (event.level === 'error') {
        logger.debug({ durationMs: event.queryDurationMillis, sql: event.query.sql }, 'query failed')
      } else if (event.queryDurationMillis >= slowQueryMs) {
        // The statement text only: parameters may carry customer data.
        logger.warn({ durationMs: Math.round(event.queryDurationMillis), sql: event.query.sql }, 'slow query')
      }
    },
  })

  // postgres.js opens connections lazily; warm the pool's minimum so the first requests do not pay for it.
  const warm = Math.min(config.db.poolMin, poolMax)
  await Promise.all(Array.from({ length: Math.max(warm, 1) }, () => sql`select 1`))

  return {
    db,
    sql,
    embedded: embedded !== undefined,
    poolMax,
    async ping() {
      await sql`select 1`
    },
    async close(timeoutSeconds = 5) {
      await sql.end({ timeout: timeoutSeconds })
      await embedded?.stop()
    },
  }
}
