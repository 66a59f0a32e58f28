/**
 * Latency of POST /api/v1/invoices/{id}/mark-as-sent on a real server: `bun src/index.ts` over a scratch
 * database on the local PostgreSQL (created here, dropped at the end) with PDFs going to an s3rver in a
 * child process, everything on 127.0.0.1. Creates DRAFTS drafts of 10 items spread over USERS users, sends
 * a few to warm up, then sends the rest with CONCURRENCY clients and prints latency percentiles and
 * throughput, and checks that every user's numbers came out gapless.
 *
 *   bun bench/mark-as-sent.ts
 *   USERS=1 DRAFTS=200 bun bench/mark-as-sent.ts     one user: every send queues on that user's counter
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) names the server, not the database;
 * PROFILE_DIR, when set, receives a CPU profile of the server.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { signDevToken } from '../src/lib/auth/dev-issuer'
import { S3RVER_CREDENTIALS, startS3rver } from '../tests/helpers/s3rver'

const int = (name: string, fallback: number, max: number) => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${name} must be 1–${max}`)
  return value
}

if (process.argv[2] === 's3rver') {
  const s3 = await startS3rver('bench-invoices')
  console.log(JSON.stringify({ endpoint: s3.endpoint, bucket: s3.bucket }))
  process.on('SIGTERM', () => void s3.close().then(() => process.exit(0)))
} else {
  await main()
}

async function main() {
  const DRAFTS = int('DRAFTS', 400, 5_000)
  const USERS = int('USERS', 8, 100)
  const CONCURRENCY = int('CONCURRENCY', 8, 64)
  const TIME_LIMIT_MS = int('TIME_LIMIT_SECONDS', 120, 600) * 1000
  const WARMUP = Math.max(USERS, 16)
  const serverUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres'

  const name = `bench_mark_as_sent_${Date.now()}`
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-mark-as-sent-'))
  const children: ReturnType<typeof Bun.spawn>[] = []
  await admin.unsafe(`create database "${name}"`)
  try {
    const s3 = await startS3rverProcess(children)
    const port = freePort()
    const base = `http://127.0.0.1:${port}`
    const databaseUrl = new URL(serverUrl)
    databaseUrl.pathname = `/${name}`
    const profile = process.env['PROFILE_DIR']
    const profiling = profile ? ['--cpu-prof', '--cpu-prof-md', `--cpu-prof-dir=${profile}`] : []
    const server = Bun.spawn(['bun', ...profiling, 'src/index.ts'], {
      cwd: join(import.meta.dir, '..'),
      env: {
        ...process.env,
        NODE_ENV: 'development',
        PORT: String(port),
        PUBLIC_URL: base,
        DATA_DIR: dataDir,
        DATABASE_URL: databaseUrl.toString(),
        S3_BUCKET: s3.bucket,
        S3_ENDPOINT: s3.endpoint,
        S3_FORCE_PATH_STYLE: 'true',
        AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
        LOG_LEVEL: 'warn',
        LOG_PRETTY: 'false',
        RATE_LIMIT_PER_MINUTE: '1000000',
      },
      stdout: 'inherit',
      stderr: 'inherit',
    })
    children.push(server)
    await waitUntilReady(`${base}/health/ready`)

    const api = client(base)
    const users = await Promise.all(
      Array.from({ length: USERS }, async (_, i) => {
        const token = await signDevToken(dataDir, `bench-${i}@example.com`)
        await api(token, 'PATCH', '/api/v1/me', { defaultCurrency: 'EUR', companyName: `Bench ${i} GmbH` })
        const customer = await api(token, 'POST', '/api/v1/customers', { name: `Customer ${i}` })
        return { token, customerId: customer.body['id'] as string, numbers: [] as number[] }
      }),
    )
    const items = Array.from({ length: 10 }, (_, i) => ({
      description: `Consulting, block ${i + 1}`,
      quantity: 1 + i / 4,
      unitPrice: 9_500 + i * 125,
      taxRate: 19,
    }))
    const drafts = await pool(WARMUP + DRAFTS, CONCURRENCY, Infinity, async (i) => {
      const user = users[i % USERS]!
      const draft = await api(user.token, 'POST', '/api/v1/invoices', { customerId: user.customerId, items })
      return { user, id: draft.body['id'] as string }
    })

    const send = async ({ user, id }: (typeof drafts)[number]) => {
      const started = performance.now()
      const res = await api(user.token, 'POST', `/api/v1/invoices/${id}/mark-as-sent`)
      const ms = performance.now() - started
      if (res.status === 200) user.numbers.push(Number(String(res.body['number']).slice(4)))
      return { ms, status: res.status }
    }
    for (const draft of drafts.slice(0, WARMUP)) await send(draft)

    const measured = drafts.slice(WARMUP)
    const processes = { server: server.pid, s3rver: children[0]!.pid, client: process.pid }
    const cpuBefore = cpuSeconds(processes)
    const started = performance.now()
    const results = await pool(measured.length, CONCURRENCY, started + TIME_LIMIT_MS, (i) =>
      send(measured[i]!),
    )
    const elapsedMs = performance.now() - started

    report({ results, elapsedMs, users: USERS, concurrency: CONCURRENCY })
    console.log(cpuReport(cpuBefore, cpuSeconds(processes), elapsedMs / 1000))
    console.log(await pdfTimings(base))
    checkGapless(users.map((user) => user.numbers))
  } finally {
    for (const child of children.reverse()) {
      child.kill('SIGTERM')
      await child.exited
    }
    await admin.unsafe(`drop database if exists "${name}" with (force)`)
    await admin.end()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

async function startS3rverProcess(children: ReturnType<typeof Bun.spawn>[]) {
  const child = Bun.spawn(['bun', import.meta.path, 's3rver'], { stdout: 'pipe', stderr: 'inherit' })
  children.push(child)
  const reader = child.stdout.getReader()
  let text = ''
  while (!text.includes('\n')) {
    const { value, done } = await reader.read()
    if (done) throw new Error('s3rver exited before it was ready')
    text += new TextDecoder().decode(value)
  }
  reader.releaseLock()
  return JSON.parse(text.split('\n')[0]!) as { endpoint: string; bucket: string }
}

function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = probe.port!
  probe.stop(true)
  return port
}

async function waitUntilReady(url: string) {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    const ok = await fetch(url).then(
      (res) => res.ok,
      () => false,
    )
    if (ok) return
    await Bun.sleep(100)
  }
  throw new Error(`${url} did not become ready within 60 s`)
}

function client(base: string) {
  return async (token: string, method: string, path: string, json?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(json === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      signal: AbortSignal.timeout(30_000),
    })
    const body = (await res.json()) as Record<string, unknown>
    if (method !== 'POST' || !path.endsWith('/mark-as-sent')) {
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(body)}`)
    }
    return { status: res.status, body }
  }
}

/** Runs `task(0…count-1)` with `concurrency` in flight; starts no new task after `deadline`. */
async function pool<T>(
  count: number,
  concurrency: number,
  deadline: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = []
  let next = 0
  const worker = async () => {
    while (next < count && performance.now() < deadline) {
      const i = next++
      results[i] = await task(i)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return results.filter((result) => result !== undefined)
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

function report(run: {
  results: { ms: number; status: number }[]
  elapsedMs: number
  users: number
  concurrency: number
}) {
  const latencies = run.results.map((r) => r.ms).sort((a, b) => a - b)
  const failed = run.results.filter((r) => r.status !== 200)
  const fixed = (ms: number) => `${ms.toFixed(1)} ms`
  console.log(
    [
      `mark-as-sent: ${run.results.length} requests, ${run.users} user(s), concurrency ${run.concurrency}, ` +
        `10 items each, S3 (s3rver) storage`,
      `  p50 ${fixed(percentile(latencies, 50))}  p95 ${fixed(percentile(latencies, 95))}  ` +
        `p99 ${fixed(percentile(latencies, 99))}  max ${fixed(latencies.at(-1)!)}`,
      `  throughput ${((run.results.length / run.elapsedMs) * 1000).toFixed(1)} req/s over ${fixed(run.elapsedMs)}`,
      `  non-200 answers: ${failed.length}${failed.length ? ` (${[...new Set(failed.map((f) => f.status))]})` : ''}`,
    ].join('\n'),
  )
}

/** CPU seconds used so far by the machine (all cores) and by each named process, from /proc (Linux). */
function cpuSeconds(pids: Record<string, number>): Record<string, number> | undefined {
  if (!existsSync('/proc/stat')) return undefined
  const ticks = 100
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/)
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number)
  const usage: Record<string, number> = {
    machine: (user! + nice! + system! + irq! + softirq! + steal!) / ticks,
  }
  for (const [name, pid] of Object.entries(pids)) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    usage[name] = (Number(after[11]) + Number(after[12])) / ticks
  }
  return usage
}

function cpuReport(
  before: Record<string, number> | undefined,
  after: Record<string, number> | undefined,
  seconds: number,
): string {
  if (!before || !after) return '  (no /proc: CPU use not measured)'
  const cores = (name: string) => (after[name]! - before[name]!) / seconds
  const parts = ['server', 's3rver', 'client'].map((name) => `${name} ${cores(name).toFixed(2)}`)
  const rest = cores('machine') - ['server', 's3rver', 'client'].reduce((sum, n) => sum + cores(n), 0)
  return (
    `  CPU in cores (of ${availableParallelism()}): machine ${cores('machine').toFixed(2)} = ` +
    `${parts.join(' + ')} + PostgreSQL and everything else ${rest.toFixed(2)}`
  )
}

/** Mean render and upload times from the server's own histograms. */
async function pdfTimings(base: string): Promise<string> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const value = (metric: string) =>
    Number(new RegExp(`^${metric} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN)
  const mean = (name: string) => ((value(`${name}_sum`) / value(`${name}_count`)) * 1000).toFixed(1)
  return `  server side, mean of all sends: render ${mean('pdf_render_duration_seconds')} ms (with the wait for the render worker), upload ${mean('pdf_upload_duration_seconds')} ms`
}

function checkGapless(numbersByUser: number[][]) {
  for (const numbers of numbersByUser) {
    const sorted = [...numbers].sort((a, b) => a - b)
    if (sorted.some((n, i) => n !== i + 1)) throw new Error(`numbers are not gapless: ${sorted.join(',')}`)
  }
  console.log(`  numbers gapless for every user (${numbersByUser.flat().length} issued)`)
}
