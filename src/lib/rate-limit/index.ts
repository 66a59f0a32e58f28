import type { Config } from '../../config'
import type { Logger } from '../logger'
import { MemoryRateLimitStore } from './memory-store'
import { RedisRateLimitStore } from './redis-store'
import { type RateLimitStore, WINDOW_MS } from './types'

export { clientKey, normalizeAddress, UNKNOWN_CLIENT } from './client-ip'
export type { RateLimitDecision } from './gcra'
export { MemoryRateLimitStore } from './memory-store'
export { RedisRateLimitStore } from './redis-store'
export type { LocalRateLimitStore, RateLimitStore, SharedRateLimitStore } from './types'
export { WINDOW_MS } from './types'

/** Redis when `REDIS_URL` is set, so that every instance enforces one limit; this process's memory otherwise. */
export function createRateLimitStore(
  config: Pick<Config, 'rateLimitPerMinute' | 'redisUrl'>,
  logger: Logger,
): RateLimitStore {
  const limit = config.rateLimitPerMinute
  if (config.redisUrl)
    return new RedisRateLimitStore({ url: config.redisUrl, limit, windowMs: WINDOW_MS, logger })
  return new MemoryRateLimitStore({ limit, windowMs: WINDOW_MS })
}
