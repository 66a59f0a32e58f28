/**
 * The benchmark suite. Starts the API (`bun src/index.ts`) and the raw floor (bench/floor.ts) on a seeded
 * database (bench/seed.ts), then drives each scenario with autocannon from a process of its own
 * (bench/load.ts), on 127.0.0.1 only, for a bounded time:
 *
 *   health                 GET /health
 *   get                    GET /api/v1/invoices/{id}, random ids of the busy user
 *   list                   GET /api/v1/invoices?limit=20, a mix of sorts, filters, searches and deep cursors
 *   summary, aging,        GET /api/v1/reports/… for the busy user (default period: the year to date)
 *   revenue
 *   create                 POST /api/v1/invoices with 10 items, spread over 64 other users
 *   send                   POST /api/v1/invoices/{id}/mark-as-sent on those drafts, round-robin over the users
 *   credit-note            POST /api/v1/invoices/{id}/credit-notes for the busy user: one unit of one line (of
 *                          quantity 2 or more) of a different issued, not yet credited invoice each time, at the
 *                          run's connections and then at one connection
 *
 * and, beside each read, the floor's answer to the same request in the same run. Then each list variant alone
 * and every API scenario again at one connection (service time rather than queueing), the peak RSS of the
 * API process (VmHWM), the CPU each process used, and a check that API and floor answer the same JSON.
 * A full run writes its tables into bench/RESULTS.md (between the generated-section markers).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/invoice_bench bun run bench
 *   … bun run bench --only get,list --duration 5           a part, printed only
 *   … bun run bench --profile --only get,list                the API under --cpu-prof; prints its hottest functions
 *
 * Options: --duration (12 s), --warmup (3 s), --connections (32), --variant-seconds (3), --light-seconds (5),
 * --log-level (warn), --only, --profile, --keep (keep the temporary directory: logs, profiles), --force (a
 * database whose name does not start with invoice_bench). BENCH_CODE, if set, describes the code measured (for
 * a tree that is not a git work tree). The run changes the database: `create` adds drafts
 * to the 64 users and `send` issues them; `credit-note` credits a unit of a few thousand of the busy user's
 * invoices (notes dated today, after every read scenario of the run); the rest of the busy user's data, which
 * every read uses, stays as seeded.
 */

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { signDevToken, stableSub } from '../src/lib/auth/dev-issuer'
import { summarize, toMarkdown } from './cpuprofile'
import { type ListVariant, listVariants } from './list-variants'
import type { LoadRequest, LoadResult, LoadSpec } from './load'
import { RESULTS_FILE, writeSection } from './results-file'
import { BUSY_EMAIL } from './seed'

const ROOT = join(import.meta.dir, '..')
const BEGIN = '<!-- bench/run.ts: generated section begins; a full run replaces it -->'
const END = '<!-- bench/run.ts: generated section ends -->'
const OTHER_USERS = 64
/** BUN_JSC_forceRAMSize of the container image. */
const CONTAINER_RAM_BYTES = 512 * 1024 * 1024
const SCENARIOS = [
  'health',
  'get',
  'list',
  'variants',
  'summary',
  'aging',
  'revenue',
  'create',
  'send',
  'credit-note',
  'light',
]
/** Invoices offered to `credit-note`: far more than either of its windows can use. */
const CREDIT_POOL = 20_000

type Sql = postgres.Sql<Record<string, never>>

interface Options {
  duration: number
  warmup: number
  connections: number
  variantSeconds: number
  lightSeconds: number
  logLevel: string
  only: Set<string>
  profile: boolean
  keep: boolean
  force: boolean
}

function parseOptions(): Options {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'variant-seconds': { type: 'string' },
      'light-seconds': { type: 'string' },
      'log-level': { type: 'string' },
      only: { type: 'string' },
      profile: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
    },
    strict: true,
  })
  const int = (name: string, raw: string | undefined, fallback: number, min: number, max: number) => {
    const value = raw === undefined ? fallback : Number(raw)
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name}: ${min}–${max}`)
    return value
  }
  const only = new Set((values.only ?? SCENARIOS.join(',')).split(',').map((s) => s.trim()))
  for (const name of only) if (!SCENARIOS.includes(name)) throw new Error(`--only: unknown scenario ${name}`)
  const logLevel = values['log-level'] ?? 'warn'
  if (!['warn', 'info', 'error'].includes(logLevel)) throw new Error('--log-level: warn, info or error')
  return {
    duration: int('duration', values.duration, 12, 1, 60),
    warmup: int('warmup', values.warmup, 3, 0, 30),
    connections: int('connections', values.connections, 32, 1, 256),
    variantSeconds: int('variant-seconds', values['variant-seconds'], 3, 1, 30),
    lightSeconds: int('light-seconds', values['light-seconds'], 5, 1, 30),
    logLevel,
    only,
    profile: values.profile ?? false,
    keep: values.keep ?? false,
    force: values.force ?? false,
  }
}

// ---------------------------------------------------------------------------------------------------------
// Processes, CPU and memory from /proc

function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = probe.port!
  probe.stop(true)
  return port
}

async function waitUntilReady(url: string, process: ReturnType<typeof Bun.spawn>) {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (process.exitCode !== null) throw new Error(`${url}: the process exited with ${process.exitCode}`)
    const ok = await fetch(url).then(
      (res) => res.ok,
      () => false,
    )
    if (ok) return
    await Bun.sleep(100)
  }
  throw new Error(`${url} did not become ready within 60 s`)
}

const CLOCK_TICKS = 100

/** Resident set size now and at its peak (kB), from /proc/<pid>/status. */
function memoryOf(pid: number): { rssKb: number; hwmKb: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN)
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') }
  } catch {
    return { rssKb: Number.NaN, hwmKb: Number.NaN }
  }
}

type CpuKind =
  | 'api'
  | 'floor'
  | 'load generator'
  | 'PostgreSQL (bench database)'
  | 'PostgreSQL (other)'
  | 'other'
const CPU_KINDS: CpuKind[] = [
  'api',
  'floor',
  'load generator',
  'PostgreSQL (bench database)',
  'PostgreSQL (other)',
  'other',
]

interface CpuSnapshot {
  at: number
  machineTicks: number
  byPid: Map<number, { ticks: number; kind: CpuKind }>
}

/** CPU ticks of every process, classified, and of the machine; Linux only. */
function cpuSnapshot(
  pids: { api?: number; floor?: number[]; driver?: number },
  database: string,
): CpuSnapshot {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/)
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number)
  const byPid = new Map<number, { ticks: number; kind: CpuKind }>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const pid = Number(entry)
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const ticks = Number(after[11]) + Number(after[12])
      let kind: CpuKind = 'other'
      if (pid === pids.api) kind = 'api'
      else if (pids.floor?.includes(pid)) kind = 'floor'
      else if (pid === pids.driver) kind = 'load generator'
      else if (comm === 'postgres') {
        const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
        kind = title.includes(` ${database} `) ? 'PostgreSQL (bench database)' : 'PostgreSQL (other)'
      }
      byPid.set(pid, { ticks, kind })
    } catch {
      // The process ended while we looked.
    }
  }
  return { at: performance.now(), machineTicks: user! + nice! + system! + irq! + softirq! + steal!, byPid }
}

type CpuUse = Record<CpuKind | 'machine', number>

/** Cores used by each kind of process between two snapshots. */
function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): CpuUse {
  const seconds = (after.at - before.at) / 1000
  const use = Object.fromEntries([...CPU_KINDS, 'machine'].map((k) => [k, 0])) as CpuUse
  for (const [pid, now] of after.byPid) {
    const then = before.byPid.get(pid)?.ticks ?? 0
    use[now.kind] += (now.ticks - then) / CLOCK_TICKS / seconds
  }
  use.machine = (after.machineTicks - before.machineTicks) / CLOCK_TICKS / seconds
  return use
}

const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number)

// ---------------------------------------------------------------------------------------------------------
// Driving a scenario

interface Measured {
  result: LoadResult
  cpu: CpuUse
  load1: number
  apiRssMaxKb: number
  apiHwmKb: number
}

interface Context {
  options: Options
  tmp: string
  database: string
  pids: { api: number; floor: number[] }
  /** Throws when a server process has exited: its numbers would be connection errors. */
  alive: () => void
  /** The highest VmHWM of every API process of the run (one is restarted if stopped from outside). */
  apiPeakKb: number
}

/** The API process ended during a scenario: stopped from outside (another user's kill), or crashed. */
class ApiGone extends Error {}

async function drive(context: Context, spec: LoadSpec): Promise<Measured> {
  const specFile = join(context.tmp, 'spec.json')
  const resultFile = join(context.tmp, 'result.json')
  writeFileSync(specFile, JSON.stringify(spec))
  rmSync(resultFile, { force: true })
  const driver = Bun.spawn(['bun', join(import.meta.dir, 'load.ts'), specFile, resultFile], {
    cwd: ROOT,
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const pids = { ...context.pids, driver: driver.pid }
  let before: CpuSnapshot | undefined
  let after: CpuSnapshot | undefined
  let load1 = Number.NaN
  let rssMax = 0
  const sample = () => {
    const memory = memoryOf(context.pids.api)
    rssMax = Math.max(rssMax, memory.rssKb || 0)
    context.apiPeakKb = Math.max(context.apiPeakKb, memory.hwmKb || 0)
  }
  let sampling: ReturnType<typeof setInterval> | undefined
  const limit = setTimeout(
    () => driver.kill('SIGKILL'),
    (spec.warmupSeconds + spec.durationSeconds + 60) * 1000,
  )

  const reader = driver.stdout.getReader()
  let buffered = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buffered += new TextDecoder().decode(value)
    let newline = buffered.indexOf('\n')
    while (newline !== -1) {
      const line = buffered.slice(0, newline).trim()
      buffered = buffered.slice(newline + 1)
      if (line === 'measuring') {
        before = cpuSnapshot(pids, context.database)
        sampling = setInterval(sample, 200)
      } else if (line === 'measured') {
        after = cpuSnapshot(pids, context.database)
        load1 = loadAverage()[0]!
        clearInterval(sampling)
      }
      newline = buffered.indexOf('\n')
    }
  }
  const exitCode = await driver.exited
  clearTimeout(limit)
  clearInterval(sampling)
  if (exitCode !== 0 || !before || !after)
    throw new Error(`${spec.label}: the load generator failed (${exitCode})`)
  context.alive()
  const result = JSON.parse(readFileSync(resultFile, 'utf8')) as LoadResult
  const cpu = cpuBetween(before, after)
  // The driver reports its own CPU; it has exited by the time of the second snapshot's reading of others.
  cpu['load generator'] = result.cpuSeconds / result.seconds
  sample()
  return { result, cpu, load1, apiRssMaxKb: rssMax, apiHwmKb: memoryOf(context.pids.api).hwmKb }
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(value < 10 ? 2 : 1) : '—')
const statusSummary = (result: LoadResult) => {
  const other = Object.entries(result.statuses).filter(([code]) => !code.startsWith('2'))
  const failures = result.errors + result.timeouts
  const parts = other.map(([code, n]) => `${n}×${code}`)
  if (failures) parts.push(`${failures} errors/timeouts`)
  return parts.length === 0 ? '0' : parts.join(', ')
}

function logLine(label: string, m: Measured) {
  const r = m.result
  console.log(
    `  ${label.padEnd(34)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${ms(r.latencyMs.p50).padStart(6)}  ` +
      `p95 ${ms(r.latencyMs.p95).padStart(6)}  p99 ${ms(r.latencyMs.p99).padStart(6)} ms  non-2xx ${statusSummary(r)}` +
      `  [api ${m.cpu.api.toFixed(2)}, pg ${m.cpu['PostgreSQL (bench database)'].toFixed(2)}, ` +
      `other ${(m.cpu.other + m.cpu['PostgreSQL (other)']).toFixed(2)} cores; load ${m.load1}]`,
  )
}

// ---------------------------------------------------------------------------------------------------------
// Requests

function shuffle<T>(values: T[], seed = 7): T[] {
  const out = [...values]
  let state = seed
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31
    const j = state % (i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

const ITEMS = Array.from({ length: 10 }, (_, i) => ({
  description: `Consulting, block ${i + 1}`,
  quantity: 1 + i / 4,
  unitPrice: 9_500 + i * 125,
  taxRate: 19,
}))

/** The first path at which two JSON values differ, for the parity check. */
function firstDifference(a: unknown, b: unknown, path = ''): string | undefined {
  if (Object.is(a, b)) return undefined
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return `${path || '/'}: ${JSON.stringify(a)} ≠ ${JSON.stringify(b)}`
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  for (const key of keys) {
    const found = firstDifference(
      (a as Record<string, unknown>)[key],
      (b as Record<string, unknown>)[key],
      `${path}/${key}`,
    )
    if (found) return found
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------------------
// Report

interface Row {
  id: string
  title: string
  /** Absent for a floor-only row. */
  api?: Measured
  floor?: Measured
}

interface Report {
  options: Options
  /** The commit measured, and the files of src/ and db/ that differed from it. */
  code: string
  machine: Record<string, string>
  data: string
  parity: string
  rows: Row[]
  variants: { variant: ListVariant; api: Measured; floor: Measured }[]
  light: Row[]
  sendDrafts: string
  creditNotes: string
  /** Scenarios during which the API process ended and was started again. */
  interruptions: string[]
  finalHwmKb: number
  loadBefore: number[]
  loadAfter: number[]
  started: Date
  command: string
  profile?: string
}

const mb = (kb: number) => (Number.isFinite(kb) ? `${(kb / 1024).toFixed(0)} MB` : '—')
const rate = (m?: Measured) => (m ? m.result.rps.toFixed(0) : '—')
const triple = (m?: Measured) =>
  m ? `${ms(m.result.latencyMs.p50)} / ${ms(m.result.latencyMs.p95)} / ${ms(m.result.latencyMs.p99)}` : '—'

function targets(report: Report): string[][] {
  const row = (id: string) => report.rows.find((r) => r.id === id)
  const light = (id: string) => report.light.find((r) => r.id === id)
  const yes = (ok: boolean | undefined) => (ok === undefined ? 'not run' : ok ? '**met**' : '**missed**')
  // A scenario whose requests never completed has no latency (null), which must not read as fast.
  const under = (m: Measured | undefined, key: 'p95' | 'p99', limit: number) => {
    if (!m) return undefined
    const value = m.result.latencyMs[key]
    return m.result.rps > 0 && typeof value === 'number' && Number.isFinite(value) && value < limit
  }
  const out: string[][] = []
  const get = row('get')
  if (get?.api && get.floor) {
    const ratio = get.api.result.rps / get.floor.result.rps
    out.push([
      'GET invoice ≥ 60 % of the floor, p99 < 50 ms, 32 connections',
      `${(ratio * 100).toFixed(0)} % of the floor, p99 ${ms(get.api.result.latencyMs.p99)} ms`,
      yes(ratio >= 0.6 && under(get.api, 'p99', 50)),
    ])
  }
  const list = row('list')
  if (list?.api && list.floor) {
    const ratio = list.api.result.rps / list.floor.result.rps
    out.push([
      'list ≥ 40 % of its floor (mix, 32 connections)',
      `${(ratio * 100).toFixed(0)} %`,
      yes(ratio >= 0.4),
    ])
  }
  if (report.variants.length > 0) {
    const worst = report.variants.reduce((a, b) =>
      b.api.result.latencyMs.p95 > a.api.result.latencyMs.p95 ? b : a,
    )
    const over = report.variants.filter((v) => v.api.result.latencyMs.p95 >= 10)
    out.push([
      'list p95 < 10 ms for the busy user, every filter/sort/depth (each alone, 1 connection)',
      `worst: ${worst.variant.label}, p95 ${ms(worst.api.result.latencyMs.p95)} ms; ${over.length} of ${report.variants.length} variants at or over 10 ms`,
      yes(over.length === 0),
    ])
    if (list?.api) {
      out.push([
        '… the same under the 32-connection mix',
        `p95 ${ms(list.api.result.latencyMs.p95)} ms`,
        yes(under(list.api, 'p95', 10)),
      ])
    }
  }
  for (const id of ['summary', 'aging', 'revenue']) {
    const r = row(id)?.api ? row(id) : undefined
    const l = light(id)?.api ? light(id) : undefined
    if (!r && !l) continue
    out.push([
      `report ${id} p95 < 50 ms`,
      `32 connections: ${r?.api ? ms(r.api.result.latencyMs.p95) : '—'} ms; 1 connection: ${l?.api ? ms(l.api.result.latencyMs.p95) : '—'} ms`,
      `${yes(under(r?.api, 'p95', 50))} at 32, ${yes(under(l?.api, 'p95', 50))} at 1`,
    ])
  }
  const send = row('send')?.api
  const sendLight = light('send')?.api
  if (send || sendLight) {
    out.push([
      'mark-as-sent p95 < 100 ms',
      `32 connections: ${send ? ms(send.result.latencyMs.p95) : '—'} ms; 1 connection: ${sendLight ? ms(sendLight.result.latencyMs.p95) : '—'} ms`,
      `${yes(under(send, 'p95', 100))} at 32, ${yes(under(sendLight, 'p95', 100))} at 1`,
    ])
  }
  out.push(['API RSS < 250 MB', `peak ${mb(report.finalHwmKb)} (VmHWM)`, yes(report.finalHwmKb < 250 * 1024)])
  return out
}

function table(header: string[], rows: string[][], align?: string[]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${(align ?? header.map(() => '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')
}

function render(report: Report): string {
  const o = report.options
  const cpuRow = (label: string, m: Measured) => [
    label,
    ...(['api', 'floor', 'PostgreSQL (bench database)', 'load generator'] as const).map((k) =>
      m.cpu[k].toFixed(2),
    ),
    (m.cpu.other + m.cpu['PostgreSQL (other)']).toFixed(2),
    m.cpu.machine.toFixed(2),
    String(m.load1),
  ]
  const others = [...report.rows, ...report.light].flatMap((r) => [
    ...(r.api ? [r.api] : []),
    ...(r.floor ? [r.floor] : []),
  ])
  const otherCores = others.map((m) => m.cpu.other + m.cpu['PostgreSQL (other)'])
  const sections = [
    BEGIN,
    `## Run of ${report.started.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- Machine: ${report.machine['cores']} cores (${report.machine['cpu']}), ${report.machine['memory']} memory; ` +
      `Bun ${report.machine['bun']}; ${report.machine['postgres']} (shared_buffers ${report.machine['sharedBuffers']}, ` +
      `work_mem ${report.machine['workMem']}).`,
    `- Shared machine: load average ${report.loadBefore.join(' / ')} (1/5/15 min) before the run, ` +
      `${report.loadAfter.join(' / ')} after; processes other than ours (test suites and their PostgreSQL ` +
      `connections) used ${(Math.min(...otherCores) || 0).toFixed(2)}–${(Math.max(...otherCores) || 0).toFixed(2)} ` +
      'cores during the measured windows (table "CPU" below).',
    `- Code: ${report.code}`,
    `- Data: ${report.data}`,
    `- API: \`bun src/index.ts\`, one process (WEB_CONCURRENCY=1), NODE_ENV=development, LOG_LEVEL=${o.logLevel} ` +
      '(no access-log lines at warn; warnings and errors only), RATE_LIMIT_PER_MINUTE=1000000, DB pool 5–20, ' +
      'BUN_JSC_forceRAMSize=512 MB as in the container image (the GC sized for the 512 MB machine of fly.toml), ' +
      'no COGNITO_* (development issuer, tokens signed for the seeded emails), S3_BUCKET unset: PDFs on local ' +
      'disk under a temporary DATA_DIR.' +
      (o.profile ? ' **Under `--cpu-prof`: latencies include the profiler.**' : ''),
    '- Floor: `bun bench/floor.ts`, `Bun.serve` + postgres.js (pool 20, prepared statements; list queries planned ' +
      'for their own parameters, `plan_cache_mode = force_custom_plan`), the same SQL and JSON for the busy user, ' +
      'no authentication, validation or logging.',
    `- Load: autocannon 9.0.0 in its own process (\`bun bench/load.ts\`), ${o.connections} connections, ` +
      `${o.warmup} s warm-up then ${o.duration} s measured per scenario, on 127.0.0.1. Latencies are each ` +
      "response's own time, percentiles over all responses of the measured window.",
    `- Parity: ${report.parity}`,
    ...(report.interruptions.length > 0
      ? [
          `- **The API process was stopped from outside during ${report.interruptions.join('; ')}**; it was started ` +
            'again and the scenario repeated (the peak RSS is the highest of all its processes).',
        ]
      : []),
    `- Command: \`${report.command}\``,
    '',
    `### Throughput and latency, ${o.connections} connections`,
    '',
    table(
      [
        'scenario',
        'API req/s',
        'API p50 / p95 / p99 ms',
        'floor req/s',
        'floor p50 / p95 / p99 ms',
        'API ÷ floor',
        'non-2xx',
      ],
      report.rows.map((r) => [
        r.title,
        rate(r.api),
        triple(r.api),
        rate(r.floor),
        triple(r.floor),
        r.api && r.floor ? `${((r.api.result.rps / r.floor.result.rps) * 100).toFixed(0)} %` : '—',
        r.api ? statusSummary(r.api.result) : '—',
      ]),
      ['---', '---:', '---:', '---:', '---:', '---:', '---'],
    ),
    '',
    report.sendDrafts,
    ...(report.creditNotes ? ['', report.creditNotes] : []),
  ]
  if (report.variants.length > 0) {
    sections.push(
      '',
      `### The list, each variant alone (busy user, 100,000 invoices; 1 connection, ${o.variantSeconds} s each)`,
      '',
      table(
        [
          'variant',
          'API req/s',
          'API p50 / p95 / p99 ms',
          'floor req/s',
          'floor p50 / p95 / p99 ms',
          'p95 < 10 ms',
        ],
        report.variants.map((v) => [
          v.variant.label,
          rate(v.api),
          triple(v.api),
          rate(v.floor),
          triple(v.floor),
          v.api.result.latencyMs.p95 < 10 ? 'yes' : '**no**',
        ]),
        ['---', '---:', '---:', '---:', '---:', '---'],
      ),
    )
  }
  if (report.light.length > 0) {
    sections.push(
      '',
      `### Light load: 1 connection, ${o.lightSeconds} s (service time without queueing)`,
      '',
      table(
        ['scenario', 'API req/s', 'API p50 / p95 / p99 ms', 'floor req/s', 'floor p50 / p95 / p99 ms'],
        report.light.map((r) => [r.title, rate(r.api), triple(r.api), rate(r.floor), triple(r.floor)]),
        ['---', '---:', '---:', '---:', '---:'],
      ),
    )
  }
  sections.push(
    '',
    '### CPU during the measured windows (cores; the machine has 2)',
    '',
    table(
      [
        'window',
        'API',
        'floor',
        'PostgreSQL (bench db)',
        'load generator',
        'everything else',
        'machine',
        'load avg 1 min',
      ],
      [
        ...report.rows.flatMap((r) => [
          ...(r.api ? [cpuRow(`${r.title} (API)`, r.api)] : []),
          ...(r.floor ? [cpuRow(`${r.title} (floor)`, r.floor)] : []),
        ]),
        ...report.light.flatMap((r) => (r.api ? [cpuRow(`${r.title}, 1 connection (API)`, r.api)] : [])),
      ],
      ['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
    ),
    '',
    '### Memory of the API process',
    '',
    table(
      ['after', 'RSS max in window', 'peak RSS so far (VmHWM)'],
      report.rows.flatMap((r) => (r.api ? [[r.title, mb(r.api.apiRssMaxKb), mb(r.api.apiHwmKb)]] : [])),
      ['---', '---:', '---:'],
    ),
    '',
    `Peak RSS of the API over the whole run: **${mb(report.finalHwmKb)}**.`,
    '',
    '### Targets',
    '',
    table(['target', 'measured', 'verdict'], targets(report)),
  )
  if (report.profile) sections.push('', '### CPU profile of the API (this run)', '', report.profile)
  sections.push(END)
  return sections.join('\n')
}

const writeResults = (section: string) => writeSection(BEGIN, END, section)

// ---------------------------------------------------------------------------------------------------------

/**
 * `abc1234` (and the uncommitted files of src/ and db/, if any): what the API ran. BENCH_CODE names it when
 * the tree is not a git work tree (an export of a commit, `git archive`).
 */
function codeVersion(): string {
  const named = process.env['BENCH_CODE']
  if (named) return named
  const git = (...args: string[]) =>
    Bun.spawnSync(['git', ...args], { cwd: ROOT, stdout: 'pipe', stderr: 'ignore' }).stdout.toString()
  const commit = git('log', '-1', '--format=%h %s').trim()
  // Porcelain lines are two status columns, a space and the path: cut them before any trimming.
  const dirty = git('status', '--porcelain', '--', 'src', 'db')
    .split('\n')
    .filter((line) => line.length > 3)
    .map((line) => line.slice(3))
  const head = commit
    ? `commit \`${commit.slice(0, commit.indexOf(' '))}\` (${commit.slice(commit.indexOf(' ') + 1)})`
    : 'unknown commit'
  return dirty.length === 0
    ? `${head}, no uncommitted changes in src/ or db/.`
    : `${head} **plus uncommitted changes** to ${dirty.map((f) => `\`${f}\``).join(', ')}.`
}

async function machineInfo(sql: Sql): Promise<Record<string, string>> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  const meminfo = readFileSync('/proc/meminfo', 'utf8')
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1])
  const [version] =
    await sql`select split_part(version(), ' (', 1) as v, current_setting('shared_buffers') as sb,
    current_setting('work_mem') as wm`
  return {
    cores: String(navigator.hardwareConcurrency),
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown CPU',
    memory: `${(memKb / 1024 / 1024).toFixed(1)} GiB`,
    bun: Bun.version,
    postgres: version!['v'] as string,
    sharedBuffers: version!['sb'] as string,
    workMem: version!['wm'] as string,
  }
}

async function main() {
  const options = parseOptions()
  const databaseUrl = process.env['DATABASE_URL']
  if (!databaseUrl) throw new Error('DATABASE_URL must name a database seeded by `bun run bench:seed`')
  const database = decodeURIComponent(new URL(databaseUrl).pathname.slice(1))
  if (!database.startsWith('invoice_bench') && !options.force) {
    throw new Error(
      `refusing to benchmark (and write drafts into) "${database}": not an invoice_bench database`,
    )
  }
  const started = new Date()
  const loadBefore = loadAverage()
  const sql: Sql = postgres(databaseUrl, { max: 2, onnotice: () => {} })
  const tmp = mkdtempSync(join(tmpdir(), 'invoice-bench-'))
  const children: ReturnType<typeof Bun.spawn>[] = []
  try {
    const machine = await machineInfo(sql)
    const code = codeVersion()
    console.log(`Code: ${code}`)
    const [busy] = await sql`select id from users where cognito_sub = ${await stableSub(BUSY_EMAIL)}`
    if (!busy) throw new Error(`no busy user (${BUSY_EMAIL}) in ${database}: run bun run bench:seed first`)
    const busyId = busy['id'] as string
    const [counts] = await sql`
      select (select count(*) from users)::int as users, (select count(*) from invoices)::int as invoices,
             (select count(*) from invoices where user_id = ${busyId})::int as busy,
             (select reltuples::bigint from pg_class where relname = 'invoice_items')::bigint::text as items,
             (select count(*) from payments)::int as payments,
             pg_size_pretty(pg_database_size(current_database())) as size`
    const data =
      `\`${database}\` (${counts!['size']}): ${counts!['users']} users, ` +
      `${Number(counts!['invoices']).toLocaleString('en-US')} invoices, ≈${Number(counts!['items']).toLocaleString('en-US')} items, ` +
      `${Number(counts!['payments']).toLocaleString('en-US')} payments; the busy user has ${Number(counts!['busy']).toLocaleString('en-US')} invoices.`
    console.log(`${database}: ${data}`)

    const ids = (
      await sql`select id from invoices where user_id = ${busyId} order by random() limit 5000`
    ).map((r) => r['id'] as string)
    const variants = await listVariants(sql, busyId)
    const others = await sql`
      select u.id, u.email, c.id as customer_id from users u
      cross join lateral (select id from customers where user_id = u.id order by created_at, id limit 1) c
      where u.id <> ${busyId} order by u.email limit ${OTHER_USERS}`

    const dataDir = join(tmp, 'data')
    const busyToken = await signDevToken(dataDir, BUSY_EMAIL)
    const tokens = new Map<string, string>()
    for (const user of others)
      tokens.set(user['email'] as string, await signDevToken(dataDir, user['email'] as string))

    const apiPort = freePort()
    const floorPort = freePort()
    const api = `http://127.0.0.1:${apiPort}`
    const floor = `http://127.0.0.1:${floorPort}`
    const env: Record<string, string | undefined> = { ...process.env }
    for (const key of Object.keys(env)) {
      if (/^(COGNITO_|S3_|AWS_|REDIS_URL|WEB_CONCURRENCY|METRICS_TOKEN|CORS_ORIGINS|TRUST_PROXY)/.test(key)) {
        delete env[key]
      }
    }
    const profileDir = join(tmp, 'profile')
    let apiStarts = 0
    const spawnApi = () =>
      Bun.spawn(
        ['bun', ...(options.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), 'src/index.ts'],
        {
          cwd: ROOT,
          env: {
            ...env,
            NODE_ENV: 'development',
            PORT: String(apiPort),
            PUBLIC_URL: api,
            DATA_DIR: dataDir,
            DATABASE_URL: databaseUrl,
            LOG_LEVEL: options.logLevel,
            LOG_PRETTY: 'false',
            RATE_LIMIT_PER_MINUTE: '1000000',
            WEB_CONCURRENCY: '1',
            // As the container image sets it (Dockerfile): the GC sized for a 512 MB machine, not this one.
            BUN_JSC_forceRAMSize: env['BUN_JSC_forceRAMSize'] ?? String(CONTAINER_RAM_BYTES),
          },
          stdout: Bun.file(join(tmp, `api.${++apiStarts}.log`)),
          stderr: Bun.file(join(tmp, `api.${apiStarts}.err.log`)),
        },
      )
    let apiProcess = spawnApi()
    children.push(apiProcess)
    const floorProcess = Bun.spawn(['bun', join(import.meta.dir, 'floor.ts')], {
      cwd: ROOT,
      env: { ...env, DATABASE_URL: databaseUrl, FLOOR_USER_ID: busyId, PORT: String(floorPort) },
      stdout: Bun.file(join(tmp, 'floor.log')),
      stderr: Bun.file(join(tmp, 'floor.err.log')),
    })
    children.push(floorProcess)
    // The same floor speaking to PostgreSQL as the API's driver does: unnamed statements, described first.
    const unpreparedPort = freePort()
    const floorUnprepared = `http://127.0.0.1:${unpreparedPort}`
    const unpreparedProcess = Bun.spawn(['bun', join(import.meta.dir, 'floor.ts')], {
      cwd: ROOT,
      env: {
        ...env,
        DATABASE_URL: databaseUrl,
        FLOOR_USER_ID: busyId,
        PORT: String(unpreparedPort),
        FLOOR_PREPARE: 'false',
      },
      stdout: 'ignore',
      stderr: Bun.file(join(tmp, 'floor-unprepared.err.log')),
    })
    children.push(unpreparedProcess)
    await waitUntilReady(`${api}/health/ready`, apiProcess)
    await waitUntilReady(`${floor}/health`, floorProcess)
    await waitUntilReady(`${floorUnprepared}/health`, unpreparedProcess)
    const context: Context = {
      options,
      tmp,
      database,
      pids: { api: apiProcess.pid, floor: [floorProcess.pid, unpreparedProcess.pid] },
      apiPeakKb: 0,
      alive: () => {
        for (const [name, child] of [
          ['API', apiProcess],
          ['floor', floorProcess],
          ['unprepared floor', unpreparedProcess],
        ] as const) {
          if (child.exitCode !== null || child.signalCode !== null) {
            throw new (name === 'API' ? ApiGone : Error)(
              `the ${name} process (pid ${child.pid}) exited during the run (code ${child.exitCode}, signal ` +
                `${child.signalCode}); its log is in ${tmp} (run with --keep to keep it)`,
            )
          }
        }
      },
    }

    // The same JSON from both, for a sample of invoices and every list variant.
    const auth = { authorization: `Bearer ${busyToken}` }
    const paths = [...ids.slice(0, 20).map((id) => `/api/v1/invoices/${id}`), ...variants.map((v) => v.query)]
    const mismatches: string[] = []
    for (const path of paths) {
      const [a, b] = await Promise.all([
        fetch(`${api}${path}`, { headers: auth }).then(async (r) => ({
          status: r.status,
          body: await r.json(),
        })),
        fetch(`${floor}${path}`).then(async (r) => ({ status: r.status, body: await r.json() })),
      ])
      const difference =
        a.status !== b.status ? `status ${a.status} ≠ ${b.status}` : firstDifference(a.body, b.body)
      if (difference) mismatches.push(`${path}: ${difference}`)
    }
    const parity =
      mismatches.length === 0
        ? `API and floor answered identical JSON for ${paths.length} requests (20 invoices, ${variants.length} list pages, cursors included).`
        : `**${mismatches.length} of ${paths.length} requests differ**: ${mismatches.slice(0, 3).join('; ')}`
    console.log(parity)

    const spec = (
      label: string,
      url: string,
      requests: LoadRequest[],
      extra: Partial<LoadSpec> = {},
    ): LoadSpec => ({
      label,
      url,
      connections: options.connections,
      durationSeconds: options.duration,
      warmupSeconds: options.warmup,
      requests,
      order: 'cycle',
      ...extra,
    })
    const get = (path: string, headers?: Record<string, string>): LoadRequest => ({
      method: 'GET',
      path,
      ...(headers ? { headers } : {}),
    })
    const reads: Record<string, { title: string; api: LoadRequest[]; floor?: LoadRequest[] }> = {
      health: { title: 'GET /health', api: [get('/health')], floor: [get('/health')] },
      get: {
        title: 'GET /api/v1/invoices/{id}',
        api: ids.map((id) => get(`/api/v1/invoices/${id}`, auth)),
        floor: ids.map((id) => get(`/api/v1/invoices/${id}`)),
      },
      list: {
        title: `GET /api/v1/invoices?limit=20 (mix of ${variants.length})`,
        api: shuffle(variants).map((v) => get(v.query, auth)),
        floor: shuffle(variants).map((v) => get(v.query)),
      },
      summary: { title: 'GET /api/v1/reports/summary', api: [get('/api/v1/reports/summary', auth)] },
      aging: { title: 'GET /api/v1/reports/aging', api: [get('/api/v1/reports/aging', auth)] },
      revenue: { title: 'GET /api/v1/reports/revenue', api: [get('/api/v1/reports/revenue', auth)] },
    }
    const createRequests = others.map((user) => ({
      method: 'POST' as const,
      path: '/api/v1/invoices',
      headers: {
        authorization: `Bearer ${tokens.get(user['email'] as string)}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ customerId: user['customer_id'], items: ITEMS }),
    }))

    const rows: Row[] = []
    const light: Row[] = []
    const variantRows: Report['variants'] = []
    let sendDrafts = ''
    let sendQueue: LoadRequest[] = []
    const interruptions: string[] = []
    const run = async (label: string, s: LoadSpec): Promise<Measured> => {
      for (let attempt = 1; ; attempt++) {
        try {
          const measured = await drive(context, s)
          logLine(label, measured)
          return measured
        } catch (error) {
          if (!(error instanceof ApiGone) || attempt === 3) throw error
          const how = `exit code ${apiProcess.exitCode}, signal ${apiProcess.signalCode}`
          interruptions.push(`${label} (${how})`)
          console.log(
            `  ${label}: the API process ended (${how}); starting it again and repeating the scenario`,
          )
          apiProcess = spawnApi()
          children.push(apiProcess)
          context.pids.api = apiProcess.pid
          await waitUntilReady(`${api}/health/ready`, apiProcess)
        }
      }
    }

    console.log(
      `Scenarios at ${options.connections} connections (${options.warmup} s warm-up, ${options.duration} s)`,
    )
    for (const id of ['health', 'get', 'list', 'summary', 'aging', 'revenue'] as const) {
      if (!options.only.has(id)) continue
      const read = reads[id]!
      const apiMeasured = await run(`${id} (API)`, spec(id, api, read.api))
      const floorMeasured = read.floor ? await run(`${id} (floor)`, spec(id, floor, read.floor)) : undefined
      rows.push({
        id,
        title: read.title,
        api: apiMeasured,
        ...(floorMeasured ? { floor: floorMeasured } : {}),
      })
      if (id === 'get' && read.floor) {
        const unprepared = await run('get (floor, unprepared)', spec(id, floorUnprepared, read.floor))
        rows.push({
          id: 'get-unprepared',
          title: "… the floor with the API driver's protocol (unprepared statements)",
          floor: unprepared,
        })
      }
    }
    if (options.only.has('create') || options.only.has('send')) {
      const createStarted = new Date(Date.now() - 1000)
      if (options.only.has('create')) {
        const measured = await run('create (API)', spec('create', api, createRequests))
        rows.push({ id: 'create', title: 'POST /api/v1/invoices (10 items)', api: measured })
      }
      const drafts = await sql`
        select i.id, u.email, i.created_at >= ${createStarted} as fresh, (select count(*) from invoice_items it
          where it.invoice_id = i.id and it.user_id = i.user_id)::int as items
        from invoices i join users u on u.id = i.user_id
        where i.user_id = any(${sql.array(others.map((u) => u['id'] as string))}::uuid[]) and i.status = 'draft'
        order by (i.created_at >= ${createStarted}) desc,
                 row_number() over (partition by i.user_id order by i.created_at desc, i.id), u.email
        limit 40000`
      sendQueue = drafts
        .filter((d) => (d['items'] as number) > 0)
        .map((d) => ({
          method: 'POST' as const,
          path: `/api/v1/invoices/${d['id']}/mark-as-sent`,
          headers: { authorization: `Bearer ${tokens.get(d['email'] as string)}` },
        }))
      const fresh = drafts.filter((d) => d['fresh']).length
      if (options.only.has('send')) {
        const share = options.only.has('light') ? Math.floor(sendQueue.length * 0.8) : sendQueue.length
        const measured = await run(
          'send (API)',
          spec('send', api, sendQueue.slice(0, share), { order: 'once' }),
        )
        sendQueue = sendQueue.slice(share)
        rows.push({ id: 'send', title: 'POST /api/v1/invoices/{id}/mark-as-sent', api: measured })
        const sent = (measured.result.statuses['200'] ?? 0) + 0
        sendDrafts =
          `Mark-as-sent issued drafts of ${OTHER_USERS} users other than the busy one, round-robin over the users ` +
          `(each send locks its user's row for the number), ${fresh.toLocaleString('en-US')} drafts of 10 items ` +
          'made by `create` first, then seeded drafts (1–60 items); PDFs rendered and stored on local disk. ' +
          `${sent.toLocaleString('en-US')} sent in the measured window${measured.result.exhausted ? ' (the drafts ran out)' : ''}.`
      }
    }

    let creditNotes = ''
    let creditLight: Row | undefined
    if (options.only.has('credit-note')) {
      // One unit of the first line of quantity ≥ 2 of each of CREDIT_POOL issued invoices never credited: every
      // request is a partial credit of its own invoice (no 422 for a line or an invoice credited away), so the
      // notes queue only where the API makes them queue: on the user's row, for the next CN number.
      const pool = await sql`
        select i.id, l.item_id from (
          select id from invoices
          where user_id = ${busyId} and status in ('sent', 'partially_paid', 'paid') and credited_total = 0
          order by random() limit ${Math.round(CREDIT_POOL * 1.2)}) i
        cross join lateral (
          select it.id as item_id from invoice_items it
          where it.invoice_id = i.id and it.quantity >= 2 order by it.position limit 1) l
        limit ${CREDIT_POOL}`
      const creditRequests: LoadRequest[] = pool.map((row) => ({
        method: 'POST' as const,
        path: `/api/v1/invoices/${row['id']}/credit-notes`,
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          reason: 'product_unsatisfactory',
          items: [{ invoiceItemId: row['item_id'], quantity: 1 }],
        }),
      }))
      // The run's connections take 80 %, one connection the rest: either is many times what its window uses.
      const share = Math.floor(creditRequests.length * 0.8)
      const measured = await run(
        'credit-note (API)',
        spec('credit-note', api, creditRequests.slice(0, share), { order: 'once' }),
      )
      const title = 'POST /api/v1/invoices/{id}/credit-notes (one unit of one line)'
      rows.push({ id: 'credit-note', title, api: measured })
      const one = await run(
        'credit-note (API, 1 connection)',
        spec('credit-note', api, creditRequests.slice(share), {
          connections: 1,
          durationSeconds: options.lightSeconds,
          warmupSeconds: 1,
          order: 'once',
        }),
      )
      creditLight = { id: 'credit-note', title, api: one }
      const issued = (m: Measured) => (m.result.statuses['201'] ?? 0).toLocaleString('en-US')
      const ranOut = [measured, one].some((m) => m.result.exhausted)
      creditNotes =
        'Credit notes were issued by the busy user (one user row, locked for each CN- number) against ' +
        `${creditRequests.length.toLocaleString('en-US')} of its issued invoices never credited before, in ` +
        'random order, each once: one unit of its first line of quantity 2 or more, so each note is a partial ' +
        'credit priced by the line rules; PDFs rendered and stored on local disk. ' +
        `${issued(measured)} issued in the measured window at ${options.connections} connections (of ` +
        `${share.toLocaleString('en-US')} offered, warm-up included), ${issued(one)} at 1 connection` +
        (ranOut ? ' — **the invoices ran out before the window ended**.' : '; the invoices did not run out.')
      console.log(`  ${creditNotes}`)
    }

    if (options.only.has('variants')) {
      console.log(`List variants alone (1 connection, ${options.variantSeconds} s each)`)
      for (const variant of variants) {
        const one = { connections: 1, durationSeconds: options.variantSeconds, warmupSeconds: 1 }
        const a = await run(
          `${variant.label} (API)`,
          spec(variant.label, api, [get(variant.query, auth)], one),
        )
        const f = await run(`${variant.label} (floor)`, spec(variant.label, floor, [get(variant.query)], one))
        variantRows.push({ variant, api: a, floor: f })
      }
    }

    if (options.only.has('light')) {
      console.log(`Light load (1 connection, ${options.lightSeconds} s)`)
      const one = { connections: 1, durationSeconds: options.lightSeconds, warmupSeconds: 1 }
      for (const id of ['get', 'list', 'summary', 'aging', 'revenue'] as const) {
        const read = reads[id]!
        const a = await run(`${id} (API, 1 connection)`, spec(id, api, read.api, one))
        const f = read.floor
          ? await run(`${id} (floor, 1 connection)`, spec(id, floor, read.floor, one))
          : undefined
        light.push({ id, title: read.title, api: a, ...(f ? { floor: f } : {}) })
      }
      const c = await run('create (API, 1 connection)', spec('create', api, createRequests, one))
      light.push({ id: 'create', title: 'POST /api/v1/invoices (10 items)', api: c })
      if (sendQueue.length > 0) {
        const s = await run(
          'send (API, 1 connection)',
          spec('send', api, sendQueue, { ...one, order: 'once' }),
        )
        light.push({ id: 'send', title: 'POST /api/v1/invoices/{id}/mark-as-sent', api: s })
      }
    }
    if (creditLight) light.push(creditLight)

    const finalHwmKb = Math.max(context.apiPeakKb, memoryOf(apiProcess.pid).hwmKb || 0)
    for (const child of children.reverse()) {
      child.kill('SIGTERM')
      await child.exited
    }
    children.length = 0

    let profile: string | undefined
    if (options.profile) {
      const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'))
      if (file) {
        profile = toMarkdown(summarize(JSON.parse(readFileSync(join(profileDir, file), 'utf8')), 30))
        console.log(`\nCPU profile ${join(profileDir, file)}\n${profile}`)
      }
    }

    const report: Report = {
      options,
      code,
      machine,
      data,
      parity,
      rows,
      variants: variantRows,
      light,
      sendDrafts,
      creditNotes,
      interruptions,
      finalHwmKb,
      loadBefore,
      loadAfter: loadAverage(),
      started,
      command: `DATABASE_URL=${databaseUrl} bun run bench ${process.argv.slice(2).join(' ')}`.trim(),
      ...(profile ? { profile } : {}),
    }
    const section = render(report)
    const full = SCENARIOS.every((s) => options.only.has(s)) && !options.profile
    if (full) {
      writeResults(section)
      console.log(`\nWritten to ${RESULTS_FILE}`)
    } else {
      console.log(`\n${section}\n\n(a partial or profiled run: ${RESULTS_FILE} left as it was)`)
    }
  } finally {
    for (const child of children) {
      child.kill('SIGTERM')
      await child.exited
    }
    await sql.end({ timeout: 5 })
    if (options.keep) console.log(`kept ${tmp} (API and floor logs, profiles)`)
    else rmSync(tmp, { recursive: true, force: true })
  }
}

if (import.meta.main) await main()
