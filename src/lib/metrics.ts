import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { DatabaseHandle } from './db'

const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const PDF_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

export interface Metrics {
  readonly registry: Registry
  readonly rateLimitRejections: Counter
  readonly pdfRenderDuration: Histogram
  readonly pdfUploadDuration: Histogram
  /** Background jobs by queue and outcome (`completed`, `failed`: the handler threw and the job is retried). */
  readonly jobDuration: Histogram<'queue' | 'outcome'>
  /** Webhook delivery attempts by what they led to: `succeeded`, `retrying` or `failed`. */
  readonly webhookAttempts: Counter<'outcome'>
  /**
   * Email attempts by what they led to: `sent`, `retrying` (a temporary failure, tried again later), `failed`
   * (refused, or the last retry), `cancelled` (a reminder whose invoice no longer has anything due).
   */
  readonly emailAttempts: Counter<'outcome'>
  /** Reports the job queue's depth (queued and active jobs per queue) at every scrape. */
  watchQueue(depth: () => Promise<Record<string, { queued: number; active: number }>>): void
  /** `route` is the route template (`/api/v1/customers/:id`), never the requested path. */
  observeRequest(method: string, route: string, status: number, seconds: number): void
  /** Every metric of this process in the Prometheus text format. */
  render(): Promise<string>
  /**
   * What `/metrics` answers: `render()`, unless `exposeFrom` gave another source (a cluster worker answers with
   * the metrics of every worker of its instance, see cluster.ts).
   */
  expose(): Promise<string>
  exposeFrom(source: (() => Promise<string>) | undefined): void
  readonly contentType: string
}

/**
 * One registry per app, so that several apps in one process (tests) never collide on metric names.
 * With a database, its pool is described as far as postgres.js lets it be seen (src/lib/db.ts `watchPool`).
 */
export function createMetrics(options: { database?: DatabaseHandle } = {}): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const rateLimitRejections = new Counter({
    name: 'rate_limit_rejections_total',
    help: 'Requests refused with 429 RATE_LIMIT_EXCEEDED',
    registers,
  })
  const pdfRenderDuration = new Histogram({
    name: 'pdf_render_duration_seconds',
    help: 'Time to render an invoice PDF',
    buckets: PDF_BUCKETS,
    registers,
  })
  const pdfUploadDuration = new Histogram({
    name: 'pdf_upload_duration_seconds',
    help: 'Time to store a rendered invoice PDF',
    buckets: PDF_BUCKETS,
    registers,
  })
  const jobDuration = new Histogram({
    name: 'job_duration_seconds',
    help: 'Time a background job took, by queue and outcome (failed: it threw and will be retried)',
    labelNames: ['queue', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  })
  const webhookAttempts = new Counter({
    name: 'webhook_delivery_attempts_total',
    help: 'Webhook delivery attempts by what they led to: succeeded, retrying or failed',
    labelNames: ['outcome'] as const,
    registers,
  })
  const emailAttempts = new Counter({
    name: 'email_delivery_attempts_total',
    help: 'Email attempts by what they led to: sent, retrying, failed or cancelled (a reminder no longer due)',
    labelNames: ['outcome'] as const,
    registers,
  })
  let depth: (() => Promise<Record<string, { queued: number; active: number }>>) | undefined
  new Gauge({
    name: 'job_queue_depth',
    help: 'Jobs per queue and state: queued (waiting, including retries due later) and active',
    labelNames: ['queue', 'state'] as const,
    registers,
    async collect() {
      if (!depth) return
      this.reset()
      try {
        for (const [queue, counts] of Object.entries(await depth())) {
          this.set({ queue, state: 'queued' }, counts.queued)
          this.set({ queue, state: 'active' }, counts.active)
        }
      } catch {
        // A scrape during a database outage shows no depth rather than failing the whole scrape.
      }
    },
  })
  if (options.database) describePool(options.database, registers)
  const http = new HttpMetrics()
  const render = async () => (await registry.metrics()) + http.render()
  let exposition: (() => Promise<string>) | undefined

  return {
    registry,
    rateLimitRejections,
    pdfRenderDuration,
    pdfUploadDuration,
    jobDuration,
    webhookAttempts,
    emailAttempts,
    watchQueue: (read) => {
      depth = read
    },
    observeRequest: (method, route, status, seconds) => http.observe(method, route, status, seconds),
    render,
    expose: () => (exposition ?? render)(),
    exposeFrom: (source) => {
      exposition = source
    },
    contentType: registry.contentType,
  }
}

interface RequestSeries {
  labels: string
  /** Per bucket, not yet cumulative; the last slot is above every bound. */
  buckets: Float64Array
  sum: number
  count: number
  serverError: boolean
}

/**
 * `http_request_duration_seconds` (histogram), `http_requests_total` and `http_request_errors_total` (5xx
 * only: client errors are in `http_requests_total` by status), labelled by method, route template and
 * status. Kept apart from prom-client, whose labelled metrics hash and validate their labels on every
 * observation (about 0.5 µs a request for the three); here a request costs one map lookup.
 */
class HttpMetrics {
  private readonly series = new Map<string, RequestSeries>()

  observe(method: string, route: string, status: number, seconds: number): void {
    const name = METHODS.has(method) ? method : 'OTHER'
    const key = `${name} ${status} ${route}`
    let entry = this.series.get(key)
    if (!entry) {
      entry = {
        labels: `method="${name}",route="${escapeLabel(route)}",status="${status}"`,
        buckets: new Float64Array(HTTP_BUCKETS.length + 1),
        sum: 0,
        count: 0,
        serverError: status >= 500,
      }
      this.series.set(key, entry)
    }
    let bucket = 0
    while (bucket < HTTP_BUCKETS.length && seconds > HTTP_BUCKETS[bucket]!) bucket++
    entry.buckets[bucket]!++
    entry.sum += seconds
    entry.count++
  }

  render(): string {
    const duration = [
      '# HELP http_request_duration_seconds Time from receiving a request to answering it, by method, route template and status',
      '# TYPE http_request_duration_seconds histogram',
    ]
    const total = [
      '# HELP http_requests_total Requests answered, by method, route template and status',
      '# TYPE http_requests_total counter',
    ]
    const errors = [
      '# HELP http_request_errors_total Requests answered with a 5xx status, by method, route template and status',
      '# TYPE http_request_errors_total counter',
    ]
    for (const { labels, buckets, sum, count, serverError } of this.series.values()) {
      let cumulative = 0
      for (let i = 0; i < HTTP_BUCKETS.length; i++) {
        cumulative += buckets[i]!
        duration.push(`http_request_duration_seconds_bucket{${labels},le="${HTTP_BUCKETS[i]}"} ${cumulative}`)
      }
      duration.push(`http_request_duration_seconds_bucket{${labels},le="+Inf"} ${count}`)
      duration.push(`http_request_duration_seconds_sum{${labels}} ${sum}`)
      duration.push(`http_request_duration_seconds_count{${labels}} ${count}`)
      total.push(`http_requests_total{${labels}} ${count}`)
      if (serverError) errors.push(`http_request_errors_total{${labels}} ${count}`)
    }
    return `\n${duration.join('\n')}\n\n${total.join('\n')}\n\n${errors.join('\n')}\n`
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const COMMENT = /^#\s*(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)/

interface Family {
  help: string | undefined
  type: string | undefined
  samples: string[]
}

/**
 * Several expositions (Prometheus text) as one: each part's samples get its `label` (`worker="2"`) so that the
 * series of different processes never mix, and the samples of one metric family are grouped under a single
 * HELP and TYPE, as the format requires. Parts without a label are taken as they are.
 */
export function mergeExpositions(parts: readonly { label?: string; text: string }[]): string {
  const families = new Map<string, Family>()
  const family = (name: string) => {
    let found = families.get(name)
    if (!found) {
      found = { help: undefined, type: undefined, samples: [] }
      families.set(name, found)
    }
    return found
  }
  for (const { label, text } of parts) {
    let current: { name: string; family: Family } | undefined
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue
      if (line.startsWith('#')) {
        const comment = COMMENT.exec(line)
        if (!comment) continue
        const name = comment[2]!
        current = { name, family: family(name) }
        if (comment[1] === 'HELP') current.family.help ??= line
        else current.family.type ??= line
        continue
      }
      const name = METRIC_NAME.exec(line)?.[0]
      if (!name) continue
      // A histogram's or summary's samples (`_bucket`, `_sum`, `_count`) belong to the family above them.
      const target = current && name.startsWith(current.name) ? current.family : family(name)
      target.samples.push(label ? withLabel(line, name, label) : line)
    }
  }
  const out: string[] = []
  for (const { help, type, samples } of families.values()) {
    if (help) out.push(help)
    if (type) out.push(type)
    out.push(...samples)
  }
  return `${out.join('\n')}\n`
}

function withLabel(line: string, name: string, label: string): string {
  const rest = line.slice(name.length)
  if (rest.startsWith('{}')) return `${name}{${label}}${rest.slice(2)}`
  if (rest.startsWith('{')) return `${name}{${label},${rest.slice(1)}`
  return `${name}{${label}}${rest}`
}

const escapeLabel = (value: string) => value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))

function describePool(database: DatabaseHandle, registers: Registry[]): void {
  const usage = database.poolUsage
  new Gauge({
    name: 'db_pool_max_connections',
    help: 'Connections the database pool may open',
    registers,
  }).set(database.poolMax)
  new Gauge({
    name: 'db_pool_connections_in_use',
    help: 'Connections the app holds for a query or transaction',
    registers,
    collect() {
      this.set(usage.inUse)
    },
  })
  new Gauge({
    name: 'db_pool_acquire_waiting',
    help: 'Queries and transactions waiting for a free connection',
    registers,
    collect() {
      this.set(usage.waiting)
    },
  })
}
