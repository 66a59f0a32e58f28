import { afterAll, setDefaultTimeout } from 'bun:test'
import { Kysely } from 'kysely'
import { PostgresJSDialect } from 'kysely-postgres-js'
import postgres from 'postgres'
import { migrateToLatest } from '../db/migrator'
import { startEmbeddedPostgres } from '../src/lib/embedded-postgres'
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
await migrateToLatest(new Kysely({ dialect: new PostgresJSDialect({ postgres: migrationClient }) }))
await migrationClient.end()

afterAll(async () => {
  await closeSharedDatabase()
  await prepared.cleanup()
})
