import { Elysia } from 'elysia'
import type { Config } from '../config'
import type { Logger } from '../lib/logger'
import type { Metrics } from '../lib/metrics'
import {
  clientKey,
  createRateLimitStore,
  type RateLimitDecision,
  type RateLimitStore,
  WINDOW_MS,
} from '../lib/rate-limit'
import { AppError } from '../shared/errors'
import { isApiPath, isHostedPath } from './api-path'
import { requestMeta } from './request-context'

const WARNED_KEYS_MAX = 10_000

interface RequestParts {
  request: Request
  set: { headers: Record<string, string | number> }
}

/**
 * `RATE_LIMIT_PER_MINUTE` per client on `/api/*`, decided in `onRequest`: before routing, body parsing and
 * authentication, so floods of bad tokens or bodies are limited too. Every answer there carries
 * `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the quota is whole again);
 * one over the limit gets 429 with `Retry-After`. See lib/rate-limit for the algorithm and client keys.
 */
export function rateLimitPlugin(deps: {
  config: Pick<Config, 'rateLimitPerMinute' | 'trustProxy' | 'redisUrl'>
  logger: Logger
  metrics: Metrics
  store?: RateLimitStore
}) {
  const store = deps.store ?? createRateLimitStore(deps.config, deps.logger)
  const trustProxy = deps.config.trustProxy
  const limitHeader = String(deps.config.rateLimitPerMinute)
  const warnedAt = new Map<string, number>()

  const warn = (key: string, request: Request) => {
    const now = Date.now()
    const last = warnedAt.get(key)
    if (last !== undefined && now - last < WINDOW_MS) return
    if (warnedAt.size >= WARNED_KEYS_MAX) warnedAt.clear()
    warnedAt.set(key, now)
    deps.logger.warn(
      { code: 'RATE_LIMIT_EXCEEDED', ip: key, requestId: requestMeta(request).requestId },
      'rate limit exceeded',
    )
  }

  const enforce = ({ request, set }: RequestParts, key: string, decision: RateLimitDecision) => {
    set.headers['ratelimit-limit'] = limitHeader
    set.headers['ratelimit-remaining'] = String(decision.remaining)
    set.headers['ratelimit-reset'] = String(Math.ceil(decision.resetMs / 1000))
    if (decision.allowed) return
    deps.metrics.rateLimitRejections.inc()
    warn(key, request)
    const retryAfter = Math.max(1, Math.ceil(decision.retryAfterMs / 1000))
    throw new AppError('RATE_LIMIT_EXCEEDED', `Too many requests; retry in ${retryAfter} s`, {
      headers: { 'retry-after': String(retryAfter) },
    })
  }

  /**
   * `/api/*` under the client's key; the hosted pages (`/i/*`, public, keyed by a secret in the URL) too, as a
   * brake on token guessing, under a key of their own: a customer reading an invoice does not spend the quota
   * of the business's integration behind the same address, nor the other way round.
   */
  const keyOf = (context: RequestParts & { server: Parameters<typeof clientKey>[1] }): string | undefined => {
    const api = isApiPath(context.request.url)
    const page = !api && isHostedPath(context.request.url)
    if (!api && !page) return undefined
    const key = clientKey(context.request, context.server, trustProxy)
    return key === undefined || !page ? key : `page:${key}`
  }

  const plugin = new Elysia({ name: 'rate-limit' }).onStop(() => store.close())
  // Elysia awaits every request hook once one is async, so the in-memory store keeps this one synchronous.
  if (store.kind === 'memory') {
    plugin.onRequest((context) => {
      const key = keyOf(context)
      if (key !== undefined) enforce(context, key, store.hit(key))
    })
  } else {
    plugin.onRequest(async (context) => {
      const key = keyOf(context)
      if (key === undefined) return
      const decision = await store.hit(key)
      if (decision) enforce(context, key, decision)
    })
  }
  return plugin
}
