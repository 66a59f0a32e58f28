/**
 * The load generator of bench/run.ts, in a process of its own: autocannon against 127.0.0.1, one scenario per
 * invocation, for a bounded time. Reads a JSON `LoadSpec` from the file named by its first argument and
 * writes a `LoadResult` to the file named by its second. Latency percentiles are computed from every
 * response's own time (autocannon's histogram reports whole milliseconds and no p95). Prints `measuring` when
 * the measured run starts and `measured` when it ends, so that the caller can account CPU to that window.
 *
 *   bun bench/load.ts spec.json result.json
 */
import { readFileSync, writeFileSync } from 'node:fs'
import autocannon from 'autocannon'

export interface LoadRequest {
  method: 'GET' | 'POST'
  path: string
  headers?: Record<string, string>
  body?: string
}

export interface LoadSpec {
  label: string
  /** Base URL; must be on the loopback interface. */
  url: string
  connections: number
  durationSeconds: number
  /** Load before the measured run, not recorded. */
  warmupSeconds: number
  requests: LoadRequest[]
  /** `cycle` goes round the list; `once` uses each request at most once and stops when they run out. */
  order: 'cycle' | 'once'
}

export interface LoadResult {
  label: string
  connections: number
  seconds: number
  responses: number
  rps: number
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number }
  statuses: Record<string, number>
  errors: number
  timeouts: number
  /** `once` lists that ran out before the time was up. */
  exhausted: boolean
  /** CPU seconds this process used during the measured run. */
  cpuSeconds: number
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

async function run(spec: LoadSpec, next: () => LoadRequest | undefined, seconds: number, record: boolean) {
  const latencies: number[] = []
  const statuses: Record<string, number> = {}
  let exhausted = false
  let settle: (outcome: { error?: Error; result?: autocannon.Result }) => void = () => {}
  const finished = new Promise<{ error?: Error; result?: autocannon.Result }>((resolve) => {
    settle = resolve
  })
  const options: autocannon.Options = {
    url: spec.url,
    connections: spec.connections,
    duration: seconds,
    timeout: 30,
    requests: [
      {
        setupRequest: (request) => {
          let chosen = next()
          if (!chosen) {
            exhausted = true
            setImmediate(() => instance.stop())
            chosen = spec.requests.at(-1)!
          }
          return {
            ...request,
            method: chosen.method,
            path: chosen.path,
            headers: chosen.headers ?? {},
            ...(chosen.body === undefined ? {} : { body: chosen.body }),
          }
        },
      },
    ],
  }
  const instance = autocannon(options, (error, result) => settle({ error, result }))
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (!record) return
    latencies.push(responseTime)
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1
  })
  const started = performance.now()
  const { error, result } = await finished
  const elapsed = (performance.now() - started) / 1000
  if (error || !result) throw error ?? new Error('autocannon gave no result')
  return { latencies, statuses, elapsed, result, exhausted }
}

async function main() {
  const [specFile, resultFile] = process.argv.slice(2)
  if (!specFile || !resultFile) throw new Error('usage: bun bench/load.ts spec.json result.json')
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as LoadSpec
  if (!LOOPBACK.has(new URL(spec.url).hostname))
    throw new Error(`refusing a non-loopback target: ${spec.url}`)
  if (spec.requests.length === 0) throw new Error('no requests')

  let index = 0
  const next = () => {
    if (spec.order === 'once') return spec.requests[index++]
    const request = spec.requests[index % spec.requests.length]!
    index++
    return request
  }

  if (spec.warmupSeconds > 0) await run(spec, next, spec.warmupSeconds, false)
  console.log('measuring')
  const cpu = process.cpuUsage()
  const measured = await run(spec, next, spec.durationSeconds, true)
  const used = process.cpuUsage(cpu)
  console.log('measured')
  const sorted = Float64Array.from(measured.latencies).sort()
  const mean = sorted.reduce((sum, ms) => sum + ms, 0) / Math.max(1, sorted.length)
  const result: LoadResult = {
    label: spec.label,
    connections: spec.connections,
    seconds: measured.elapsed,
    responses: sorted.length,
    rps: sorted.length / measured.elapsed,
    latencyMs: {
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? Number.NaN,
      mean,
    },
    statuses: measured.statuses,
    errors: measured.result.errors,
    timeouts: measured.result.timeouts,
    exhausted: measured.exhausted,
    cpuSeconds: (used.user + used.system) / 1e6,
  }
  writeFileSync(resultFile, JSON.stringify(result))
}

if (import.meta.main) await main()
