import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startSupervisor } from '../../src/cluster'
import { createLogger } from '../../src/lib/logger'
import type { LogLine } from '../helpers/app'
import { ROOT, serverEnv } from '../helpers/server-process'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

const usesPostgres = process.env['TEST_DATABASE_EMBEDDED'] !== '1'
const START_WITHIN_MS = 60_000
const STOP_WITHIN_MS = 15_000

interface Server {
  proc: Bun.Subprocess<'ignore', 'pipe', 'inherit'>
  lines: LogLine[]
  reading: Promise<void>
  /** Resolves with the first log line that matches, or rejects after `ms`. */
  waitFor(match: (line: LogLine) => boolean, ms?: number): Promise<LogLine>
}

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function spawnServer(extra: Record<string, string>): Server {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'invoice-api-cluster-'))
  dirs.push(dataDir)
  const proc = Bun.spawn(['bun', 'src/index.ts'], {
    cwd: ROOT,
    env: serverEnv({
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'info',
      RATE_LIMIT_PER_MINUTE: '1000000',
      ...extra,
    }),
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const lines: LogLine[] = []
  const waiters = new Set<() => void>()
  const reading = (async () => {
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of proc.stdout) {
      buffer += decoder.decode(chunk, { stream: true })
      let newline = buffer.indexOf('\n')
      while (newline !== -1) {
        lines.push(JSON.parse(buffer.slice(0, newline)) as LogLine)
        buffer = buffer.slice(newline + 1)
        newline = buffer.indexOf('\n')
      }
      for (const wake of waiters) wake()
    }
  })()
  const waitFor = (match: (line: LogLine) => boolean, ms = START_WITHIN_MS) =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const line = lines.find(match)
        if (!line) return
        cleanup()
        resolve(line)
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`no matching log line within ${ms} ms`))
      }, ms)
      const cleanup = () => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })
  return { proc, lines, reading, waitFor }
}

const isListening = (line: LogLine) =>
  typeof line['port'] === 'number' && line.message?.includes('listening') === true

/** A request on a connection of its own, so that the kernel picks a worker for each. */
async function get(port: number, requestId: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/health`, {
    headers: { connection: 'close', 'x-request-id': requestId },
  })
  await res.arrayBuffer()
  return res.status
}

/** Sends requests until their access-log lines name `enough` distinct workers; bounded in count. */
async function workersAnswering(server: Server, port: number, enough: (workers: Set<unknown>) => boolean) {
  const ids = new Set<string>()
  for (let i = 0; i < 200; i++) {
    const id = crypto.randomUUID()
    ids.add(id)
    expect(await get(port, id)).toBe(200)
    await Bun.sleep(5)
    const workers = new Set(
      server.lines
        .filter((l) => l.message === 'request' && ids.has(String(l['requestId'])))
        .map((l) => l['worker']),
    )
    if (enough(workers)) return workers
  }
  throw new Error('requests did not reach the expected workers')
}

async function until(condition: () => boolean, ms: number): Promise<void> {
  const started = performance.now()
  while (!condition()) {
    if (performance.now() - started > ms) throw new Error(`condition not met within ${ms} ms`)
    await Bun.sleep(20)
  }
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('WEB_CONCURRENCY', () => {
  test.if(usesPostgres)(
    'when WEB_CONCURRENCY=2 with PostgreSQL, then two workers answer on one port, a killed worker is restarted while requests keep succeeding, and SIGTERM stops them all with exit 0',
    async () => {
      const server = spawnServer({
        WEB_CONCURRENCY: '2',
        DATABASE_URL: process.env['TEST_DATABASE_URL'] ?? '',
        DB_POOL_MIN: '1',
        DB_POOL_MAX: '2',
      })
      try {
        const first = await server.waitFor((l) => isListening(l) && l['worker'] === 1)
        const second = await server.waitFor((l) => isListening(l) && l['worker'] === 2)
        const port = first['port'] as number
        expect(second['port']).toBe(port)
        expect(first['pid']).not.toBe(second['pid'])
        expect(first['pid']).not.toBe(server.proc.pid)
        expect(server.lines.filter((l) => l.message === 'migrations applied').length).toBeLessThanOrEqual(1)

        const answering = await workersAnswering(server, port, (workers) => workers.size === 2)
        expect([...answering].sort()).toEqual([1, 2])

        const victim = first['pid'] as number
        process.kill(victim, 'SIGKILL')
        await until(() => !isAlive(victim), 5_000)
        for (let i = 0; i < 40; i++) expect(await get(port, crypto.randomUUID())).toBe(200)

        const exit = await server.waitFor((l) => l.message === 'worker exited; restarting it')
        expect(exit).toMatchObject({ level: 'error', worker: 1, pid: victim, signal: 'SIGKILL' })
        const restarted = await server.waitFor(
          (l) => isListening(l) && l['worker'] === 1 && l['pid'] !== victim,
        )
        expect(restarted['port']).toBe(port)
        const before = server.lines.length
        await workersAnswering(server, port, () =>
          server.lines.slice(before).some((l) => l.message === 'request' && l['worker'] === 1),
        )

        server.proc.kill('SIGTERM')
        const code = await Promise.race([server.proc.exited, Bun.sleep(STOP_WITHIN_MS).then(() => 'hung')])
        expect(code).toBe(0)
        await server.reading
        const complete = server.lines.filter((l) => l.message === 'shutdown complete')
        expect(complete.map((l) => l['worker'] ?? 'supervisor').sort()).toEqual([1, 2, 'supervisor'])
        expect(isAlive(restarted['pid'] as number)).toBe(false)
        expect(isAlive(second['pid'] as number)).toBe(false)
      } finally {
        server.proc.kill('SIGKILL')
      }
    },
    120_000,
  )

  test('when WEB_CONCURRENCY=2 without DATABASE_URL, then the embedded database keeps it to one process and the log says why', async () => {
    const server = spawnServer({ WEB_CONCURRENCY: '2' })
    try {
      const listening = await server.waitFor(isListening)
      const reason = await server.waitFor(
        (l) => l.level === 'warn' && String(l.message).includes('WEB_CONCURRENCY'),
      )
      expect(reason['webConcurrency']).toBe(2)
      expect(String(reason.message)).toContain('PGlite')
      const port = listening['port'] as number
      for (let i = 0; i < 10; i++) expect(await get(port, crypto.randomUUID())).toBe(200)
      server.proc.kill('SIGTERM')
      expect(await server.proc.exited).toBe(0)
      await server.reading
      expect(server.lines.filter(isListening)).toHaveLength(1)
      expect(server.lines.some((l) => 'worker' in l || l.message === 'workers started')).toBe(false)
    } finally {
      server.proc.kill('SIGKILL')
    }
  }, 120_000)

  test('when a worker keeps crashing, then the supervisor restarts it with a growing delay and then gives up with exit code 1', async () => {
    const logs: LogLine[] = []
    const logger = createLogger(
      { logLevel: 'info', logPretty: false },
      {
        write(line: string) {
          logs.push(JSON.parse(line) as LogLine)
        },
      },
    )
    const started = performance.now()
    const supervisor = startSupervisor({
      workers: 1,
      port: 0,
      logger,
      shutdownTimeoutMs: 1_000,
      command: ['bun', '-e', 'process.exit(3)'],
      restartDelayMs: 20,
      maxRestarts: 3,
    })
    const code = await Promise.race([supervisor.exited, Bun.sleep(30_000).then(() => 'hung')])
    expect(code).toBe(1)
    const restarts = logs.filter((l) => l.message === 'worker exited; restarting it')
    expect(restarts.map((l) => l['restartInMs'])).toEqual([20, 40, 80])
    expect(restarts.every((l) => l['exitCode'] === 3)).toBe(true)
    expect(logs.find((l) => l.level === 'fatal')?.message).toBe(
      'worker keeps crashing; stopping every worker',
    )
    expect(performance.now() - started).toBeGreaterThanOrEqual(140)
  }, 60_000)
})
