import { gcra, type RateLimitDecision } from './gcra'
import type { LocalRateLimitStore } from './types'

export interface MemoryStoreOptions {
  limit: number
  windowMs: number
  /** Most clients remembered at once; past it the least recently inserted are forgotten. */
  maxKeys?: number
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number
}

/**
 * One process's limit. An entry whose arrival time has passed is the same as no entry, so a sweep once a
 * window drops those; when every slot holds an active client, the oldest tenth is forgotten (they start
 * afresh, which errs towards letting requests through).
 */
export class MemoryRateLimitStore implements LocalRateLimitStore {
  readonly kind = 'memory'
  private readonly tats = new Map<string, number>()
  private readonly limit: number
  private readonly windowMs: number
  private readonly maxKeys: number
  private readonly now: () => number
  private nextSweepAt: number

  constructor(options: MemoryStoreOptions) {
    this.limit = options.limit
    this.windowMs = options.windowMs
    this.maxKeys = Math.max(1, options.maxKeys ?? 100_000)
    this.now = options.now ?? (() => performance.now())
    this.nextSweepAt = this.now() + this.windowMs
  }

  get size(): number {
    return this.tats.size
  }

  hit(key: string): RateLimitDecision {
    const now = this.now()
    if (now >= this.nextSweepAt) this.sweep(now)
    const stored = this.tats.get(key)
    const decision = gcra(stored, now, this.limit, this.windowMs)
    if (decision.allowed) {
      if (stored === undefined && this.tats.size >= this.maxKeys) this.makeRoom(now)
      this.tats.set(key, decision.tat)
    }
    return decision
  }

  close(): void {
    this.tats.clear()
  }

  private sweep(now: number): void {
    for (const [key, tat] of this.tats) if (tat <= now) this.tats.delete(key)
    this.nextSweepAt = now + this.windowMs
  }

  private makeRoom(now: number): void {
    this.sweep(now)
    if (this.tats.size < this.maxKeys) return
    let drop = Math.max(1, Math.floor(this.maxKeys / 10))
    for (const key of this.tats.keys()) {
      this.tats.delete(key)
      if (--drop === 0) break
    }
  }
}
