import { type DatabaseHandle, openDatabase } from '../../src/lib/db'
import { createLogger } from '../../src/lib/logger'

let shared: Promise<DatabaseHandle> | undefined

export const testDatabaseUrl = () => {
  const url = process.env['TEST_DATABASE_URL']
  if (!url) throw new Error('TEST_DATABASE_URL is set by tests/setup.ts (the bunfig.toml preload)')
  return url
}

/** The embedded PGlite serves one session, so its clients keep a single connection. */
export const testPoolMax = () => (process.env['TEST_DATABASE_EMBEDDED'] === '1' ? 1 : 10)

/** One pool for the whole run, shared by every test app, so test files do not multiply connections. */
export function sharedDatabase(): Promise<DatabaseHandle> {
  shared ??= openDatabase(
    {
      databaseUrl: testDatabaseUrl(),
      dataDir: '/nonexistent',
      db: {
        poolMin: 1,
        poolMax: testPoolMax(),
        idleTimeoutSeconds: 30,
        connectTimeoutSeconds: 5,
        statementTimeoutMs: 15_000,
        slowQueryMs: 5_000,
      },
    },
    createLogger({ logLevel: 'silent', logPretty: false }),
  )
  return shared
}

export async function closeSharedDatabase(): Promise<void> {
  if (!shared) return
  const handle = await shared
  shared = undefined
  await handle.close()
}
