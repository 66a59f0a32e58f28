/**
 * A bounded map from token to what verifying it produced, kept until the token's own expiry, so that a
 * repeated token costs a map lookup instead of a signature check and a database read. Least recently used
 * entries go first when full.
 */
export class TokenCache<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>()

  constructor(
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(token: string): T | undefined {
    const entry = this.entries.get(token)
    if (!entry) return undefined
    this.entries.delete(token)
    if (entry.expiresAt <= this.now()) return undefined
    this.entries.set(token, entry)
    return entry.value
  }

  /** `expiresAt` in epoch milliseconds. */
  set(token: string, value: T, expiresAt: number): void {
    if (expiresAt <= this.now()) return
    this.entries.delete(token)
    this.entries.set(token, { value, expiresAt })
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest === undefined) break
      this.entries.delete(oldest)
    }
  }

  get size(): number {
    return this.entries.size
  }
}
