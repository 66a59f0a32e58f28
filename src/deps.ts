import { migrateToLatest } from '../db/migrator'
import type { AppDeps } from './app'
import type { Config } from './config'
import { DEV_CLIENT_ID, DEV_ISSUER, devKeySet } from './lib/auth/dev-issuer'
import { createTokenVerifier, remoteKeySet, type TokenVerifier } from './lib/auth/verifier'
import { openDatabase } from './lib/db'
import { createJobQueue } from './lib/jobs'
import type { Logger } from './lib/logger'
import { createMetrics } from './lib/metrics'
import { createStorage } from './lib/storage'
import { declareQueues } from './workers'

export async function createVerifier(config: Readonly<Config>, logger: Logger): Promise<TokenVerifier> {
  if (config.cognito) {
    return createTokenVerifier({
      issuer: config.cognito.issuer,
      clientIds: config.cognito.clientIds,
      keys: remoteKeySet(config.cognito.jwksUrl, config.cognito.jwksCooldownSeconds),
    })
  }
  if (config.isProduction) throw new Error('the development token issuer cannot run in production')
  logger.warn('no Cognito settings: trusting the local development issuer (`bun run token` prints a token)')
  return createTokenVerifier({
    issuer: DEV_ISSUER,
    clientIds: [DEV_CLIENT_ID],
    keys: await devKeySet(config.dataDir),
  })
}

/** Everything the app needs from the outside world, opened in order; start-up migrates outside production. */
export async function createDeps(
  config: Readonly<Config>,
  logger: Logger,
  options: {
    migrate?: boolean
    embeddedInMemory?: boolean
    /** False leaves the job queue created but not started (tests that hold every pooled connection). */
    startJobs?: boolean
  } = {},
): Promise<AppDeps> {
  const database = await openDatabase(config, logger, { embeddedInMemory: options.embeddedInMemory ?? false })
  try {
    if (options.migrate ?? !config.isProduction) {
      const applied = (await migrateToLatest(database.db)).filter((r) => r.status === 'Success')
      if (applied.length > 0)
        logger.info({ migrations: applied.map((r) => r.migrationName) }, 'migrations applied')
    }
    const storage = await createStorage({
      s3: config.s3,
      dataDir: config.dataDir,
      publicBaseUrl: config.publicUrl,
      timeoutMs: config.storageTimeoutMs,
    })
    const verifier = await createVerifier(config, logger)
    const metrics = createMetrics({ database })
    const jobs = createJobQueue({
      db: database.db,
      databaseUrl: config.databaseUrl,
      logger,
      onJobDone: (name, seconds, ok) =>
        metrics.jobDuration.observe({ queue: name, outcome: ok ? 'completed' : 'failed' }, seconds),
    })
    await declareQueues(jobs, config)
    if (options.startJobs ?? true) await jobs.start()
    metrics.watchQueue(() => jobs.depth())
    return { config, logger, database, storage, verifier, metrics, jobs }
  } catch (error) {
    await database.close()
    throw error
  }
}
