import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type App, type AppDeps, createApp } from '../../src/app'
import { loadConfig } from '../../src/config'
import { createVerifier } from '../../src/deps'
import { createJobQueue } from '../../src/lib/jobs'
import { createLogger } from '../../src/lib/logger'
import { createStorage } from '../../src/lib/storage'
import type { EmailAttemptOutcome } from '../../src/modules/emails/send'
import { declareQueues, startWorkers } from '../../src/workers'
import { checkContract } from './contract'
import { sharedDatabase } from './database'
import { startTestIssuer, TEST_CLIENT_ID, type TestIssuer } from './jwks'

export type LogLine = Record<string, unknown> & { level: string; message?: string }

export interface TestApp {
  app: App
  deps: AppDeps
  issuer: TestIssuer
  logs: LogLine[]
  /** With `workers`: the outcome of every email attempt, in order, as the metrics see them. */
  emailAttempts: EmailAttemptOutcome[]
  /** A valid access token for a new user (or for `sub`). */
  token(sub?: string): Promise<string>
  /**
   * Sends a request to the app. Every answer is checked against the OpenAPI document (helpers/contract.ts): one
   * that the document does not describe fails the test that received it.
   */
  request(pathname: string, init?: RequestInit & { token?: string; json?: unknown }): Promise<Response>
  /** Log lines written after the answer (the access log) land a tick later; waits for the first match. */
  waitForLog(match: (line: LogLine) => boolean): Promise<LogLine>
  close(): Promise<void>
}

/**
 * The real app over the run's real database, verifying tokens of a Cognito-like issuer served over HTTP,
 * with its log lines captured. `env` overrides configuration as the environment would.
 */
export async function createTestApp(
  env: Record<string, string> = {},
  options: {
    /** Start the job queue, for tests that enqueue (a webhook endpoint makes every change enqueue a delivery). */
    queue?: boolean
    /** Start the workers too (implies `queue`): deliveries, overdue announcements, clean-ups. */
    workers?: boolean
  } = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'invoice-api-test-'))
  const issuer = await startTestIssuer()
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    COGNITO_ISSUER: issuer.issuer,
    COGNITO_CLIENT_ID: TEST_CLIENT_ID,
    LOG_LEVEL: 'info',
    ...env,
  })
  const logs: LogLine[] = []
  const logger = createLogger(config, {
    write(line: string) {
      logs.push(JSON.parse(line) as LogLine)
    },
  })
  const database = await sharedDatabase()
  const storage = await createStorage({
    s3: config.s3,
    dataDir,
    publicBaseUrl: config.publicUrl,
    timeoutMs: config.storageTimeoutMs,
  })
  const verifier = await createVerifier(config, logger)
  // A real queue, started only where a test enqueues: pg-boss's maintenance on the pool would otherwise run
  // beside every test (pool-exhaustion tests among them) for nothing.
  const jobs = createJobQueue({ db: database.db, databaseUrl: config.databaseUrl, logger })
  if (options.queue || options.workers) {
    await declareQueues(jobs, config)
    await jobs.start()
  }
  const deps: AppDeps = { config, logger, database, storage, verifier, jobs }
  const app = createApp(deps)
  // Workers only where a test asks: otherwise jobs queue up unworked, and tests see the outbox as written.
  const emailAttempts: EmailAttemptOutcome[] = []
  if (options.workers) {
    await startWorkers({
      db: database.db,
      jobs,
      logger,
      config,
      onEmailAttempt: (outcome) => emailAttempts.push(outcome),
    })
  }

  return {
    app,
    deps,
    issuer,
    logs,
    emailAttempts,
    token: (sub) => issuer.sign(sub ? { sub } : {}),
    async request(pathname, init = {}) {
      const { token, json, ...rest } = init
      const headers = new Headers(rest.headers)
      if (token) headers.set('authorization', `Bearer ${token}`)
      let body = rest.body
      if (json !== undefined) {
        headers.set('content-type', 'application/json')
        body = JSON.stringify(json)
      }
      const request = new Request(`http://localhost${pathname}`, { ...rest, headers, body: body ?? null })
      const response = await app.handle(request)
      await checkContract(request, response)
      return response
    },
    async waitForLog(match) {
      for (let attempt = 0; attempt < 200; attempt++) {
        const line = logs.find(match)
        if (line) return line
        await Bun.sleep(5)
      }
      throw new Error('no matching log line')
    },
    async close() {
      await jobs.stop({ timeoutMs: 2_000 })
      await issuer.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
