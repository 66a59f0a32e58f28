import { Elysia } from 'elysia'
import type { Config } from './config'
import type { TokenVerifier } from './lib/auth/verifier'
import type { DatabaseHandle } from './lib/db'
import type { JobQueue } from './lib/jobs'
import type { Logger } from './lib/logger'
import { createMetrics, type Metrics } from './lib/metrics'
import type { Storage } from './lib/storage'
import { LocalDiskStorage } from './lib/storage'
import { creditNotesModule } from './modules/credit-notes'
import { customersModule } from './modules/customers'
import { emailsModule } from './modules/emails'
import { filesModule } from './modules/files'
import { healthModule } from './modules/health'
import { hostedErrorPages, hostedModule } from './modules/hosted'
import { invoicesModule } from './modules/invoices'
import { refreshDraftSearch } from './modules/invoices/writes'
import { issuingModule } from './modules/issuing'
import { meModule } from './modules/me'
import { resolveUser } from './modules/me/service'
import { paymentsModule } from './modules/payments'
import { reportsModule } from './modules/reports'
import { webhooksModule } from './modules/webhooks'
import { createOutbox } from './modules/webhooks/outbox'
import { authPlugins } from './plugins/auth'
import { corsPlugin } from './plugins/cors'
import { docsPagePlugin } from './plugins/docs-page'
import { errorHandler, type RouteLike } from './plugins/errors'
import { inputPlugin } from './plugins/input'
import { metricsPlugin } from './plugins/metrics'
import { openapiPlugin } from './plugins/openapi'
import { rateLimitPlugin } from './plugins/rate-limit'
import { requestContext } from './plugins/request-context'
import { requestLimits } from './plugins/request-limits'
import { requestLog } from './plugins/request-log'
import { securityHeaders } from './plugins/security-headers'
import { setPublicBaseUrl } from './shared/links'

export interface AppDeps {
  config: Readonly<Config>
  logger: Logger
  database: DatabaseHandle
  storage: Storage
  verifier: TokenVerifier
  /** Shared with a separate metrics server (METRICS_PORT); made here when absent. */
  metrics?: Metrics
  /** The job queue: the app only enqueues (in the transaction of a change); `src/workers.ts` works the jobs. */
  jobs: JobQueue
}

/** The whole HTTP surface without listening, so tests drive it with `app.handle(request)`. */
export function createApp(deps: AppDeps) {
  const { config, logger, database, storage } = deps
  const db = database.db
  setPublicBaseUrl(config.publicUrl)
  const { authenticate, auth } = authPlugins({ verifier: deps.verifier, db, logger, resolveUser })
  const metrics = deps.metrics ?? createMetrics({ database })
  const outbox = createOutbox(deps.jobs)
  const webhooks = {
    jobs: deps.jobs,
    isProduction: config.isProduction,
    allowPrivateNetworks: config.webhooks.allowPrivateNetworks,
  }

  // The error handler answers 405 for known paths; it reads the route table once the app is built.
  let routes: () => readonly RouteLike[] = () => []
  // One chain, so that `type App` carries every route for typed clients (Eden Treaty).
  const app = new Elysia({ normalize: false, aot: true })
    .use(requestContext)
    .use(securityHeaders)
    .use(errorHandler({ logger, routes: () => routes(), pages: hostedErrorPages }))
    .use(requestLimits)
    .use(requestLog(logger))
    .use(metricsPlugin({ metrics, access: { token: config.metricsToken, port: config.metricsPort } }))
    .use(corsPlugin(config.corsOrigins))
    .use(rateLimitPlugin({ config, logger, metrics }))
    // Authentication, then the body and text checks, then each route's schema: in this order.
    .use(authenticate)
    .use(inputPlugin)
    .use(openapiPlugin())
    .use(docsPagePlugin({ path: '/docs', specPath: '/docs/json' }))
    .use(healthModule({ database, storage, logger }))
    .use(meModule({ db, auth }))
    .use(customersModule({ db, auth, outbox, onRenamed: refreshDraftSearch }))
    .use(invoicesModule({ db, auth, outbox }))
    .use(issuingModule({ db, auth, storage, metrics, config, logger, outbox }))
    .use(paymentsModule({ db, auth, outbox }))
    .use(creditNotesModule({ db, auth, storage, metrics, config, logger, outbox }))
    .use(emailsModule({ db, auth, jobs: deps.jobs, mailFrom: config.mail.from }))
    .use(webhooksModule({ db, auth, webhooks }))
    .use(reportsModule({ db, auth }))
    .use(hostedModule({ db, storage, metrics, config, logger, outbox }))
    // Signed download links exist only for PDFs on local disk; S3 links point at the bucket.
    .use(filesModule(storage instanceof LocalDiskStorage ? storage : undefined))
  routes = () => app.routes
  return app
}

export type App = ReturnType<typeof createApp>
