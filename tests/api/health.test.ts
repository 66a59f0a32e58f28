import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createTestApp, type TestApp } from '../helpers/app'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

describe('health', () => {
  test('when the process runs, then GET /health answers ok with a timestamp and touches nothing', async () => {
    const res = await t.request('/health')
    expect(res.status).toBe(200)
    const body = (await res.json()) as { status: string; timestamp: string }
    expect(body.status).toBe('ok')
    expect(Number.isNaN(Date.parse(body.timestamp))).toBe(false)
  })

  test('when database and storage answer, then /health/ready is 200 with both checks ok', async () => {
    const res = await t.request('/health/ready')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok', checks: { database: 'ok', storage: 'ok' } })
  })
})
