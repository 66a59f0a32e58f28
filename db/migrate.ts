import { loadConfig } from '../src/config'
import { openDatabase } from '../src/lib/db'
import { createLogger } from '../src/lib/logger'
import { migrateToLatest } from './migrator'

const config = loadConfig()
const logger = createLogger(config)
const handle = await openDatabase({ ...config, db: { ...config.db, poolMin: 1 } }, logger)
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
