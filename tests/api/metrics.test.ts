import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createMetrics } from '../../src/lib/metrics'
import { serveMetrics } from '../../src/metrics-server'
import { createTestApp, type TestApp } from '../helpers/app'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

/** Request metrics are recorded just after the answer is sent; scrape until `expected` shows up. */
async function scrape(app: TestApp, expected: RegExp, headers: Record<string, string> = {}): Promise<string> {
  let text = ''
  for (let attempt = 0; attempt < 100; attempt++) {
    const res = await app.request('/metrics', { headers })
    expect(res.status).toBe(200)
    text = await res.text()
    if (expected.test(text)) return text
    await Bun.sleep(5)
  }
  throw new Error(`metrics never matched ${expected}:\n${text}`)
}

describe('metrics', () => {
  test('when a route with an id is requested, then the histogram is labelled with the route template, not the path', async () => {
    const route = t.app.routes.find((r) => r.method === 'GET' && /\/:\w+/.test(r.path))
    expect(route).toBeDefined()
    const id = crypto.randomUUID()
    const path = route!.path.replace(/:\w+/g, id)
    await t.request(path, { token: await t.token() })

    const res = await t.request('/metrics')
    expect(res.headers.get('content-type')).toContain('text/plain')
    const template = route!.path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    const text = await scrape(
      t,
      new RegExp(`http_request_duration_seconds_bucket\\{[^}]*route="${template}"[^}]*\\} [1-9]`),
    )
    expect(text).toContain('# TYPE http_request_duration_seconds histogram')
    expect(text).toMatch(
      new RegExp(`http_requests_total\\{method="GET",route="${template}",status="\\d{3}"\\} 1`),
    )
    expect(text).not.toContain(id)
  })

  test('when an unknown path is requested, then it is labelled unmatched', async () => {
    await t.request(`/nope/${crypto.randomUUID()}`)
    const text = await scrape(t, /http_requests_total\{method="GET",route="unmatched",status="404"\} [1-9]/)
    expect(text).not.toContain('/nope/')
  })

  test('when scraped, then pool, rate-limit, PDF, delivery and process metrics are there', async () => {
    const text = await scrape(t, /db_pool_max_connections \d+/)
    for (const name of [
      'db_pool_connections_in_use',
      'db_pool_acquire_waiting',
      'rate_limit_rejections_total',
      'webhook_delivery_attempts_total',
      'email_delivery_attempts_total',
      'job_duration_seconds',
      'pdf_render_duration_seconds',
      'pdf_upload_duration_seconds',
      'http_request_errors_total',
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
    ]) {
      expect(text).toContain(`# TYPE ${name} `)
    }
  })

  test('when a transaction holds a connection, then it is counted in use until it ends', async () => {
    await t.deps.database.db.transaction().execute(async (trx) => {
      await trx.selectFrom('users').select('id').limit(1).execute()
      await scrape(t, /db_pool_connections_in_use [1-9]/)
    })
    const text = await scrape(t, /db_pool_connections_in_use 0/)
    expect(text).toMatch(/db_pool_acquire_waiting 0/)
  })

  test('when a request fails with a 5xx, then it is counted as an error; a 4xx is not', async () => {
    const metrics = createMetrics()
    metrics.observeRequest('GET', '/x/:id', 503, 0.01)
    metrics.observeRequest('GET', '/x/:id', 404, 0.01)
    metrics.observeRequest('BREW', '/x/:id', 503, 0.01)
    metrics.observeRequest('FROB', '/x/:id', 503, 0.01)
    const text = await metrics.render()
    expect(text).toContain('http_request_errors_total{method="GET",route="/x/:id",status="503"} 1')
    expect(text).toContain('http_request_errors_total{method="OTHER",route="/x/:id",status="503"} 2')
    expect(text).toContain(
      'http_request_duration_seconds_bucket{method="GET",route="/x/:id",status="404",le="0.005"} 0',
    )
    expect(text).toContain(
      'http_request_duration_seconds_bucket{method="GET",route="/x/:id",status="404",le="0.01"} 1',
    )
    expect(text).toContain(
      'http_request_duration_seconds_bucket{method="GET",route="/x/:id",status="404",le="+Inf"} 1',
    )
    expect(text).not.toContain('http_request_errors_total{method="GET",route="/x/:id",status="404"}')
    expect(text).toContain('http_requests_total{method="GET",route="/x/:id",status="404"} 1')
  })

  test('when requests are refused by the rate limit, then they are counted', async () => {
    const limited = await createTestApp({ TRUST_PROXY: 'x-forwarded-for', RATE_LIMIT_PER_MINUTE: '1' })
    try {
      const headers = { 'x-forwarded-for': '203.0.113.5' }
      const statuses = []
      for (let i = 0; i < 3; i++) statuses.push((await limited.request('/api/v1/me', { headers })).status)
      expect(statuses).toEqual([401, 429, 429])
      await scrape(limited, /rate_limit_rejections_total 2/)
    } finally {
      await limited.close()
    }
  })

  test('when the metrics endpoint is requested, then it is not in the OpenAPI document', async () => {
    const doc = (await (await t.request('/docs/json')).json()) as { paths: Record<string, unknown> }
    expect(Object.keys(doc.paths)).not.toContain('/metrics')
  })
})

describe('metrics behind METRICS_TOKEN', () => {
  let guarded: TestApp
  beforeAll(async () => {
    guarded = await createTestApp({ METRICS_TOKEN: 'scrape-secret-123' })
  })
  afterAll(() => guarded.close())

  test('when no or a wrong token is sent, then 401 UNAUTHORIZED in the envelope', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: 'scrape-secret-123' },
    ]
    for (const headers of attempts) {
      const res = await guarded.request('/metrics', { headers })
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe('Bearer')
      const body = (await res.json()) as { error: { code: string } }
      expect(body.error.code).toBe('UNAUTHORIZED')
    }
  })

  test('when the right token is sent, then the metrics are answered', async () => {
    const text = await scrape(guarded, /http_request_duration_seconds/, {
      authorization: 'Bearer scrape-secret-123',
    })
    expect(text).toContain('# TYPE http_requests_total counter')
    expect(guarded.logs.map((l) => JSON.stringify(l)).join('\n')).not.toContain('scrape-secret-123')
  })
})

describe('metrics on their own port', () => {
  test('when METRICS_PORT is set, then the API port has no /metrics and the metrics port serves only it', async () => {
    const app = await createTestApp({ METRICS_PORT: '9464' })
    const metrics = createMetrics({ database: app.deps.database })
    const server = serveMetrics({
      port: 0,
      metrics,
      token: 'scrape',
      logger: app.deps.logger,
      reusePort: false,
    })
    try {
      expect((await app.request('/metrics')).status).toBe(404)
      const base = `http://127.0.0.1:${server.port}`
      const open = await fetch(`${base}/metrics`)
      expect(open.status).toBe(401)
      expect(((await open.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED')
      const scraped = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer scrape' } })
      expect(scraped.status).toBe(200)
      expect(await scraped.text()).toContain('db_pool_connections')
      expect((await fetch(`${base}/api/v1/me`)).status).toBe(404)
    } finally {
      await server.stop(true)
      await app.close()
    }
  })
})
