import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { readRssBytes, startSupervisor } from '../../src/cluster'
import { createLogger } from '../../src/lib/logger'
import { HEADER_PARSER_LIMIT_FLAG } from '../../src/plugins/request-limits'
import type { LogLine } from '../helpers/app'
import { ROOT, serverEnv } from '../helpers/server-process'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

const usesPostgres = process.env['TEST_DATABASE_EMBEDDED'] !== '1'
const onLinux = process.platform === 'linux'
/** Far below a worker's resident memory (a Bun server takes tens of MiB), so that every worker is replaced. */
const LIMIT_MB = 1
const CHECK_EVERY_MS = 100
const REPLACE_AT_MOST_EVERY_MS = 2_500
/** Both workers replaced, the first one twice. */
const REPLACEMENTS = 3
/** Clients that keep their connections (as a proxy's pool does). */
const KEEP_ALIVE_LOOPS = 4
/** Clients that open a connection per request, so that new connections keep arriving at every listener. */
const NEW_CONNECTION_LOOPS = 2
const LOOPS = KEEP_ALIVE_LOOPS + NEW_CONNECTION_LOOPS
const START_WITHIN_MS = 30_000
const REPLACED_WITHIN_MS = 40_000

interface Outcome {
  loop: number
  path: string
  newConnection: boolean
  status?: number
  error?: string
  failedAt?: number
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'invoice-api-cluster-memory-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const started = performance.now()
  while (!condition()) {
    if (performance.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`)
    await Bun.sleep(20)
  }
}

/**
 * Whether the kernel hands the connections queued on a closing SO_REUSEPORT listener to another listener of the
 * port (net.ipv4.tcp_migrate_req, Linux 5.14+) rather than resetting them.
 */
const migratesQueuedConnections = async () =>
  (
    await Bun.file('/proc/sys/net/ipv4/tcp_migrate_req')
      .text()
      .catch(() => '0')
  ).trim() === '1'

const REPLACING = 'worker above MAX_WORKER_MEMORY_MB: starting its replacement, then draining it'

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('MAX_WORKER_MEMORY_MB', () => {
  test.if(onLinux)(
    'when the resident memory of a process is read, then it is its VmRSS in bytes, and nothing for a process that is gone',
    async () => {
      const rss = await readRssBytes(process.pid)
      expect(rss).toBeGreaterThan(10 * 1024 * 1024)
      // The same measure as the runtime's own, give or take what was allocated in between.
      const runtime = process.memoryUsage().rss
      expect(Math.abs((rss ?? 0) - runtime)).toBeLessThan(runtime / 4)
      const exited = Bun.spawn(['true'])
      await exited.exited
      expect(await readRssBytes(exited.pid)).toBeUndefined()
      expect(await readRssBytes(2 ** 22 + 1)).toBeUndefined()
    },
  )

  test.if(onLinux && usesPostgres)(
    'when workers grow above the limit under a steady load, then each is replaced by a new process and drained one at a time, every request is answered 200 (but for the kernel resetting connections queued on a closing listener without net.ipv4.tcp_migrate_req), and the supervisor keeps running and stops with exit 0',
    async () => {
      const started = performance.now()
      const migrates = await migratesQueuedConnections()
      const logs: LogLine[] = []
      const logger = createLogger(
        { logLevel: 'info', logPretty: false },
        {
          write(line: string) {
            logs.push(JSON.parse(line) as LogLine)
          },
        },
      )
      const env = serverEnv({
        DATA_DIR: dataDir,
        DATABASE_URL: process.env['TEST_DATABASE_URL'] ?? '',
        DB_POOL_MIN: '1',
        DB_POOL_MAX: '4',
        // Workers write to the test's output: errors only (the supervisor's lines are collected above).
        LOG_LEVEL: 'error',
        RATE_LIMIT_PER_MINUTE: '1000000',
        SHUTDOWN_TIMEOUT_MS: '5000',
      })
      const supervisor = startSupervisor({
        workers: 2,
        port: 0,
        logger,
        shutdownTimeoutMs: 5_000,
        command: ['bun', HEADER_PARSER_LIMIT_FLAG, path.join(ROOT, 'src/index.ts')],
        env,
        startTimeoutMs: START_WITHIN_MS,
        maxWorkerMemoryMb: LIMIT_MB,
        memoryCheckIntervalMs: CHECK_EVERY_MS,
        memoryReplaceIntervalMs: REPLACE_AT_MOST_EVERY_MS,
      })
      let exitedEarly: number | undefined
      void supervisor.exited.then((code) => {
        exitedEarly ??= code
      })
      let stopped = false
      try {
        await until(() => logs.some((l) => l.message === 'workers started'), START_WITHIN_MS, 'start')
        const port = logs.find((l) => l.message === 'workers started')?.['port'] as number
        const base = `http://127.0.0.1:${port}`

        const tokenProc = Bun.spawn(['bun', 'run', 'token', 'memory@example.com'], {
          cwd: ROOT,
          env,
          stdout: 'pipe',
          stderr: 'pipe',
        })
        const token = (await new Response(tokenProc.stdout).text()).trim().split('\n').at(-1) ?? ''
        expect(await tokenProc.exited).toBe(0)
        const auth = { authorization: `Bearer ${token}` }
        expect((await fetch(`${base}/api/v1/me`, { headers: auth })).status).toBe(200)

        const outcomes: Outcome[] = []
        let loading = true
        const loop = async (loop: number) => {
          const newConnection = loop >= KEEP_ALIVE_LOOPS
          for (let i = 0; loading; i++) {
            const pathname = i % 2 === 0 ? '/health' : '/api/v1/me'
            const outcome: Outcome = { loop, path: pathname, newConnection }
            outcomes.push(outcome)
            try {
              const res = await fetch(`${base}${pathname}`, {
                headers: {
                  ...(pathname === '/health' ? {} : auth),
                  connection: newConnection ? 'close' : 'keep-alive',
                },
              })
              await res.arrayBuffer()
              outcome.status = res.status
            } catch (error) {
              outcome.error = String((error as { code?: unknown }).code ?? error)
              outcome.failedAt = Date.now()
            }
          }
        }
        const loops = Promise.all(Array.from({ length: LOOPS }, (_, i) => loop(i)))

        const drained = () => logs.filter((l) => l.message === 'replaced worker drained and exited')
        await until(() => drained().length >= REPLACEMENTS, REPLACED_WITHIN_MS, 'replacements').finally(
          () => {
            loading = false
          },
        )
        await loops
        const stillRunning = exitedEarly === undefined
        supervisor.stop('SIGTERM')
        stopped = true
        const code = await Promise.race([supervisor.exited, Bun.sleep(15_000).then(() => 'hung')])

        const warned = logs.filter((l) => l.level === 'warn' && l.message === REPLACING)
        const handovers = logs.filter(
          (l) => l.message === 'replacement worker listening; draining the old one',
        )
        const handoverTimes = handovers.map((l) => Date.parse(String(l.timestamp)))
        const answered = outcomes.filter((o) => o.status !== undefined)
        const failed = outcomes.filter((o) => o.error !== undefined)
        const summary = (newConnection: boolean) => {
          const list = outcomes.filter((o) => o.newConnection === newConnection)
          const errors = list.flatMap((o) => (o.error === undefined ? [] : [o.error]))
          return `${list.length} requests, ${errors.length} failed${errors.length ? ` (${[...new Set(errors)].join(', ')})` : ''}`
        }
        console.info(
          `memory replacement under load: ${outcomes.length} requests, ${answered.filter((o) => o.status === 200).length} answered 200, ` +
            `${answered.filter((o) => o.status !== 200).length} other answers, ${failed.length} failed ` +
            `[kept-alive connections: ${summary(false)}; a connection per request: ${summary(true)}] ` +
            `(net.ipv4.tcp_migrate_req=${migrates ? 1 : 0}); ${warned.length} replacements started, ${drained().length} drained, ` +
            `rss ${warned.map((l) => l['rssMb']).join('/')} MB over ${LIMIT_MB} MB; ${Math.round(performance.now() - started)} ms`,
        )

        // Every request answered was answered 200, on both routes.
        expect(answered.filter((o) => o.status !== 200)).toEqual([])
        expect(answered.length).toBeGreaterThan(LOOPS * 20)
        expect(new Set(answered.map((o) => o.path))).toEqual(new Set(['/health', '/api/v1/me']))
        if (migrates) {
          // The kernel hands connections queued on a closing listener to the others: no request fails at all.
          expect(failed).toEqual([])
        } else {
          // Otherwise it resets the new connections still queued on the drained worker's socket as that closes
          // (the supervisor warns about it at start). Only those may fail: as resets, at a hand-over, never between.
          expect(logs.some((l) => l.level === 'warn' && l['sysctl'] === 'net.ipv4.tcp_migrate_req')).toBe(
            true,
          )
          for (const outcome of failed) {
            expect(outcome.error).toBe('ECONNRESET')
            const at = outcome.failedAt ?? 0
            expect(handoverTimes.some((t) => at >= t && at - t < 1_500)).toBe(true)
          }
          expect(failed.length).toBeLessThanOrEqual(3 * handovers.length)
        }

        // Each replacement is announced with the worker, its memory and the limit; both workers were replaced.
        expect(warned.length).toBeGreaterThanOrEqual(REPLACEMENTS)
        for (const line of warned) {
          expect(line['rssMb'] as number).toBeGreaterThan(LIMIT_MB)
          expect(line['limitMb']).toBe(LIMIT_MB)
        }
        expect(new Set(warned.map((l) => l['worker']))).toEqual(new Set([1, 2]))
        // A new process took over each time, and the old one drained and exited 0.
        const pids = handovers.flatMap((l) => [l['pid'], l['draining']])
        expect(handovers.every((l) => l['pid'] !== l['draining'])).toBe(true)
        expect(new Set(handovers.map((l) => l['pid'])).size).toBe(handovers.length)
        expect(new Set(drained().map((l) => l['pid']))).toEqual(
          new Set(handovers.slice(0, drained().length).map((l) => l['draining'])),
        )

        // One replacement at a time, each worker at most once per interval: never a loop.
        const events = logs.filter((l) => warned.includes(l) || drained().includes(l))
        events.forEach((line, i) => {
          expect(line.message === 'replaced worker drained and exited' ? 'drained' : 'warn').toBe(
            i % 2 === 0 ? 'warn' : 'drained',
          )
        })
        for (const worker of [1, 2]) {
          const times = warned
            .filter((l) => l['worker'] === worker)
            .map((l) => Date.parse(String(l.timestamp)))
          for (let i = 1; i < times.length; i++) {
            expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(REPLACE_AT_MOST_EVERY_MS)
          }
        }

        // Replacements are not crashes: no restart, no crash loop; the supervisor ran on and stops cleanly.
        expect(stillRunning).toBe(true)
        expect(logs.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([])
        expect(code).toBe(0)
        for (const pid of pids) expect(isAlive(pid as number)).toBe(false)
      } finally {
        if (!stopped) supervisor.stop('SIGKILL')
      }
    },
    90_000,
  )
})
