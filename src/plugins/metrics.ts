import { createHash, timingSafeEqual } from 'node:crypto'
import { Elysia } from 'elysia'
import type { Metrics } from '../lib/metrics'
import { AppError } from '../shared/errors'
import { requestMeta } from './request-context'

const BEARER = /^Bearer +(\S+)$/i
const digest = (value: string) => createHash('sha256').update(value).digest()

export interface MetricsAccess {
  /** Required as a bearer token when set. */
  token: string | undefined
  /** When set, `/metrics` is served on this port only (index.ts), not among the API's routes. */
  port: number | undefined
}

/**
 * The Prometheus text (`Metrics.expose`: with workers, that of the whole instance), or 401 when a token is
 * configured and the request does not carry it.
 */
export function metricsReader(metrics: Metrics, token: string | undefined) {
  const expected = token === undefined ? undefined : digest(token)
  return async (request: Request): Promise<string> => {
    if (expected) {
      const presented = BEARER.exec(request.headers.get('authorization') ?? '')?.[1]
      // Both sides are digests of equal length, so the comparison takes the same time for any token.
      if (!presented || !timingSafeEqual(digest(presented), expected)) {
        throw new AppError('UNAUTHORIZED', 'A valid metrics token is required', {
          headers: { 'www-authenticate': 'Bearer' },
        })
      }
    }
    return metrics.expose()
  }
}

/**
 * Request metrics for every answer, labelled by route template (`unmatched` when no route was found,
 * including requests refused before routing), and `GET /metrics` in the Prometheus text format: behind
 * `METRICS_TOKEN` as a bearer token when it is set, open otherwise (which configuration refuses in
 * production), or only on `METRICS_PORT` when that is set.
 */
export function metricsPlugin(deps: { metrics: Metrics; access: MetricsAccess }) {
  const { metrics } = deps
  const plugin = new Elysia({ name: 'metrics' }).onAfterResponse(
    { as: 'global' },
    ({ request, route, set }) => {
      const status = typeof set.status === 'number' ? set.status : Number(set.status) || 200
      const seconds = (performance.now() - requestMeta(request).startedAt) / 1000
      metrics.observeRequest(request.method, route || 'unmatched', status, seconds)
    },
  )
  if (deps.access.port !== undefined) return plugin
  const read = metricsReader(metrics, deps.access.token)
  return plugin.get(
    '/metrics',
    async ({ request, set }) => {
      const text = await read(request)
      set.headers['content-type'] = metrics.contentType
      return text
    },
    { detail: { hide: true } },
  )
}
