import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createTestApp, type TestApp } from '../helpers/app'
import { S3RVER_CREDENTIALS, startS3rver } from '../helpers/s3rver'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

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

  test('when database and storage answer, then /health/ready is 200 with every check ok', async () => {
    const res = await t.request('/health/ready')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      status: 'ok',
      checks: { database: 'ok', migrations: 'ok', storage: 'ok' },
    })
  })

  test('when a migration this build ships has not run, then /health/ready is 503 naming migrations', async () => {
    const app = await createTestApp()
    const sql = app.deps.database.sql
    const [latest] = await sql<{ name: string; timestamp: string }[]>`
      delete from kysely_migration
       where name = (select max(name) from kysely_migration) returning name, timestamp`
    try {
      const res = await app.request('/health/ready')
      expect(res.status).toBe(503)
      expect(await res.json()).toEqual({
        status: 'fail',
        checks: { database: 'ok', migrations: 'pending', storage: 'ok' },
      })
    } finally {
      await sql`insert into kysely_migration (name, timestamp) values (${latest!.name}, ${latest!.timestamp})`
    }
    expect((await app.request('/health/ready')).status).toBe(200)
    await app.close()
  })
})

describe('readiness with S3 storage', () => {
  test('when S3 stops answering, then /health/ready stays 200 with storage degraded, and ok when it is back', async () => {
    const s3 = await startS3rver('ready-check')
    const app = await createTestApp({
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      STORAGE_TIMEOUT_MS: '1000',
    })
    try {
      expect((await app.request('/health/ready')).status).toBe(200)
      await s3.stop()
      const down = await app.request('/health/ready')
      expect(down.status).toBe(200)
      expect(await down.json()).toEqual({
        status: 'ok',
        checks: { database: 'ok', migrations: 'ok', storage: 'degraded' },
      })
      await s3.restart()
      const back = await app.request('/health/ready')
      expect(((await back.json()) as { checks: { storage: string } }).checks.storage).toBe('ok')
    } finally {
      await app.close()
      await s3.close()
    }
  })
})
