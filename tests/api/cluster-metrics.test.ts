import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { LogLine } from '../helpers/app'
import { ROOT, readLines, serverEnv } from '../helpers/server-process'

setDefaultTimeout(60_000)

const usesPostgres = process.env['TEST_DATABASE_EMBEDDED'] !== '1'
const TOKEN = 'cluster-scrape-secret-1'
const REQUESTS = 40
const SCRAPES = 6

interface Server {
  proc: Bun.Subprocess<'ignore', 'pipe', 'inherit'>
  lines: LogLine[]
  reading: Promise<void>
}

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function spawnServer(extra: Record<string, string>): Server {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'invoice-api-cluster-metrics-'))
  dirs.push(dataDir)
  const proc = Bun.spawn(['bun', 'src/index.ts'], {
    cwd: ROOT,
    env: serverEnv({
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'info',
      RATE_LIMIT_PER_MINUTE: '1000000',
      WEB_CONCURRENCY: '2',
      DATABASE_URL: process.env['TEST_DATABASE_URL'] ?? '',
      DB_POOL_MIN: '1',
      DB_POOL_MAX: '2',
      ...extra,
    }),
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const lines: LogLine[] = []
  const reading = readLines(proc.stdout, (line) => lines.push(JSON.parse(line) as LogLine))
  return { proc, lines, reading }
}

async function until<T>(read: () => T | undefined, ms: number, what: string): Promise<T> {
  const started = performance.now()
  for (;;) {
    const value = read()
    if (value !== undefined) return value
    if (performance.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`)
    await Bun.sleep(20)
  }
}

/** Both workers listening: the shared API port and their pids. */
async function workersListening(server: Server): Promise<{ port: number; pids: Map<number, number> }> {
  const listening = (worker: number) =>
    server.lines.find(
      (l) => l['worker'] === worker && typeof l['port'] === 'number' && l.message?.includes('listening'),
    )
  const first = await until(() => listening(1), 30_000, 'worker 1 listening')
  const second = await until(() => listening(2), 30_000, 'worker 2 listening')
  return {
    port: first['port'] as number,
    pids: new Map([
      [1, first['pid'] as number],
      [2, second['pid'] as number],
    ]),
  }
}

/** One sample line: its name, its labels as written, its value. */
interface Sample {
  name: string
  labels: string
  value: number
}

function samples(text: string): Sample[] {
  return text.split('\n').flatMap((line) => {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line)
    return match ? [{ name: match[1]!, labels: match[2] ?? '', value: Number(match[3]) }] : []
  })
}

const sum = (list: Sample[]) => list.reduce((total, s) => total + s.value, 0)

async function scrape(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<string> {
  const res = await fetch(url, {
    headers: { connection: 'close', ...headers },
    signal: AbortSignal.timeout(timeoutMs),
  })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toContain('text/plain')
  return res.text()
}

/** Every family's HELP and TYPE once, and every sample under the TYPE of its family. */
function expectWellFormed(text: string): void {
  const comments = text.split('\n').filter((l) => l.startsWith('# '))
  const types = comments.filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2])
  const helps = comments.filter((l) => l.startsWith('# HELP ')).map((l) => l.split(' ')[2])
  expect(types.length).toBeGreaterThan(20)
  expect(new Set(types).size).toBe(types.length)
  expect(new Set(helps).size).toBe(helps.length)
  // A family's samples are grouped: once another family began, none of the earlier ones comes back.
  const seen: string[] = []
  let current = ''
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      current = line.split(' ')[2]!
      seen.push(current)
    } else if (line !== '' && !line.startsWith('#')) {
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]
      expect({ line, family: name.startsWith(current) }).toEqual({ line, family: true })
    }
  }
}

const health = async (port: number) => {
  const res = await fetch(`http://127.0.0.1:${port}/health`, { headers: { connection: 'close' } })
  await res.arrayBuffer()
  return res.status
}

describe('/metrics with WEB_CONCURRENCY=2', () => {
  test.if(usesPostgres)(
    'when requests spread over both workers and /metrics is scraped again and again on the API port, then every scrape has both workers labelled, the requests counted once each, counters that never go down, and one TYPE per family',
    async () => {
      const server = spawnServer({ METRICS_TOKEN: TOKEN })
      try {
        const { port } = await workersListening(server)
        for (let i = 0; i < REQUESTS; i++) expect(await health(port)).toBe(200)
        const answeredBy = new Set(
          server.lines
            .filter((l) => l.message === 'request' && l['path'] === '/health')
            .map((l) => l['worker']),
        )
        expect([...answeredBy].sort()).toEqual([1, 2])

        const url = `http://127.0.0.1:${port}/metrics`
        const auth = { authorization: `Bearer ${TOKEN}` }
        // Requests are counted just after their answer: scrape until all of them show.
        let scrapes = 0
        const healthCount = (text: string) =>
          sum(
            samples(text).filter(
              (s) => s.name === 'http_requests_total' && s.labels.includes('route="/health"'),
            ),
          )
        let text = ''
        for (let i = 0; i < 100 && healthCount(text) !== REQUESTS; i++) {
          if (i > 0) await Bun.sleep(20)
          text = await scrape(url, auth)
          scrapes++
        }
        expect(healthCount(text)).toBe(REQUESTS)

        let previous = new Map<string, number>()
        for (let i = 0; i < SCRAPES; i++) {
          text = await scrape(url, auth)
          const done = scrapes
          scrapes++
          expectWellFormed(text)
          const all = samples(text)
          // Every series of a worker is labelled with it; only the supervisor's own are not per worker.
          for (const s of all) {
            if (!s.name.startsWith('cluster_')) expect(s.labels).toMatch(/^\{worker="[12]"/)
          }
          const requests = all.filter((s) => s.name === 'http_requests_total')
          for (const worker of ['1', '2']) {
            expect(requests.some((s) => s.labels.includes(`worker="${worker}"`))).toBe(true)
            const rss = all.filter(
              (s) => s.name === 'process_resident_memory_bytes' && s.labels === `{worker="${worker}"}`,
            )
            expect(rss).toHaveLength(1)
            expect(rss[0]!.value).toBeGreaterThan(10 * 1024 * 1024)
            expect(rss[0]!.value).toBeLessThan(2 * 1024 * 1024 * 1024)
          }
          expect(healthCount(text)).toBe(REQUESTS)
          // The scrapes are requests too, each counted once it was answered (the one before may still be on its way).
          const metricsCount = sum(requests.filter((s) => s.labels.includes('route="/metrics"')))
          expect(metricsCount).toBeLessThanOrEqual(done)
          expect(metricsCount).toBeGreaterThanOrEqual(done - 1)
          expect(sum(requests)).toBe(REQUESTS + metricsCount)
          expect(all.filter((s) => s.name === 'cluster_scrape_failures_total').map((s) => s.value)).toEqual([
            0, 0,
          ])
          // No counter goes down or disappears from one scrape to the next.
          const counters = new Map(
            all
              .filter((s) => s.name.endsWith('_total') || s.name.endsWith('_count'))
              .map((s) => [`${s.name}${s.labels}`, s.value]),
          )
          for (const [series, value] of previous) {
            expect({ series, value: counters.get(series) ?? -1 }).toMatchObject({ series })
            expect(counters.get(series)!).toBeGreaterThanOrEqual(value)
          }
          previous = counters
        }
        expect(text).toContain('# TYPE http_requests_total counter')
        expect(text).toContain('# TYPE process_resident_memory_bytes gauge')
        expect((await fetch(url)).status).toBe(401)

        server.proc.kill('SIGTERM')
        expect(await server.proc.exited).toBe(0)
        await server.reading
      } finally {
        server.proc.kill('SIGKILL')
      }
    },
  )

  test.if(usesPostgres)(
    'when /metrics is on METRICS_PORT and a worker is stuck, then each scrape has both workers, and while one does not answer the scrape comes within the timeout without it and counts the failure',
    async () => {
      const probe = Bun.serve({ port: 0, fetch: () => new Response() })
      const metricsPort = probe.port!
      await probe.stop(true)
      const server = spawnServer({ METRICS_PORT: String(metricsPort) })
      try {
        const { port, pids } = await workersListening(server)
        for (let i = 0; i < 10; i++) expect(await health(port)).toBe(200)
        expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404)
        const url = `http://127.0.0.1:${metricsPort}/metrics`
        for (let i = 0; i < 4; i++) {
          const text = await scrape(url)
          expectWellFormed(text)
          for (const worker of ['1', '2']) {
            expect(text).toMatch(
              new RegExp(`^process_resident_memory_bytes\\{worker="${worker}"\\} \\d+$`, 'm'),
            )
          }
        }

        const stuck = pids.get(2)!
        process.kill(stuck, 'SIGSTOP')
        try {
          // Connections the kernel gives the stopped worker wait; those given worker 1 are answered.
          let text: string | undefined
          for (let i = 0; i < 20 && text === undefined; i++) {
            const asked = performance.now()
            text = await scrape(url, {}, 5_000).catch(() => undefined)
            if (text !== undefined) expect(performance.now() - asked).toBeLessThan(4_000)
          }
          expect(text).toBeDefined()
          expectWellFormed(text!)
          expect(text).toMatch(/^process_resident_memory_bytes\{worker="1"\} \d+$/m)
          expect(text).not.toContain('worker="2",')
          expect(text).not.toMatch(/^process_resident_memory_bytes\{worker="2"\}/m)
          expect(text).toMatch(/^cluster_scrape_failures_total\{worker="2"\} [1-9]\d*$/m)
          expect(text).toMatch(/^cluster_scrape_failures_total\{worker="1"\} 0$/m)
          expect(server.lines.some((l) => l.message === 'worker metrics missing from the scrape')).toBe(true)
        } finally {
          process.kill(stuck, 'SIGCONT')
        }
        const text = await scrape(url)
        expect(text).toMatch(/^process_resident_memory_bytes\{worker="2"\} \d+$/m)

        server.proc.kill('SIGTERM')
        expect(await server.proc.exited).toBe(0)
        await server.reading
      } finally {
        server.proc.kill('SIGKILL')
      }
    },
  )
})
