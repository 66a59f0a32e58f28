import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ROOT, readLines, serverEnv } from '../helpers/server-process'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

const LOOPS = 20
const LOAD_BEFORE_SIGTERM_MS = 1_500
const EXIT_WITHIN_MS = 10_000
const SLOW_BODY_AFTER_SIGTERM_MS = 1_000
const START_WITHIN_MS = 60_000
/** Bounds each client loop after SIGTERM: its first connection failure ends it, or this many requests. */
const MAX_REQUESTS_PER_LOOP = 5_000

type LogLine = Record<string, unknown>

interface Outcome {
  loop: number
  path: string
  requestId: string
  sentAt: number
  status?: number
  error?: string
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'invoice-api-shutdown-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

describe('graceful shutdown', () => {
  test('when SIGTERM arrives under a steady stream of requests, then every request the server accepted is answered 200, the rest are refused, and it exits 0 within 10 s', async () => {
    const env = serverEnv({
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'info',
      RATE_LIMIT_PER_MINUTE: '1000000',
      ...(process.env['TEST_DATABASE_EMBEDDED'] === '1'
        ? {}
        : { DATABASE_URL: process.env['TEST_DATABASE_URL'] ?? '', DB_POOL_MIN: '1', DB_POOL_MAX: '4' }),
    })
    const proc = Bun.spawn(['bun', 'src/index.ts'], { cwd: ROOT, env, stdout: 'pipe', stderr: 'inherit' })
    const lines: LogLine[] = []
    let listening: (port: number) => void = () => {}
    const port = new Promise<number>((resolve) => {
      listening = resolve
    })
    const reading = readLines(proc.stdout, (raw) => {
      const line = JSON.parse(raw) as LogLine
      lines.push(line)
      if (typeof line['port'] === 'number') listening(line['port'])
    })
    try {
      const base = `http://127.0.0.1:${await Promise.race([
        port,
        proc.exited.then(() => Promise.reject(new Error('exited before listening'))),
        Bun.sleep(START_WITHIN_MS).then(() => Promise.reject(new Error('not listening in time'))),
      ])}`
      const tokenProc = Bun.spawn(['bun', 'run', 'token', 'load@example.com'], {
        cwd: ROOT,
        env,
        stdout: 'pipe',
        stderr: 'pipe',
      })
      const token = (await new Response(tokenProc.stdout).text()).trim().split('\n').at(-1) ?? ''
      expect(await tokenProc.exited).toBe(0)
      const headers = { authorization: `Bearer ${token}` }
      expect((await fetch(`${base}/api/v1/me`, { headers })).status).toBe(200)

      const outcomes: Outcome[] = []
      let sigtermAt = Number.POSITIVE_INFINITY
      const loop = async (loop: number) => {
        for (let i = 0; i < MAX_REQUESTS_PER_LOOP; i++) {
          const pathname = i % 2 === 0 ? '/health' : '/api/v1/me'
          const outcome: Outcome = {
            loop,
            path: pathname,
            requestId: crypto.randomUUID(),
            sentAt: performance.now(),
          }
          outcomes.push(outcome)
          try {
            const res = await fetch(`${base}${pathname}`, {
              headers: { ...(pathname === '/health' ? {} : headers), 'x-request-id': outcome.requestId },
            })
            await res.arrayBuffer()
            outcome.status = res.status
          } catch (error) {
            outcome.error = String((error as { code?: unknown }).code ?? error)
            if (outcome.sentAt >= sigtermAt) return
          }
        }
      }
      const loops = Promise.all(Array.from({ length: LOOPS }, (_, i) => loop(i)))

      // A request whose body is still arriving when SIGTERM comes: accepted, so it must be answered.
      let finishBody: () => void = () => {}
      const bodyRest = new Promise<void>((resolve) => {
        finishBody = resolve
      })
      const encoder = new TextEncoder()
      const slow = fetch(`${base}/api/v1/me`, {
        method: 'PATCH',
        headers: { ...headers, 'content-type': 'application/json' },
        body: new ReadableStream<Uint8Array>({
          async start(controller) {
            controller.enqueue(encoder.encode('{"companyName":'))
            await bodyRest
            controller.enqueue(encoder.encode('"Slow Ltd"}'))
            controller.close()
          },
        }),
      })

      await Bun.sleep(LOAD_BEFORE_SIGTERM_MS)
      sigtermAt = performance.now()
      proc.kill('SIGTERM')
      await Bun.sleep(SLOW_BODY_AFTER_SIGTERM_MS)
      finishBody()
      const slowAnswer = await slow
      const slowBody = (await slowAnswer.json()) as { profile?: { companyName?: string } }
      const code = await Promise.race([proc.exited, Bun.sleep(EXIT_WITHIN_MS + 5_000).then(() => 'hung')])
      const exitMs = Math.round(performance.now() - sigtermAt)
      await loops
      await reading

      const answered = outcomes.filter((o) => o.status !== undefined)
      const failed = outcomes.filter((o) => o.error !== undefined)
      const answeredAfterSigterm = answered.filter((o) => o.sentAt >= sigtermAt)
      const logged = new Set(
        lines.filter((l) => l['message'] === 'request').map((l) => String(l['requestId'])),
      )
      const acceptedButLost = outcomes.filter((o) => logged.has(o.requestId) && o.status !== 200)
      console.info(
        `shutdown under load: ${answered.length} answered (${answeredAfterSigterm.length} sent after SIGTERM), ` +
          `${failed.length} refused (${[...new Set(failed.map((o) => o.error))].join(', ')}), exit ${code} after ${exitMs} ms`,
      )

      expect(slowAnswer.status).toBe(200)
      expect(slowBody.profile?.companyName).toBe('Slow Ltd')
      expect(code).toBe(0)
      expect(exitMs).toBeGreaterThanOrEqual(SLOW_BODY_AFTER_SIGTERM_MS)
      expect(exitMs).toBeLessThan(EXIT_WITHIN_MS)
      expect(lines.some((l) => l['message'] === 'shutdown complete')).toBe(true)
      expect(answered.length).toBeGreaterThan(LOOPS * 5)
      expect(answered.filter((o) => o.status !== 200)).toEqual([])
      expect(acceptedButLost).toEqual([])
      // A request fails only once the server has stopped accepting: after SIGTERM, never before.
      expect(failed.filter((o) => o.sentAt < sigtermAt - 50)).toEqual([])
      // Every loop saw the stop: the stream was still running when SIGTERM arrived.
      expect(new Set(failed.map((o) => o.loop)).size).toBe(LOOPS)
    } finally {
      proc.kill('SIGKILL')
    }
  }, 120_000)
})
