import { afterAll, describe, expect, test } from 'bun:test'
import { RedisClient } from 'bun'
import { createLogger } from '../../src/lib/logger'
import {
  clientKey,
  MemoryRateLimitStore,
  normalizeAddress,
  RedisRateLimitStore,
  UNKNOWN_CLIENT,
} from '../../src/lib/rate-limit'

const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'
const WINDOW = 60_000

function clock() {
  let now = 1_000
  return {
    now: () => now,
    advance(ms: number) {
      now += ms
    },
  }
}

describe('memory store', () => {
  test('when 100 requests arrive at once, then all pass counting down and the 101st waits one interval', () => {
    const time = clock()
    const store = new MemoryRateLimitStore({ limit: 100, windowMs: WINDOW, now: time.now })
    for (let i = 1; i <= 100; i++) {
      const decision = store.hit('a')
      expect(decision.allowed).toBe(true)
      expect(decision.remaining).toBe(100 - i)
      expect(decision.resetMs).toBeCloseTo(i * 600)
    }
    const rejected = store.hit('a')
    expect(rejected).toMatchObject({ allowed: false, remaining: 0 })
    expect(rejected.retryAfterMs).toBeCloseTo(600)
    expect(rejected.resetMs).toBeCloseTo(WINDOW)
  })

  test('when time passes, then the quota comes back one request per interval and whole after the window', () => {
    const time = clock()
    const store = new MemoryRateLimitStore({ limit: 5, windowMs: WINDOW, now: time.now })
    for (let i = 0; i < 5; i++) store.hit('a')
    expect(store.hit('a').allowed).toBe(false)
    time.advance(12_000)
    expect(store.hit('a')).toMatchObject({ allowed: true, remaining: 0 })
    expect(store.hit('a').allowed).toBe(false)
    time.advance(WINDOW)
    expect(store.hit('a')).toMatchObject({ allowed: true, remaining: 4 })
  })

  test('when a limit does not divide the window evenly, then exactly that many pass', () => {
    const time = clock()
    const store = new MemoryRateLimitStore({ limit: 7, windowMs: WINDOW, now: time.now })
    const remaining = Array.from({ length: 8 }, () => store.hit('a'))
    expect(remaining.map((d) => d.allowed)).toEqual([true, true, true, true, true, true, true, false])
    expect(remaining.map((d) => d.remaining)).toEqual([6, 5, 4, 3, 2, 1, 0, 0])
  })

  test('when two clients send requests, then each has its own quota', () => {
    const store = new MemoryRateLimitStore({ limit: 2, windowMs: WINDOW, now: clock().now })
    store.hit('a')
    store.hit('a')
    expect(store.hit('a').allowed).toBe(false)
    expect(store.hit('b')).toMatchObject({ allowed: true, remaining: 1 })
  })

  test('when a window passes, then clients whose quota is whole again are forgotten', () => {
    const time = clock()
    const store = new MemoryRateLimitStore({ limit: 10, windowMs: WINDOW, now: time.now })
    for (let i = 0; i < 50; i++) store.hit(`client-${i}`)
    expect(store.size).toBe(50)
    time.advance(WINDOW)
    store.hit('late')
    expect(store.size).toBe(1)
  })

  test('when more clients are active than the cap, then the store stays within it', () => {
    const store = new MemoryRateLimitStore({ limit: 10, windowMs: WINDOW, maxKeys: 100, now: clock().now })
    for (let i = 0; i < 1_000; i++) store.hit(`client-${i}`)
    expect(store.size).toBeLessThanOrEqual(100)
    expect(store.hit('client-999').remaining).toBe(8)
  })
})

describe('client addresses', () => {
  test('when an address is well formed, then IPv4 stays as is and IPv6 is reduced to its /64', () => {
    expect(normalizeAddress('203.0.113.7')).toBe('203.0.113.7')
    expect(normalizeAddress(' 203.0.113.7 ')).toBe('203.0.113.7')
    expect(normalizeAddress('203.0.113.7:51234')).toBe('203.0.113.7')
    expect(normalizeAddress('::ffff:203.0.113.7')).toBe('203.0.113.7')
    expect(normalizeAddress('2001:db8:aa:1::1')).toBe('2001:db8:aa:1::/64')
    expect(normalizeAddress('2001:DB8:AA:1:ffff:1:2:3')).toBe('2001:db8:aa:1::/64')
    expect(normalizeAddress('[2001:db8:0aa:01::9]:443')).toBe('2001:db8:aa:1::/64')
    expect(normalizeAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(normalizeAddress('::1')).toBe('0:0:0:0::/64')
  })

  test('when a value is not an address or is too long, then it is refused', () => {
    for (const bad of [
      '',
      'unknown',
      'evil.example.com',
      '1.2.3',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      'x'.repeat(500),
    ]) {
      expect(normalizeAddress(bad)).toBeUndefined()
    }
    expect(normalizeAddress(`1.2.3.4${' '.repeat(100)}`)).toBeUndefined()
  })

  const socket = (address: string | null) => ({
    requestIP: () => (address === null ? null : { address }),
  })
  const request = (headers: Record<string, string>) => new Request('http://localhost/api/x', { headers })

  test('when x-forwarded-for is trusted, then the right-most hop is the client', () => {
    const req = request({ 'x-forwarded-for': '6.6.6.6, 198.51.100.1, 203.0.113.9' })
    expect(clientKey(req, socket('10.0.0.1'), 'x-forwarded-for')).toBe('203.0.113.9')
    expect(clientKey(req, socket('10.0.0.1'), undefined)).toBe('10.0.0.1')
  })

  test('when a single-value header is trusted, then its value is the client', () => {
    const req = request({ 'fly-client-ip': '2001:db8:1:2::5', 'x-forwarded-for': '9.9.9.9' })
    expect(clientKey(req, socket('10.0.0.1'), 'fly-client-ip')).toBe('2001:db8:1:2::/64')
  })

  test('when the trusted header is missing or garbage, then the socket peer is the client', () => {
    expect(clientKey(request({}), socket('10.0.0.1'), 'x-real-ip')).toBe('10.0.0.1')
    expect(clientKey(request({ 'x-real-ip': 'a'.repeat(10_000) }), socket('10.0.0.1'), 'x-real-ip')).toBe(
      '10.0.0.1',
    )
    expect(clientKey(request({}), socket(null), undefined)).toBe(UNKNOWN_CLIENT)
  })

  test('when a request was handed in-process with no header, then there is no client to limit', () => {
    expect(clientKey(request({}), null, 'x-forwarded-for')).toBeUndefined()
    expect(clientKey(request({ 'x-forwarded-for': '1.2.3.4' }), null, 'x-forwarded-for')).toBe('1.2.3.4')
  })
})

describe('redis store', () => {
  const prefix = `invoice-api-test:${crypto.randomUUID()}:`
  const logs: Record<string, unknown>[] = []
  const logger = createLogger(
    { logLevel: 'info', logPretty: false },
    { write: (l) => logs.push(JSON.parse(l)) },
  )
  const stores: RedisRateLimitStore[] = []
  const store = (url = REDIS_URL, limit = 3) => {
    const created = new RedisRateLimitStore({ url, limit, windowMs: WINDOW, logger, keyPrefix: prefix })
    stores.push(created)
    return created
  }

  afterAll(async () => {
    for (const s of stores) s.close()
    const admin = new RedisClient(REDIS_URL)
    const keys: string[] = await admin.send('KEYS', [`${prefix}*`])
    if (keys.length > 0) await admin.send('DEL', keys)
    admin.close()
  })

  test('when a client goes over the limit, then Redis refuses it with the time to wait', async () => {
    const s = store()
    const decisions = []
    for (let i = 0; i < 4; i++) decisions.push(await s.hit('one'))
    expect(decisions.map((d) => d?.allowed)).toEqual([true, true, true, false])
    expect(decisions.map((d) => d?.remaining)).toEqual([2, 1, 0, 0])
    expect(decisions[3]!.retryAfterMs).toBeGreaterThan(19_000)
    expect(decisions[3]!.retryAfterMs).toBeLessThanOrEqual(20_000)
    expect(decisions[3]!.resetMs).toBeGreaterThan(59_000)
  })

  test('when two stores share one Redis, then they share one limit', async () => {
    const a = store()
    const b = store()
    const answers = [
      await a.hit('shared'),
      await b.hit('shared'),
      await a.hit('shared'),
      await b.hit('shared'),
    ]
    expect(answers.map((d) => d?.allowed)).toEqual([true, true, true, false])
  })

  test('when the script is not cached in Redis, then it is loaded again', async () => {
    const admin = new RedisClient(REDIS_URL)
    await admin.send('SCRIPT', ['FLUSH'])
    admin.close()
    expect(await store().hit('flushed')).toMatchObject({ allowed: true, remaining: 2 })
  })

  test('when Redis cannot be reached, then the store answers null at once and warns once', async () => {
    const down = store('redis://127.0.0.1:1')
    const started = performance.now()
    for (let i = 0; i < 5; i++) expect(await down.hit('x')).toBeNull()
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(logs.filter((l) => l['code'] === 'RATE_LIMIT_STORE_UNAVAILABLE')).toHaveLength(1)
  })

  test('when the store is closed, then it answers null', async () => {
    const s = store()
    s.close()
    expect(await s.hit('closed')).toBeNull()
  })
})
