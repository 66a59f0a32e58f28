import { loadConfig } from '../src/config'
import { openDatabase } from '../src/lib/db'
import { createLogger } from '../src/lib/logger'
import { migrateToLatest } from './migrator'

const config = loadConfig()
const logger = createLogger(config)
// No statement deadline: a migration that rewrites a large table runs as long as it takes, and one cut off
// halfway fails the release for nothing (each runs in its own transaction, so nothing is left half applied).
const handle = await openDatabase(
  { ...config, db: { ...config.db, poolMin: 1, statementTimeoutMs: 0 } },
  logger,
)
try {
  const results = await migrateToLatest(handle.db)
  for (const r of results) logger.info({ migration: r.migrationName, status: r.status }, 'migration')
  logger.info({ applied: results.filter((r) => r.status === 'Success').length }, 'database is up to date')
} catch (error) {
  logger.fatal({ err: error }, 'migration failed')
  process.exitCode = 1
} finally {
  await handle.close()
}
