import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { sql } from 'kysely'
import { type DatabaseHandle, openDatabase } from '../../src/lib/db'
import { createLogger } from '../../src/lib/logger'
import type { LogLine } from '../helpers/app'
import { testDatabaseUrl } from '../helpers/database'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

const SLOW_QUERY_MS = 40
const SECRET = 'customer-secret-4242'

const logs: LogLine[] = []
let database: DatabaseHandle

beforeAll(async () => {
  const logger = createLogger(
    { logLevel: 'info', logPretty: false },
    {
      write(line: string) {
        logs.push(JSON.parse(line) as LogLine)
      },
    },
  )
  // The run's PGlite serves the one connection the shared pool holds, so PGlite runs get a database of their own.
  const embedded = process.env['TEST_DATABASE_EMBEDDED'] === '1'
  database = await openDatabase(
    {
      databaseUrl: embedded ? undefined : testDatabaseUrl(),
      dataDir: '/nonexistent',
      db: {
        poolMin: 1,
        poolMax: 2,
        idleTimeoutSeconds: 30,
        connectTimeoutSeconds: 5,
        statementTimeoutMs: 15_000,
        slowQueryMs: SLOW_QUERY_MS,
      },
    },
    logger,
    { embeddedInMemory: true },
  )
})
afterAll(() => database.close())

describe('slow query log', () => {
  test('when a query takes longer than SLOW_QUERY_MS, then a warn line carries its duration and SQL text but never its parameters', async () => {
    await sql`select pg_sleep(0.05), ${SECRET}::text as secret`.execute(database.db)
    const line = logs.find((l) => l.message === 'slow query')
    expect(line).toBeDefined()
    expect(line?.level).toBe('warn')
    expect(line?.['durationMs']).toBeGreaterThanOrEqual(50)
    expect(line?.['sql']).toBe('select pg_sleep(0.05), $1::text as secret')
    expect(JSON.stringify(logs)).not.toContain(SECRET)
  })

  test('when a query is faster than SLOW_QUERY_MS, then nothing is logged for it', async () => {
    const before = logs.length
    await sql`select ${SECRET}::text as fast`.execute(database.db)
    expect(logs.slice(before).filter((l) => l.message === 'slow query')).toEqual([])
  })
})
