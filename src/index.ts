import { createApp } from './app'
import { ConfigError, loadConfig } from './config'
import { createDeps } from './deps'
import { createLogger } from './lib/logger'
import { BODY_LIMIT_BYTES } from './plugins/errors'

let config: ReturnType<typeof loadConfig>
try {
  config = loadConfig()
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message)
    process.exit(1)
  }
  throw error
}

const logger = createLogger(config)
const deps = await createDeps(config, logger).catch((error: unknown) => {
  logger.fatal({ err: error }, 'start-up failed')
  process.exit(1)
})

const app = createApp(deps).listen({
  port: config.port,
  hostname: '0.0.0.0',
  // Above the API's own 1 MiB limit, so that bodies just over it still get the JSON 413 of the API.
  maxRequestBodySize: BODY_LIMIT_BYTES * 8,
  idleTimeout: 30,
})
logger.info(
  {
    port: app.server?.port,
    env: config.nodeEnv,
    storage: deps.storage.kind,
    embeddedDb: deps.database.embedded,
  },
  `Invoice API listening on ${config.publicUrl}`,
)

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
