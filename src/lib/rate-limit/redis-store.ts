import { RedisClient } from 'bun'
import type { Logger } from '../logger'
import { EPSILON, type RateLimitDecision } from './gcra'
import type { SharedRateLimitStore } from './types'

/**
 * The GCRA of gcra.ts in one atomic step, on Redis's clock so that the instances need not agree on time.
 * Times are milliseconds since 2023-11-14, small enough for Lua's doubles to keep microseconds.
 * Answers { allowed, remaining, resetMs, retryAfterMs }.
 */
const SCRIPT = `
local time = redis.call('TIME')
local now = (tonumber(time[1]) - 1700000000) * 1000 + tonumber(time[2]) / 1000
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local interval = window / limit
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local ahead = tat + interval - now
local used = ahead / interval
if used > limit + ${EPSILON} then
  return {0, 0, math.ceil(tat - now), math.ceil(ahead - window)}
end
redis.call('SET', KEYS[1], string.format('%.4f', tat + interval), 'PX', math.ceil(ahead))
return {1, math.floor(limit - used + ${EPSILON}), math.ceil(ahead), 0}
`
const SCRIPT_SHA = new Bun.CryptoHasher('sha1').update(SCRIPT).digest('hex')

export interface RedisStoreOptions {
  url: string
  limit: number
  windowMs: number
  logger: Logger
  keyPrefix?: string
  /** A command slower than this counts as a failure; the request goes through. */
  commandTimeoutMs?: number
  connectTimeoutMs?: number
}

const MIN_BACKOFF_MS = 1_000
const MAX_BACKOFF_MS = 30_000

/**
 * One limit shared by every instance that points at the same Redis. The limiter must never be the reason
 * a request fails: when Redis cannot be reached, is slow or answers an error, `hit` answers null and the
 * request goes through unlimited (fail open). A warning is logged when that starts, and Redis is tried
 * again after a backoff (1 s doubling to 30 s) so that an outage costs no latency per request.
 */
export class RedisRateLimitStore implements SharedRateLimitStore {
  readonly kind = 'redis'
  private readonly client: RedisClient
  private readonly limitArg: string
  private readonly windowArg: string
  private readonly keyPrefix: string
  private readonly logger: Logger
  private readonly commandTimeoutMs: number
  private readonly connectTimeoutMs: number
  private connecting: Promise<boolean> | undefined
  private retryAt = 0
  private backoffMs = MIN_BACKOFF_MS
  private healthy = true
  private closed = false

  constructor(options: RedisStoreOptions) {
    this.client = new RedisClient(options.url, {
      // Bun would queue commands while disconnected and retry on its own; requests must not wait for that.
      enableOfflineQueue: false,
      autoReconnect: false,
      connectionTimeout: options.connectTimeoutMs ?? 1_000,
    })
    this.limitArg = String(options.limit)
    this.windowArg = String(options.windowMs)
    this.keyPrefix = options.keyPrefix ?? 'invoice-api:rate-limit:'
    this.logger = options.logger
    this.commandTimeoutMs = options.commandTimeoutMs ?? 500
    this.connectTimeoutMs = options.connectTimeoutMs ?? 1_000
    void this.connect()
  }

  async hit(key: string): Promise<RateLimitDecision | null> {
    if (this.closed || (!this.healthy && performance.now() < this.retryAt)) return null
    if (!this.client.connected && !(await this.connect())) return null
    try {
      const reply = await this.withTimeout(this.evaluate(this.keyPrefix + key), this.commandTimeoutMs)
      this.succeeded()
      return { allowed: reply[0] === 1, remaining: reply[1], resetMs: reply[2], retryAfterMs: reply[3] }
    } catch (error) {
      this.failed(error)
      return null
    }
  }

  close(): void {
    this.closed = true
    this.client.close()
  }

  private async evaluate(key: string): Promise<[number, number, number, number]> {
    try {
      return await this.client.send('EVALSHA', [SCRIPT_SHA, '1', key, this.limitArg, this.windowArg])
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
      return await this.client.send('EVAL', [SCRIPT, '1', key, this.limitArg, this.windowArg])
    }
  }

  /** True when connected; concurrent callers share one attempt. */
  private connect(): Promise<boolean> {
    if (this.connecting) return this.connecting
    this.connecting = this.withTimeout(this.client.connect(), this.connectTimeoutMs)
      .then(
        () => {
          this.succeeded()
          return true
        },
        (error: unknown) => {
          this.failed(error)
          return false
        },
      )
      .finally(() => {
        this.connecting = undefined
      })
    return this.connecting
  }

  private withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
    let timer: Timer | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`rate limit store did not answer within ${ms} ms`)), ms)
    })
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
  }

  private succeeded(): void {
    if (this.healthy) return
    this.healthy = true
    this.backoffMs = MIN_BACKOFF_MS
    this.logger.info('rate limit store reachable again')
  }

  private failed(error: unknown): void {
    this.retryAt = performance.now() + this.backoffMs
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS)
    if (this.closed || !this.healthy) return
    this.healthy = false
    this.logger.warn(
      { err: error, code: 'RATE_LIMIT_STORE_UNAVAILABLE' },
      'rate limit store unreachable: requests pass unlimited until it is back',
    )
  }
}
