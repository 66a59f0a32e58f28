import { describe, expect, test } from 'bun:test'
import { TokenCache } from '../../src/lib/auth/token-cache'

describe('TokenCache', () => {
  test('when a token is cached, then it answers until its expiry and not after', () => {
    let now = 1_000
    const cache = new TokenCache<string>(10, () => now)
    cache.set('a', 'user-a', 2_000)
    expect(cache.get('a')).toBe('user-a')
    now = 1_999
    expect(cache.get('a')).toBe('user-a')
    now = 2_000
    expect(cache.get('a')).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  test('when an entry is already expired, then it is not stored', () => {
    const cache = new TokenCache<string>(10, () => 5_000)
    cache.set('old', 'x', 4_000)
    expect(cache.size).toBe(0)
  })

  test('when full, then the least recently used entry is evicted first', () => {
    const cache = new TokenCache<number>(3, () => 0)
    cache.set('a', 1, 10)
    cache.set('b', 2, 10)
    cache.set('c', 3, 10)
    expect(cache.get('a')).toBe(1)
    cache.set('d', 4, 10)
    expect(cache.size).toBe(3)
    expect(cache.get('b')).toBeUndefined()
    expect(cache.get('a')).toBe(1)
    expect(cache.get('c')).toBe(3)
    expect(cache.get('d')).toBe(4)
  })
})
