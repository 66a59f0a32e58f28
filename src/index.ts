import { migrateToLatest } from '../db/migrator'
import { createApp } from './app'
import { clusterMetrics, clusterWorker, onSupervisorGone, reportListening, startSupervisor } from './cluster'
import { type Config, ConfigError, loadConfig } from './config'
import { createDeps } from './deps'
import { openDatabase } from './lib/db'
import { createLogger, type Logger } from './lib/logger'
import { serveMetrics } from './metrics-server'
import { closeWebhookConnections } from './modules/webhooks/sender'
import { BODY_LIMIT_BYTES } from './plugins/errors'
import { HEADER_PARSER_LIMIT_FLAG } from './plugins/request-limits'
import { startWorkers } from './workers'

let config: Readonly<Config>
try {
  config = loadConfig()
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message)
    process.exit(1)
  }
  throw error
}

const rootLogger = createLogger(config)
const worker = clusterWorker()

if (worker !== undefined) {
  await serve(config, rootLogger.child({ worker }), worker)
} else if (config.webConcurrency > 1 && config.databaseUrl === undefined) {
  rootLogger.warn(
    { webConcurrency: config.webConcurrency },
    'WEB_CONCURRENCY ignored: the embedded database (PGlite) belongs to one process; running one process (set DATABASE_URL for more)',
  )
  await serve(config, rootLogger, undefined)
} else if (config.webConcurrency > 1) {
  await supervise(config, rootLogger)
} else {
  await serve(config, rootLogger, undefined)
}

/** The API in this process: listen, and on SIGTERM/SIGINT stop accepting, finish in-flight requests, exit. */
async function serve(config: Readonly<Config>, logger: Logger, worker: number | undefined): Promise<void> {
  // Workers leave migrations to their supervisor, which runs them once before starting any.
  const migrate = worker === undefined ? undefined : false
  const deps = await createDeps(config, logger, { migrate }).catch((error: unknown) => {
    logger.fatal({ err: error }, 'start-up failed')
    process.exit(1)
  })
  // A worker's `/metrics` (on either port) answers for every worker of the instance, through the supervisor.
  const { metrics } = deps
  if (worker !== undefined && metrics) metrics.exposeFrom(clusterMetrics(worker, () => metrics.render()))

  const app = createApp(deps).listen({
    port: config.port,
    hostname: '0.0.0.0',
    // Workers of one supervisor share the port; the kernel spreads new connections among them.
    reusePort: worker !== undefined,
    // Far above the API's own 1 MiB limit, so that every body over it gets the JSON 413 of the API (Bun's own
    // answer has no envelope); the body is read only up to the limit (plugins/errors.ts).
    maxRequestBodySize: BODY_LIMIT_BYTES * 1024,
    idleTimeout: 30,
  })
  const port = app.server?.port
  await startWorkers({
    db: deps.database.db,
    jobs: deps.jobs,
    logger,
    config,
    storage: deps.storage,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    onWebhookAttempt: (outcome) => deps.metrics?.webhookAttempts.inc({ outcome }),
    onEmailAttempt: (outcome) => deps.metrics?.emailAttempts.inc({ outcome }),
  })
  const parserFlags = [...process.execArgv, process.env['BUN_OPTIONS'] ?? '']
  if (!parserFlags.some((flag) => flag.includes('--max-http-header-size'))) {
    logger.warn(
      { expected: HEADER_PARSER_LIMIT_FLAG },
      "started without a raised header limit: requests with over 16 KiB of headers get the runtime's bare 431",
    )
  }
  logger.info(
    {
      port,
      env: config.nodeEnv,
      storage: deps.storage.kind,
      embeddedDb: deps.database.embedded,
      ...(worker === undefined ? {} : { pid: process.pid }),
    },
    `Invoice API listening on ${config.publicUrl}`,
  )

  const metricsServer =
    config.metricsPort === undefined || !deps.metrics
      ? undefined
      : serveMetrics({
          port: config.metricsPort,
          metrics: deps.metrics,
          token: config.metricsToken,
          logger,
          reusePort: worker !== undefined,
        })
  if (metricsServer) logger.info({ metricsPort: metricsServer.port }, 'metrics served on their own port')

  let stopping = false
  async function shutdown(signal: string) {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests')
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting')
      process.exit(1)
    }, config.shutdownTimeoutMs)
    force.unref()
    try {
      await app.stop(false)
      // Jobs in flight finish (or are released to another process) before the pool they use closes.
      await deps.jobs.stop({ timeoutMs: Math.max(1_000, config.shutdownTimeoutMs - 2_000) })
      closeWebhookConnections()
      await metricsServer?.stop(true)
      await deps.database.close()
      if (deps.storage.kind === 's3') deps.storage.destroy()
      logger.info('shutdown complete')
      process.exit(0)
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed')
      process.exit(1)
    }
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
  if (worker !== undefined) {
    onSupervisorGone(() => void shutdown('supervisor gone'))
    if (port !== undefined) reportListening(port)
  }
}

/** WEB_CONCURRENCY workers on one port; migrations run here once, before any of them starts. */
async function supervise(config: Readonly<Config>, logger: Logger): Promise<void> {
  if (!config.isProduction) {
    try {
      // No statement deadline for migrations, as in db/migrate.ts.
      const database = await openDatabase(
        { ...config, db: { ...config.db, poolMin: 1, statementTimeoutMs: 0 } },
        logger,
      )
      try {
        const applied = (await migrateToLatest(database.db)).filter((r) => r.status === 'Success')
        if (applied.length > 0)
          logger.info({ migrations: applied.map((r) => r.migrationName) }, 'migrations applied')
      } finally {
        await database.close()
      }
    } catch (error) {
      logger.fatal({ err: error }, 'start-up failed')
      process.exit(1)
    }
  }
  if (!config.redisUrl) {
    logger.warn(
      { webConcurrency: config.webConcurrency },
      'rate limits are counted per worker without REDIS_URL: a client may get up to WEB_CONCURRENCY times the limit',
    )
  }
  const supervisor = startSupervisor({
    workers: config.webConcurrency,
    port: config.port,
    logger,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    maxWorkerMemoryMb: config.maxWorkerMemoryMb,
  })
  process.on('SIGTERM', () => supervisor.stop('SIGTERM'))
  process.on('SIGINT', () => supervisor.stop('SIGINT'))
  const exitCode = await supervisor.exited
  logger.info({ exitCode }, 'shutdown complete')
  process.exit(exitCode)
}
