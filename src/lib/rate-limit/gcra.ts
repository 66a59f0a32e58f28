/**
 * GCRA (the generic cell rate algorithm): one "theoretical arrival time" per client instead of counters.
 * A client may send `limit` requests back to back, then one more every `window / limit`; there is no
 * window edge at which twice the limit gets through, and a client's whole state is a single number.
 */

export interface RateLimitDecision {
  allowed: boolean
  remaining: number
  /** Milliseconds until the whole quota is available again. */
  resetMs: number
  /** Milliseconds until one more request is allowed; 0 when this one was. */
  retryAfterMs: number
}

/** Float slack, in requests, so that exact quotas are not lost to rounding. */
export const EPSILON = 1e-4

/** Decides one request at `now`; `tat` is the arrival time to store when it is allowed. */
export function gcra(
  stored: number | undefined,
  now: number,
  limit: number,
  windowMs: number,
): RateLimitDecision & { tat: number } {
  const interval = windowMs / limit
  const base = stored !== undefined && stored > now ? stored : now
  const ahead = base + interval - now
  const used = ahead / interval
  if (used > limit + EPSILON) {
    return { allowed: false, remaining: 0, resetMs: base - now, retryAfterMs: ahead - windowMs, tat: base }
  }
  return {
    allowed: true,
    remaining: Math.floor(limit - used + EPSILON),
    resetMs: ahead,
    retryAfterMs: 0,
    tat: base + interval,
  }
}
