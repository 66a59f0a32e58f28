import { afterAll, setDefaultTimeout } from 'bun:test'
import { Kysely } from 'kysely'
import { PostgresJSDialect } from 'kysely-postgres-js'
import postgres from 'postgres'
import { migrateToLatest } from '../db/migrator'
import type { DB } from '../db/schema'
import { loadConfig } from '../src/config'
import { startEmbeddedPostgres } from '../src/lib/embedded-postgres'
import { createJobQueue } from '../src/lib/jobs'
import { createLogger } from '../src/lib/logger'
import { declareQueues } from '../src/workers'
import { closeSharedDatabase } from './helpers/database'

/**
 * Once per `bun test` run: a fresh, migrated database. With DATABASE_URL set it is a new database on that
 * server, dropped at the end; without it, an in-memory PGlite served over the wire protocol.
 */
async function prepareDatabase(): Promise<{ url: string; cleanup: () => Promise<void> }> {
  const serverUrl = process.env['DATABASE_URL']
  if (!serverUrl) {
    const embedded = await startEmbeddedPostgres(undefined)
    return { url: embedded.url, cleanup: () => embedded.stop() }
  }
  const name = `invoice_test_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database "${name}"`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    cleanup: async () => {
      await admin.unsafe(`drop database if exists "${name}" with (force)`)
      await admin.end()
    },
  }
}

// Tests that start servers or walk many requests take seconds on a busy 2-core machine; slowness is not failure.
// Bun 1.4.5 applies a preload's default timeout to the first test file only: a test that may take more than
// 5 s also gives its own timeout (the third argument of `test`).
setDefaultTimeout(30_000)

const prepared = await prepareDatabase()
process.env['TEST_DATABASE_URL'] = prepared.url
process.env['TEST_DATABASE_EMBEDDED'] = process.env['DATABASE_URL'] ? '' : '1'

const migrationClient = postgres(prepared.url, { max: 1, onnotice: () => {} })
const migrationDb = new Kysely<DB>({ dialect: new PostgresJSDialect({ postgres: migrationClient }) })
await migrateToLatest(migrationDb)
// The outbox's statement inserts delivery jobs into the job queue's table (src/modules/webhooks/repository.ts):
// as in every running process, which starts its queue, the queue's schema and the app's queues exist first.
const queue = createJobQueue({
  db: migrationDb,
  logger: createLogger({ logLevel: 'silent', logPretty: false }),
})
await declareQueues(queue, loadConfig({}))
await queue.start()
await queue.stop({ timeoutMs: 1_000 })
await migrationClient.end()

afterAll(async () => {
  await closeSharedDatabase()
  await prepared.cleanup()
})
