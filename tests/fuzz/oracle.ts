import { type Draft, describeWire, type Outcome, send, wireOf } from './http'
import { clip, describeValue } from './mutations'
import type { RouteSpec } from './routes'
import { changed, type Snapshot, type World } from './world'

/** Every error code of API.md's "Errors" table, with its status. */
export const API_ERRORS: Record<string, number[]> = {
  MALFORMED_JSON: [400],
  VALIDATION_ERROR: [400],
  UNAUTHORIZED: [401],
  FORBIDDEN: [403],
  NOT_FOUND: [404],
  METHOD_NOT_ALLOWED: [405],
  INVALID_STATUS_TRANSITION: [409],
  CUSTOMER_HAS_INVOICES: [409],
  IDEMPOTENCY_KEY_REUSED: [409],
  PRECONDITION_FAILED: [412],
  PAYLOAD_TOO_LARGE: [413],
  URI_TOO_LONG: [414],
  HEADERS_TOO_LARGE: [431],
  UNSUPPORTED_MEDIA_TYPE: [415],
  PAYMENT_EXCEEDS_BALANCE: [422],
  CREDIT_EXCEEDS_INVOICE: [422],
  LIMIT_EXCEEDED: [422],
  EINVOICE_INCOMPLETE: [422],
  RATE_LIMIT_EXCEEDED: [429],
  INTERNAL_ERROR: [500],
  PDF_GENERATION_FAILED: [502],
  SERVICE_UNAVAILABLE: [503],
}

/** "Error messages never echo large client values back": an error body stays well under this. */
export const MAX_ERROR_BYTES = 64 * 1024

export interface Expectation {
  /** A careful API refuses this request (a 4xx): it breaks the schema, API.md, or names what is not ours. */
  reject: boolean
  /** The exact answer API.md prescribes, when it does (401 without a token, 400 for a tampered cursor…). */
  status?: number
  code?: string
  /** For a 400 VALIDATION_ERROR, `details` must name this path (or one of its ancestors or descendants). */
  detailPath?: string
}

export interface Case {
  /** `sweep#12`, `random#3`, `auth#7`: with the seed, enough to find the case again. */
  id: string
  route: RouteSpec
  /** `body /items/0/quantity`, `query cursor`, `header if-match`, `path id`, `request content-type`, `auth`. */
  location: string
  mutation: string
  value: unknown
  draft: Draft
  expect: Expectation
}

export interface Failure {
  violation: string
  caseId: string
  route: string
  location: string
  mutation: string
  value: string
  request: string
  status: number
  code: string
  body: string
}

interface ErrorBody {
  error?: { code?: unknown; message?: unknown; requestId?: unknown; details?: { path?: unknown }[] }
}

const names = (path: string, wanted: string) =>
  wanted === '/' ||
  path === wanted ||
  path.startsWith(`${wanted}/`) ||
  (path !== '/' && path !== '' && wanted.startsWith(`${path}/`))

/** The invariants of every answer, and what this case's expectation adds. */
export function judge(c: Case, out: Outcome): string[] {
  const v: string[] = []
  const requestId = out.headers.get('x-request-id')
  if (!requestId) v.push('answer without X-Request-Id')
  if (out.status >= 500) v.push(`${out.status}: a server error`)
  if (out.contract) v.push(`not described by the OpenAPI document: ${out.contract}`)
  let body: ErrorBody | undefined
  if (out.status >= 400) {
    try {
      body = JSON.parse(out.text) as ErrorBody
    } catch {
      body = undefined
    }
    const e = body?.error
    if (!e || typeof e !== 'object') {
      v.push('error answer is not the envelope { error: { code, message, requestId } }')
    } else {
      if (typeof e.code !== 'string' || !(e.code in API_ERRORS))
        v.push(`error code ${JSON.stringify(e.code)} is not one of API.md's`)
      else if (!API_ERRORS[e.code]!.includes(out.status))
        v.push(`error code ${e.code} answered with status ${out.status}`)
      if (typeof e.message !== 'string' || e.message.length === 0) v.push('error without a message')
      if (typeof e.requestId !== 'string' || e.requestId !== requestId)
        v.push('error requestId is not the X-Request-Id header')
    }
    if (!(out.headers.get('content-type') ?? '').includes('application/json'))
      v.push('error answer is not application/json')
    if (out.bytes >= MAX_ERROR_BYTES) v.push(`error body of ${out.bytes} bytes (echoes the input?)`)
  }
  const code = typeof body?.error?.code === 'string' ? body.error.code : ''
  if (c.expect.status !== undefined && out.status !== c.expect.status) {
    v.push(`expected ${c.expect.status}${c.expect.code ? ` ${c.expect.code}` : ''}, got ${out.status}`)
  } else if (c.expect.code !== undefined && out.status < 500 && code !== c.expect.code) {
    v.push(`expected ${c.expect.code}, got ${code || out.status}`)
  }
  if (c.expect.reject && out.status < 400) v.push(`invalid input accepted (${out.status})`)
  if (c.expect.detailPath && out.status === 400 && code === 'VALIDATION_ERROR') {
    const paths = (body?.error?.details ?? []).map((d) => String(d.path))
    if (!paths.some((p) => names(p, c.expect.detailPath!))) {
      v.push(`VALIDATION_ERROR details do not name ${c.expect.detailPath}`)
    }
  }
  if (out.status === 401 && !out.headers.get('www-authenticate')) v.push('401 without WWW-Authenticate')
  return v
}

/**
 * Sends cases one after the other against the world, checks each answer and the database around it, and
 * keeps one failure per distinct (violation, route, location, mutation, status, code).
 */
export class Runner {
  readonly failures = new Map<string, Failure & { count: number }>()
  requests = 0
  skipped = 0
  /** Milliseconds spent per phase, to keep the run's cost visible. */
  readonly ms = { resolve: 0, send: 0, snapshot: 0, refresh: 0 }
  private before: Snapshot | undefined

  constructor(readonly world: World) {}

  private record(c: Case, violation: string, request: string, out: Outcome | undefined) {
    let code = ''
    try {
      code = String((JSON.parse(out?.text ?? '') as ErrorBody).error?.code ?? '')
    } catch {}
    const generic = violation.replace(/\d{3,}/g, 'N')
    const key = [generic, c.route.key, c.location, c.mutation, out?.status, code].join('|')
    const seen = this.failures.get(key)
    if (seen) {
      seen.count++
      return
    }
    this.failures.set(key, {
      violation,
      caseId: c.id,
      route: c.route.key,
      location: c.location,
      mutation: c.mutation,
      value: describeValue(c.value),
      request,
      status: out?.status ?? 0,
      code,
      body: clip(out?.text ?? '', 300),
      count: 1,
    })
  }

  async run(c: Case): Promise<Outcome | undefined> {
    const world = this.world
    let wire: ReturnType<typeof wireOf>
    let clock = performance.now()
    const lap = (phase: keyof Runner['ms']) => {
      const now = performance.now()
      this.ms[phase] += now - clock
      clock = now
    }
    const draft = await world.resolve(c.draft, c.route)
    lap('resolve')
    try {
      wire = wireOf(draft, world.tokens.user)
    } catch {
      this.skipped++ // a header value HTTP cannot carry (NUL, CR, LF): no server ever sees it
      return undefined
    }
    const before = this.before ?? (await world.snapshot())
    lap('snapshot')
    const request = describeWire(wire, world.tokens.user)
    let out: Outcome
    try {
      out = await send(world.t.app, wire)
    } catch (error) {
      this.record(c, `the app threw instead of answering: ${(error as Error).message}`, request, undefined)
      this.before = undefined
      return undefined
    } finally {
      this.requests++
      lap('send')
    }
    const violations = judge(c, out)
    if (world.namesOtherUser(c.draft) && out.status < 400) violations.push("another user's resource answered")
    if (out.status < 400 && world.foreignIds().some((id) => out.text.toLowerCase().includes(id))) {
      violations.push("another user's id in the answer")
    }

    const after = await world.snapshot()
    lap('snapshot')
    const diff = changed(before, after)
    // A user row appears only when a token of a new identity is accepted.
    const newIdentity = typeof c.draft.auth === 'object' && out.status < 400
    const other = diff.filter((key) => key.startsWith('other:') || (key === 'users' && !newIdentity))
    if (other.length > 0) {
      violations.push(`changed ${other.map((k) => (k === 'users' ? 'the number of users' : k)).join(', ')}`)
    }
    const own = diff.filter((key) => key.startsWith('own:'))
    if (out.status >= 400 && own.length > 0) {
      // The key as it went out (HTTP trims surrounding whitespace).
      const key = new Headers(wire.init.headers).get('idempotency-key')
      const allowed = key !== null && own.length === 1 && own[0] === 'own:idempotency_keys'
      const stored = allowed ? await world.storedKey(key) : undefined
      if (!(stored?.state === 'done' && stored.response_status === out.status)) {
        violations.push(`a ${out.status} changed data: ${own.map((k) => k.slice(4)).join(', ')}`)
      }
    }
    if (out.status < 400 && c.draft.method === 'GET') {
      const data = own.filter((k) => k !== 'own:idempotency_keys')
      if (data.length > 0) violations.push(`a GET changed data: ${data.map((k) => k.slice(4)).join(', ')}`)
    }
    for (const violation of violations) this.record(c, violation, request, out)

    this.before = after
    if (out.status < 300 && c.draft.method !== 'GET') {
      try {
        if (await world.refresh()) this.before = undefined
      } catch (error) {
        this.record(c, `fixtures could not be restored after it: ${(error as Error).message}`, request, out)
        this.before = undefined
      }
      lap('refresh')
    }
    return out
  }

  /**
   * The report: distinct failures grouped by cause (the broken invariant and the answer), each with the
   * route, the mutated location, the mutation and its value, the request to replay and the answer.
   */
  report(title: string, seed: number, extra = ''): string {
    const groups = new Map<string, (Failure & { count: number })[]>()
    for (const f of this.failures.values()) {
      const cause = `${f.violation.replace(/\d{3,} bytes/, 'N bytes')} — answer ${f.status}${f.code ? ` ${f.code}` : ''}`
      groups.set(cause, [...(groups.get(cause) ?? []), f])
    }
    const lines = [
      `${title}: ${this.failures.size} distinct failures in ${this.requests} requests (replay: FUZZ_SEED=${seed}${extra})`,
    ]
    const sorted = [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))
    const MAX = 25
    for (const [cause, failures] of sorted) {
      failures.sort((a, b) => a.mutation.localeCompare(b.mutation) || a.route.localeCompare(b.route))
      lines.push('', `● ${cause}  (${failures.length} distinct)`)
      for (const f of failures.slice(0, MAX)) {
        lines.push(
          `  - ${f.route} · ${f.location} ← ${f.mutation}: ${f.value}  [${f.caseId}${f.count > 1 ? `, ×${f.count}` : ''}]`,
          `      request: ${f.request}`,
          `      answer:  ${f.status} ${f.body}`,
        )
      }
      if (failures.length > MAX) {
        const rest = new Map<string, number>()
        for (const f of failures.slice(MAX)) rest.set(f.mutation, (rest.get(f.mutation) ?? 0) + 1)
        lines.push(
          `  … and ${failures.length - MAX} more: ${[...rest].map(([m, n]) => `${m} ×${n}`).join(', ')}`,
        )
      }
    }
    return lines.join('\n')
  }

  /** One line per distinct failure, for the assertion's diff. */
  summary(): string[] {
    return [...this.failures.values()].map(
      (f) => `${f.route} · ${f.location} ← ${f.mutation} → ${f.status} ${f.code}: ${f.violation}`,
    )
  }
}
