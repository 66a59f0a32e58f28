import { describe, expect, test } from 'bun:test'
import path from 'node:path'
import { ConfigError, loadConfig } from '../../src/config'

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

describe('config', () => {
  test('when nothing is set, then the embedded defaults of API.md apply', () => {
    const config = loadConfig({})
    expect(config.port).toBe(3000)
    expect(config.nodeEnv).toBe('development')
    expect(config.databaseUrl).toBeUndefined()
    expect(config.s3).toBeUndefined()
    expect(config.cognito).toBeUndefined()
    expect(config.dataDir).toBe(path.resolve('./data'))
    expect(config.db).toMatchObject({ poolMin: 5, poolMax: 20, idleTimeoutSeconds: 30, slowQueryMs: 500 })
    expect(config.pdfUrlTtlSeconds).toBe(900)
    expect(config.rateLimitPerMinute).toBe(100)
    expect(config.logLevel).toBe('info')
    expect(config.corsOrigins).toEqual([])
    expect(Object.isFrozen(config)).toBe(true)
  })

  test('when NODE_ENV=production lacks database, bucket and Cognito, then one error lists all three', () => {
    const problems = problemsOf({ NODE_ENV: 'production' })
    expect(problems.some((p) => p.includes('DATABASE_URL'))).toBe(true)
    expect(problems.some((p) => p.includes('S3_BUCKET'))).toBe(true)
    expect(problems.some((p) => p.includes('COGNITO'))).toBe(true)
    // Links and mail reach customers: no localhost page address and no .eml files in production.
    expect(problems).toContain('PUBLIC_URL is required in production')
    expect(problems).toContain('SMTP_URL is required in production')
    expect(problems).toContain('MAIL_FROM is required in production')
    expect(problemsOf({ MAIL_FROM: 'Invoices <a@b.example>\r\nBcc: x@y.example' })).toEqual([
      'MAIL_FROM must be an email address, optionally as `Name <address>`',
    ])
    expect(problemsOf({ SMTP_URL: 'http://mail.example.com' }).some((p) => p.startsWith('SMTP_URL'))).toBe(
      true,
    )
  })

  test('when production has neither METRICS_TOKEN nor METRICS_PORT, then start-up refuses open metrics', () => {
    const production = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://app@db.internal:5432/invoices',
      S3_BUCKET: 'invoices-pdf',
      COGNITO_REGION: 'eu-central-1',
      COGNITO_USER_POOL_ID: 'eu-central-1_AbC123',
      COGNITO_CLIENT_ID: 'web',
      PUBLIC_URL: 'https://invoices.example.com',
      SMTP_URL: 'smtps://user:secret@smtp.example.com:465',
      MAIL_FROM: 'Invoices <invoices@example.com>',
    }
    expect(problemsOf(production)).toEqual(['METRICS_TOKEN or METRICS_PORT is required in production'])
    expect(problemsOf({ ...production, METRICS_TOKEN: 'scrape-secret' })).toEqual([])
    expect(problemsOf({ ...production, METRICS_PORT: '3000', PORT: '3000' })).toEqual([
      'METRICS_PORT must differ from PORT',
    ])
  })

  test('when production is fully configured, then the Cognito issuer and JWKS URL derive from region and pool', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://app@db.internal:5432/invoices',
      S3_BUCKET: 'invoices-pdf',
      COGNITO_REGION: 'eu-central-1',
      COGNITO_USER_POOL_ID: 'eu-central-1_AbC123',
      COGNITO_CLIENT_ID: 'web, mobile',
      METRICS_PORT: '9091',
      PUBLIC_URL: 'https://invoices.example.com/',
      SMTP_URL: 'smtp://mail.internal:587',
      MAIL_FROM: 'invoices@example.com',
    })
    expect(config.publicUrl).toBe('https://invoices.example.com')
    expect(config.mail).toEqual({ smtpUrl: 'smtp://mail.internal:587', from: 'invoices@example.com' })
    expect(config.metricsPort).toBe(9091)
    expect(config.cognito).toEqual({
      issuer: 'https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_AbC123',
      jwksUrl: 'https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_AbC123/.well-known/jwks.json',
      clientIds: ['web', 'mobile'],
      jwksCooldownSeconds: 30,
    })
    expect(config.s3?.bucket).toBe('invoices-pdf')
  })

  test('when COGNITO_ISSUER is given, then it overrides region and pool', () => {
    const config = loadConfig({
      COGNITO_ISSUER: 'http://127.0.0.1:9229/local_pool/',
      COGNITO_CLIENT_ID: 'c1',
    })
    expect(config.cognito?.issuer).toBe('http://127.0.0.1:9229/local_pool')
  })

  test('when values are malformed, then every problem is reported at once', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DB_POOL_MIN: '30',
      DB_POOL_MAX: '10',
      DATABASE_URL: 'mysql://nope',
      LOG_LEVEL: 'loud',
      TRUST_PROXY: 'x-anything',
      COGNITO_REGION: 'eu-west-1',
      S3_FORCE_PATH_STYLE: 'maybe',
      S3_BUCKET: 'b',
    })
    expect(problems.length).toBeGreaterThanOrEqual(7)
    for (const name of [
      'PORT',
      'DB_POOL_MIN',
      'DATABASE_URL',
      'LOG_LEVEL',
      'TRUST_PROXY',
      'COGNITO',
      'S3_FORCE_PATH_STYLE',
    ]) {
      expect(problems.some((p) => p.includes(name))).toBe(true)
    }
  })

  test('when CORS_ORIGINS lists origins, then they are parsed without trailing slashes', () => {
    expect(
      loadConfig({ CORS_ORIGINS: 'https://app.example.com/, http://localhost:5173' }).corsOrigins,
    ).toEqual(['https://app.example.com', 'http://localhost:5173'])
  })
})
