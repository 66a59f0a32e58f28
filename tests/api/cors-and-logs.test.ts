import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createTestApp, type TestApp } from '../helpers/app'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ CORS_ORIGINS: 'https://app.example.com' })
})
afterAll(() => t.close())

describe('CORS', () => {
  test('when a listed origin asks, then it is allowed; another origin is not', async () => {
    const allowed = await t.request('/health', { headers: { origin: 'https://app.example.com' } })
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    const other = await t.request('/health', { headers: { origin: 'https://evil.example.net' } })
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
  })

  test('when a listed origin sends a preflight, then methods and headers are announced', async () => {
    const res = await t.request('/api/v1/me', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'authorization, content-type, if-match',
      },
    })
    expect(res.status).toBeLessThan(300)
    expect(res.headers.get('access-control-allow-methods')).toContain('PATCH')
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('if-match')
  })

  test('when no origins are configured, then no CORS headers are sent', async () => {
    const plain = await createTestApp()
    try {
      const res = await plain.request('/health', { headers: { origin: 'https://app.example.com' } })
      expect(res.headers.get('access-control-allow-origin')).toBeNull()
    } finally {
      await plain.close()
    }
  })
})

describe('access log', () => {
  test('when a request is answered, then one JSON line has the contract fields and no token or body', async () => {
    const token = await t.token()
    const res = await t.request('/api/v1/me?secret=query', {
      method: 'PATCH',
      token,
      json: { companyName: 'Very Private Co' },
    })
    expect(res.status).toBe(200)
    const requestId = res.headers.get('x-request-id')
    const line = await t.waitForLog((l) => l.requestId === requestId && l.message === 'request')
    expect(t.logs.filter((l) => l.requestId === requestId && l.message === 'request')).toHaveLength(1)
    expect(line).toMatchObject({ level: 'info', method: 'PATCH', path: '/api/v1/me', statusCode: 200 })
    expect(typeof line.responseTime).toBe('number')
    expect(typeof line.userId).toBe('string')
    expect(Number.isNaN(Date.parse(String(line.timestamp)))).toBe(false)
    const all = JSON.stringify(t.logs)
    expect(all).not.toContain(token)
    expect(all).not.toContain('Very Private Co')
    expect(all).not.toContain('secret=query')
  })
})
