import type { Server } from 'bun'
import type { Logger } from './lib/logger'
import type { Metrics } from './lib/metrics'
import { metricsReader } from './plugins/metrics'
import { AppError, errorBody } from './shared/errors'

/**
 * `/metrics` alone on `METRICS_PORT`, for a scraper on a private network (Fly's `[metrics]`); the API's port
 * then has no such route. A token, when also configured, is still required. Workers of one supervisor share the
 * port, and whichever answers serves the metrics of all of them (`Metrics.expose`, cluster.ts).
 */
export function serveMetrics(options: {
  port: number
  metrics: Metrics
  token: string | undefined
  logger: Logger
  reusePort: boolean
}): Server<undefined> {
  const read = metricsReader(options.metrics, options.token)
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    Response.json(body, {
      status,
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    })
  return Bun.serve({
    port: options.port,
    hostname: '0.0.0.0',
    reusePort: options.reusePort,
    async fetch(request) {
      const requestId = crypto.randomUUID()
      const { pathname } = new URL(request.url)
      if (pathname !== '/metrics')
        return json(404, errorBody('NOT_FOUND', 'Only /metrics is served here', requestId))
      if (request.method !== 'GET') {
        return json(405, errorBody('METHOD_NOT_ALLOWED', 'Only GET', requestId), { allow: 'GET' })
      }
      try {
        return new Response(await read(request), { headers: { 'content-type': options.metrics.contentType } })
      } catch (error) {
        if (error instanceof AppError) {
          return json(error.status, errorBody(error.code, error.message, requestId), error.headers)
        }
        options.logger.error({ err: error, requestId }, 'metrics failed')
        return json(500, errorBody('INTERNAL_ERROR', 'Internal server error', requestId))
      }
    },
  })
}
