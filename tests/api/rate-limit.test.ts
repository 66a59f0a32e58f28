import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createTestApp, type TestApp } from '../helpers/app'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'

type ErrorEnvelope = { error: { code: string; message: string; requestId: string } }

let t: TestApp
let small: TestApp
beforeAll(async () => {
  t = await createTestApp({ TRUST_PROXY: 'x-forwarded-for' })
  small = await createTestApp({ TRUST_PROXY: 'x-forwarded-for', RATE_LIMIT_PER_MINUTE: '3' })
})
afterAll(async () => {
  await t.close()
  await small.close()
})

const from = (app: TestApp, forwardedFor: string, init: RequestInit & { token?: string } = {}) =>
  app.request('/api/v1/me', { ...init, headers: { ...init.headers, 'x-forwarded-for': forwardedFor } })

describe('rate limit', () => {
  test('when a client sends 100 requests with bad tokens, then all are answered and the 101st gets 429 in the envelope', async () => {
    const ip = '198.51.100.10'
    const headers = { authorization: 'Bearer not-a-token' }
    const first100 = await Promise.all(Array.from({ length: 100 }, () => from(t, ip, { headers })))
    expect(first100.map((r) => r.status)).toEqual(Array(100).fill(401))
    expect(first100.every((r) => r.headers.get('ratelimit-limit') === '100')).toBe(true)

    const res = await from(t, ip, { headers })
    expect(res.status).toBe(429)
    expect(res.headers.get('content-type')).toContain('application/json')
    const retryAfter = Number(res.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(res.headers.get('ratelimit-remaining')).toBe('0')
    expect(res.headers.get('x-request-id')).toBeTruthy()
    const body = (await res.json()) as ErrorEnvelope
    expect(body.error.code).toBe('RATE_LIMIT_EXCEEDED')
    expect(body.error.requestId).toBe(res.headers.get('x-request-id')!)
  })

  test('when a client sends requests, then RateLimit headers count down on successes and errors alike', async () => {
    const ip = '198.51.100.20'
    const token = await t.token()
    const ok = await from(t, ip, { token })
    expect(ok.status).toBe(200)
    const unauthorized = await from(t, ip)
    expect(unauthorized.status).toBe(401)
    const notFound = await t.request('/api/v1/nope', { headers: { 'x-forwarded-for': ip } })
    expect(notFound.status).toBe(404)
    expect([ok, unauthorized, notFound].map((r) => r.headers.get('ratelimit-remaining'))).toEqual([
      '99',
      '98',
      '97',
    ])
    for (const res of [ok, unauthorized, notFound]) {
      expect(res.headers.get('ratelimit-limit')).toBe('100')
      expect(Number(res.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1)
      expect(Number(res.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(60)
    }
  })

  test('when one client is over the limit, then another client is still served', async () => {
    for (let i = 0; i < 3; i++) expect((await from(small, '203.0.113.1')).status).toBe(401)
    expect((await from(small, '203.0.113.1')).status).toBe(429)
    const other = await from(small, '203.0.113.2')
    expect(other.status).toBe(401)
    expect(other.headers.get('ratelimit-remaining')).toBe('2')
  })

  test('when X-Forwarded-For has several hops, then the right-most one, added by our proxy, is the client', async () => {
    const statuses = []
    for (const spoofed of ['1.1.1.1', '2.2.2.2', '3.3.3.3', '4.4.4.4']) {
      statuses.push((await from(small, `${spoofed}, 203.0.113.50`)).status)
    }
    expect(statuses).toEqual([401, 401, 401, 429])
    expect((await from(small, '203.0.113.50, 203.0.113.51')).status).toBe(401)
  })

  test('when a client is over the limit, then a warn line names the code and the client', async () => {
    for (let i = 0; i < 4; i++) await from(small, '203.0.113.77')
    const line = await small.waitForLog(
      (l) => l['code'] === 'RATE_LIMIT_EXCEEDED' && l['ip'] === '203.0.113.77',
    )
    expect(line.level).toBe('warn')
  })

  test('when a client is over the limit, then routes outside /api are not limited', async () => {
    for (let i = 0; i < 4; i++) await from(small, '203.0.113.88')
    expect((await from(small, '203.0.113.88')).status).toBe(429)
    const health = await small.request('/health', { headers: { 'x-forwarded-for': '203.0.113.88' } })
    expect(health.status).toBe(200)
    expect(health.headers.get('ratelimit-limit')).toBeNull()
    const docs = await small.request('/docs/json', { headers: { 'x-forwarded-for': '203.0.113.88' } })
    expect(docs.status).toBe(200)
  })
})

describe('rate limit shared through Redis', () => {
  // Keys are per client address; a random IPv6 /64 per run keeps runs on the same Redis apart.
  const runPrefix = () => {
    const hex = () => Math.floor(Math.random() * 0x10000).toString(16)
    return `2001:db8:${hex()}:${hex()}`
  }

  test('when two instances share Redis, then they enforce one limit together', async () => {
    const env = { TRUST_PROXY: 'x-forwarded-for', RATE_LIMIT_PER_MINUTE: '5', REDIS_URL }
    const a = await createTestApp(env)
    const b = await createTestApp(env)
    try {
      const ip = `${runPrefix()}::1`
      const statuses = []
      for (const app of [a, a, a, b, b, b]) statuses.push((await from(app, ip)).status)
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429])
      const last = await from(a, ip)
      expect(last.status).toBe(429)
      expect(last.headers.get('retry-after')).toBeTruthy()
    } finally {
      await a.close()
      await b.close()
    }
  })

  test('when Redis cannot be reached, then requests pass and a warning is logged', async () => {
    const down = await createTestApp({
      TRUST_PROXY: 'x-forwarded-for',
      RATE_LIMIT_PER_MINUTE: '2',
      REDIS_URL: 'redis://127.0.0.1:1',
    })
    try {
      const statuses = []
      for (let i = 0; i < 5; i++) statuses.push((await from(down, '203.0.113.99')).status)
      expect(statuses).toEqual([401, 401, 401, 401, 401])
      const line = await down.waitForLog((l) => l['code'] === 'RATE_LIMIT_STORE_UNAVAILABLE')
      expect(line.level).toBe('warn')
    } finally {
      await down.close()
    }
  })
})
