import type { RateLimitDecision } from './gcra'

export type { RateLimitDecision }

/** Decides in the calling tick, so the request hook stays synchronous. */
export interface LocalRateLimitStore {
  readonly kind: 'memory'
  hit(key: string): RateLimitDecision
  close(): void
}

/** Shared by every instance; `null` means it could not decide and the request goes through. */
export interface SharedRateLimitStore {
  readonly kind: 'redis'
  hit(key: string): Promise<RateLimitDecision | null>
  close(): void
}

export type RateLimitStore = LocalRateLimitStore | SharedRateLimitStore

export const WINDOW_MS = 60_000
