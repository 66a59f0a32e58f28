import { createHash, timingSafeEqual } from 'node:crypto'
import { Elysia } from 'elysia'
import type { Metrics } from '../lib/metrics'
import { AppError } from '../shared/errors'
import { requestMeta } from './request-context'

const BEARER = /^Bearer +(\S+)$/i
const digest = (value: string) => createHash('sha256').update(value).digest()

/**
 * Request metrics for every answer, labelled by route template (`unmatched` when no route was found,
 * including requests refused before routing), and `GET /metrics` in the Prometheus text format: behind
 * `METRICS_TOKEN` as a bearer token when it is set, open otherwise.
 */
export function metricsPlugin(deps: { metrics: Metrics; token: string | undefined }) {
  const { metrics } = deps
  const expected = deps.token === undefined ? undefined : digest(deps.token)

  return new Elysia({ name: 'metrics' })
    .onAfterResponse({ as: 'global' }, ({ request, route, set }) => {
      const status = typeof set.status === 'number' ? set.status : Number(set.status) || 200
      const seconds = (performance.now() - requestMeta(request).startedAt) / 1000
      metrics.observeRequest(request.method, route || 'unmatched', status, seconds)
    })
    .get(
      '/metrics',
      async ({ request, set }) => {
        if (expected) {
          const presented = BEARER.exec(request.headers.get('authorization') ?? '')?.[1]
          // Both sides are digests of equal length, so the comparison takes the same time for any token.
          if (!presented || !timingSafeEqual(digest(presented), expected)) {
            throw new AppError('UNAUTHORIZED', 'A valid metrics token is required', {
              headers: { 'www-authenticate': 'Bearer' },
            })
          }
        }
        set.headers['content-type'] = metrics.contentType
        return await metrics.render()
      },
      { detail: { hide: true } },
    )
}
