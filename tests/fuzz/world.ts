import { generateKeyPair } from 'jose'
import { sql } from 'kysely'
import type { TestApp } from '../helpers/app'
import { type Draft, encodeText } from './http'
import { RawJson, RawText } from './mutations'
import { paramKind, type RouteSpec, resourcePathOf } from './routes'
import { PLACEHOLDER } from './schema'

/**
 * Roles of the resources the fuzzer points path parameters and id fields at, so that requests reach the code
 * behind the lookups: a draft (patchable, sendable), an issued one (payable, voidable), and so on. `other`
 * belongs to a second user: every request naming it must fail as if it did not exist.
 */
export const ROLES: Record<string, string[]> = {
  customer: ['busy', 'free', 'other'],
  invoice: ['draft', 'sent', 'partial', 'paid', 'void', 'other'],
  payment: ['one'],
  creditNote: ['one', 'other'],
}

/** Ids nobody has, for kinds without fixtures (a new route's resource): requests reach the 404 path. */
const NOBODY = '5a4e3d2c-1b0a-4f9e-8d7c-6b5a4e3d2c1b'

interface Api {
  status: number
  body: Record<string, unknown>
  text: string
}

export class FixtureError extends Error {}

export interface Cursor {
  route: string
  /** The query that produced it (its sort and filters): a cursor is replayed with it. */
  query: Record<string, string>
  cursor: string
  sort: string
  /** The types of its keys, e.g. `date,uuid`. */
  signature: string
}

export interface Tokens {
  user: string
  other: string
  /** Authorization header values that must all answer 401. */
  bad: { label: string; header: string }[]
  /** Valid signatures over hostile claims. */
  hostile: { label: string; header: string }[]
}

export class World {
  readonly ids = new Map<string, string>()
  /** Per route: the roles of its path parameter that a valid request succeeds on. */
  readonly live = new Map<string, string[]>()
  readonly cursors: Cursor[] = []
  userId = ''
  otherUserId = ''
  tokens!: Tokens
  private tables: string[] = []

  constructor(readonly t: TestApp) {}

  /** Whether the app has a route for `method` at this concrete path (parameters match any one segment). */
  routeExists(method: string, pathname: string): boolean {
    return this.t.app.routes.some((route) => {
      if (route.method.toUpperCase() !== method) return false
      const pattern = route.path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:\w+/g, '[^/]+')
      return new RegExp(`^${pattern}$`).test(pathname)
    })
  }

  private async call(token: string, method: string, path: string, json?: unknown): Promise<Api> {
    const res = await this.t.request(path, { method, token, ...(json === undefined ? {} : { json }) })
    const text = await res.text()
    let body: Record<string, unknown> = {}
    try {
      body = JSON.parse(text) as Record<string, unknown>
    } catch {}
    return { status: res.status, body, text }
  }

  private async must(
    token: string,
    method: string,
    path: string,
    json?: unknown,
  ): Promise<Record<string, unknown>> {
    const res = await this.call(token, method, path, json)
    if (res.status >= 300) {
      throw new FixtureError(`fixture ${method} ${path} answered ${res.status}: ${res.text.slice(0, 400)}`)
    }
    return res.body
  }

  // -------------------------------------------------------------------------------------------------------
  // Fixtures

  async setup(): Promise<void> {
    const user = await this.t.token()
    const other = await this.t.token()
    this.tokens = { user, other, bad: await this.badTokens(user), hostile: await this.hostileTokens() }
    this.userId = String((await this.must(user, 'GET', '/api/v1/me'))['id'])
    this.otherUserId = String((await this.must(other, 'GET', '/api/v1/me'))['id'])
    await this.must(user, 'PATCH', '/api/v1/me', { companyName: 'Fuzz GmbH', defaultCurrency: 'EUR' })
    await this.must(other, 'PATCH', '/api/v1/me', { companyName: 'Other AG', defaultCurrency: 'EUR' })

    const otherCustomer = await this.createCustomer(other, 'Other customer')
    this.ids.set('customer.other', otherCustomer)
    const otherInvoice = await this.createDraft(other, otherCustomer, 5000)
    await this.must(other, 'POST', `/api/v1/invoices/${otherInvoice}/mark-as-sent`)
    this.ids.set('invoice.other', otherInvoice)
    // A second issued invoice of the other user, credited, so that their credit note exists to be named.
    const otherCredited = await this.createDraft(other, otherCustomer, 3000)
    await this.must(other, 'POST', `/api/v1/invoices/${otherCredited}/mark-as-sent`)
    const otherNote = await this.must(other, 'POST', `/api/v1/invoices/${otherCredited}/credit-notes`, {
      reason: 'duplicate',
    })
    this.ids.set('creditNote.other', String(otherNote['id']))
    await this.refresh()
    this.tables = await this.userTables()
    this.appendOnly = await this.appendOnlyTables()
  }

  private async createCustomer(token: string, name: string): Promise<string> {
    return String((await this.must(token, 'POST', '/api/v1/customers', { name, currency: 'EUR' }))['id'])
  }

  private async createDraft(token: string, customerId: string, unitPrice: number): Promise<string> {
    const items = [{ description: 'Fuzz line', quantity: 1, unitPrice, taxRate: 19 }]
    const body = { customerId, currency: 'EUR', items }
    return String((await this.must(token, 'POST', '/api/v1/invoices', body))['id'])
  }

  private async issued(unitPrice: number): Promise<Record<string, unknown>> {
    const u = this.tokens.user
    const id = await this.createDraft(u, this.ids.get('customer.busy')!, unitPrice)
    // A fuzzed profile may ask for Factur-X, which this bare seller cannot satisfy (422): fixtures are plain PDFs.
    await this.must(u, 'PATCH', '/api/v1/me', { eInvoiceFormat: 'none' })
    return this.must(u, 'POST', `/api/v1/invoices/${id}/mark-as-sent`)
  }

  /**
   * Puts back every role the last successful request used up (a draft that was sent, an invoice that was
   * paid or voided, a customer deleted…). Answers whether anything was created.
   */
  async refresh(): Promise<boolean> {
    const db = this.t.deps.database.db
    const u = this.tokens.user
    const own = [...this.ids.entries()].filter(([role]) => !role.endsWith('.other'))
    const ids = own.map(([, id]) => id)
    const invoices = ids.length
      ? await db
          .selectFrom('invoices')
          .select(['id', 'status', 'amount_paid', 'credited_total'])
          .select((eb) =>
            eb
              .selectFrom('invoice_items')
              .whereRef('invoice_items.invoice_id', '=', 'invoices.id')
              .select(eb.fn.countAll<string>().as('n'))
              .as('items'),
          )
          .where('id', 'in', ids)
          .where('user_id', '=', this.userId)
          .execute()
      : []
    const customers = ids.length
      ? await db
          .selectFrom('customers')
          .select(['id'])
          .select((eb) =>
            eb
              .selectFrom('invoices')
              .whereRef('invoices.customer_id', '=', 'customers.id')
              .select(eb.fn.countAll<string>().as('n'))
              .as('invoices'),
          )
          .where('id', 'in', ids)
          .where('user_id', '=', this.userId)
          .execute()
      : []
    const invoice = (role: string) => invoices.find((row) => row.id === this.ids.get(`invoice.${role}`))
    const customer = (role: string) => customers.find((row) => row.id === this.ids.get(`customer.${role}`))
    let changed = false
    const put = (role: string, id: string) => {
      this.ids.set(role, id)
      changed = true
    }

    if (!customer('busy')) put('customer.busy', await this.createCustomer(u, 'Busy customer'))
    const free = customer('free')
    if (!free || Number(free.invoices) > 0)
      put('customer.free', await this.createCustomer(u, 'Free customer'))
    const draft = invoice('draft')
    if (draft?.status !== 'draft' || Number(draft.items) === 0) {
      put('invoice.draft', await this.createDraft(u, this.ids.get('customer.busy')!, 2500))
    }
    const sent = invoice('sent')
    if (sent?.status !== 'sent' || Number(sent.amount_paid) !== 0 || Number(sent.credited_total) !== 0) {
      put('invoice.sent', String((await this.issued(100_000_000))['id']))
    }
    if (invoice('partial')?.status !== 'partially_paid') {
      const issued = await this.issued(100_000_000)
      const payment = await this.must(u, 'POST', `/api/v1/invoices/${issued['id']}/payments`, { amount: 100 })
      put('invoice.partial', String(issued['id']))
      put('payment.one', String(payment['id']))
    }
    if (invoice('paid')?.status !== 'paid') {
      const issued = await this.issued(1000)
      await this.must(u, 'POST', `/api/v1/invoices/${issued['id']}/payments`, { amount: issued['amountDue'] })
      put('invoice.paid', String(issued['id']))
    }
    if (!this.ids.has('creditNote.one')) {
      const issued = await this.issued(2000)
      const line = (issued['items'] as { id: string }[])[0]!
      const note = await this.must(u, 'POST', `/api/v1/invoices/${issued['id']}/credit-notes`, {
        reason: 'order_change',
        items: [{ invoiceItemId: line.id, quantity: 0.5 }],
      })
      put('creditNote.one', String(note['id']))
    }
    if (invoice('void')?.status !== 'void') {
      const issued = await this.issued(1000)
      await this.must(u, 'POST', `/api/v1/invoices/${issued['id']}/void`)
      put('invoice.void', String(issued['id']))
    }
    return changed
  }

  // -------------------------------------------------------------------------------------------------------
  // Placeholders

  /** `@@ref:invoice.draft@@` → the current draft's id (`:upper` in upper case); kinds without fixtures → nobody. */
  resolveText(value: string, etag: string | null): string {
    if (!value.includes('@@')) return value
    return value.replace(PLACEHOLDER, (_, ref: string) => {
      if (ref === 'etag') return etag ?? '"no-etag"'
      const [role, variant] = ref.slice(4).split(':')
      const id = this.ids.get(role!) ?? NOBODY
      return variant === 'upper' ? id.toUpperCase() : id
    })
  }

  private resolveValue(value: unknown, etag: string | null): unknown {
    if (typeof value === 'string') return this.resolveText(value, etag)
    if (Array.isArray(value)) return value.map((v) => this.resolveValue(v, etag))
    if (value instanceof RawText) return new RawText(this.resolveText(value.text, etag))
    if (value instanceof RawJson) {
      return new RawJson(this.resolveText(value.text, etag), this.resolveValue(value.parsed, etag))
    }
    if (value === null || typeof value !== 'object') return value
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolveValue(v, etag)]))
  }

  /** The draft with live ids and, when it asks for one, the current ETag of the resource it acts on. */
  async resolve(draft: Draft, route: RouteSpec): Promise<Draft> {
    const wantsEtag = JSON.stringify(draft.headers).includes('@@etag@@')
    const params = Object.fromEntries(
      Object.entries(draft.params).map(([k, v]) => [
        k,
        typeof v === 'string' ? this.resolveText(v, null) : new RawText(this.resolveText(v.text, null)),
      ]),
    )
    let etag: string | null = null
    if (wantsEtag) {
      const path = resourcePathOf(route).replace(/:(\w+)/g, (_, name: string) => {
        const value = params[name]
        return value instanceof RawText ? value.text : encodeText(value ?? '')
      })
      const res = await this.t.request(path, { token: this.tokens.user })
      await res.arrayBuffer()
      etag = res.headers.get('etag')
    }
    const resolved: Draft = {
      ...draft,
      params,
      query: this.resolveValue(draft.query, etag) as Record<string, unknown>,
      headers: this.resolveValue(draft.headers, etag) as Record<string, string>,
    }
    if (draft.body && 'json' in draft.body) resolved.body = { json: this.resolveValue(draft.body.json, etag) }
    return resolved
  }

  /** Whether a request's path or body names another user's resource (then it must not succeed). */
  namesOtherUser(draft: Draft): boolean {
    const named = JSON.stringify([draft.params, draft.body && 'json' in draft.body ? draft.body.json : null])
    return /@@ref:\w+\.other(:upper)?@@/.test(named)
  }

  /** Ids of the other user and their resources: no answer to the fuzzing user may contain one. */
  foreignIds(): string[] {
    return [
      this.otherUserId,
      ...[...this.ids.entries()].filter(([r]) => r.endsWith('.other')).map(([, id]) => id),
    ]
  }

  // -------------------------------------------------------------------------------------------------------
  // Calibration: which roles a valid request succeeds on, and real cursors of every list

  /** The id placeholders a path parameter of this route may take: live roles first. */
  rolesFor(route: RouteSpec, name: string): string[] {
    const kind = paramKind(route, name)
    if (!kind) return []
    const roles = (ROLES[kind] ?? ['none']).filter((r) => r !== 'other').map((r) => `${kind}.${r}`)
    const live = this.live.get(`${route.key} ${name}`) ?? []
    return [...live, ...roles.filter((r) => !live.includes(r))]
  }

  setLive(route: RouteSpec, name: string, roles: string[]) {
    this.live.set(`${route.key} ${name}`, roles)
  }

  addCursor(cursor: Cursor) {
    this.cursors.push(cursor)
  }

  // -------------------------------------------------------------------------------------------------------
  // Snapshot: per table and user, the row count and the newest row version (`xmin`, the id of the transaction
  // that wrote it). Any committed insert, update or delete changes one of them; reading changes neither.
  // Tables are found by their `user_id` column, so a new table is watched without touching this file.

  private async userTables(): Promise<string[]> {
    const rows = await sql<{ table_name: string }>`
      select distinct table_name from information_schema.columns
      where table_schema = current_schema() and column_name = 'user_id' order by table_name`.execute(
      this.t.deps.database.db,
    )
    return rows.rows.map((r) => r.table_name)
  }

  /**
   * Append-only logs (a `seq` column and no updates: `events`, `invoice_events`) are marked by their newest
   * `seq`, one index probe, instead of counting every row: the event log of the fuzzing user grows with every
   * accepted request, and a count would make each snapshot slower than the last.
   */
  private async appendOnlyTables(): Promise<Set<string>> {
    const rows = await sql<{ table_name: string }>`
      select table_name from information_schema.columns
      where table_schema = current_schema() and column_name = 'seq'`.execute(this.t.deps.database.db)
    return new Set(rows.rows.map((r) => r.table_name))
  }
  private appendOnly = new Set<string>()

  /** The snapshot statement: `$1` is the fuzzing user, `$2` the other one. */
  private snapshotText = ''

  async snapshot(): Promise<Snapshot> {
    if (!this.snapshotText) {
      const quote = (name: string) => `"${name.replace(/"/g, '""')}"`
      const mark = (table: string, column: string, param: string) =>
        this.appendOnly.has(table)
          ? `(select coalesce(max(seq), 0)::text from ${quote(table)} t where t.${column} = ${param}::uuid)`
          : `(select count(*) || ':' || coalesce(max(xmin::text::bigint), 0) from ${quote(table)} t where t.${column} = ${param}::uuid)`
      const parts = ['(select count(*)::text from users) as "users"']
      for (const [who, param] of [
        ['own', '$1'],
        ['other', '$2'],
      ] as const) {
        parts.push(`${mark('users', 'id', param)} as "${who}:users"`)
        for (const table of this.tables)
          parts.push(`${mark(table, 'user_id', param)} as ${quote(`${who}:${table}`)}`)
      }
      this.snapshotText = `select ${parts.join(',\n')}`
    }
    // Straight through postgres.js, prepared: planned once per connection, and outside the app's own guards.
    const rows = await this.t.deps.database.sql.unsafe(this.snapshotText, [this.userId, this.otherUserId], {
      prepare: true,
    })
    return rows[0] as Snapshot
  }

  /** The stored answer of an Idempotency-Key, if any. */
  async storedKey(key: string): Promise<{ state: string; response_status: number | null } | undefined> {
    return this.t.deps.database.db
      .selectFrom('idempotency_keys')
      .select(['state', 'response_status'])
      .where('user_id', '=', this.userId)
      .where('key', '=', key)
      .executeTakeFirst()
  }

  // -------------------------------------------------------------------------------------------------------
  // Tokens

  private async badTokens(valid: string): Promise<{ label: string; header: string }[]> {
    const { issuer } = this.t
    const [head, payload, signature] = valid.split('.') as [string, string, string]
    const flipped = signature.slice(0, -4) + (signature.endsWith('AAAA') ? 'BBBB' : 'AAAA')
    const foreign = await generateKeyPair('RS256', { extractable: true })
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>
    return [
      { label: 'no scheme', header: valid },
      { label: 'empty bearer', header: 'Bearer ' },
      { label: 'garbage bearer', header: 'Bearer not-a-token' },
      { label: 'basic scheme', header: 'Basic dXNlcjpwYXNz' },
      { label: 'tampered signature', header: `Bearer ${head}.${payload}.${flipped}` },
      { label: 'alg none', header: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${payload}.` },
      {
        label: 'expired',
        header: `Bearer ${await issuer.sign({}, { expiresIn: Math.floor(Date.now() / 1000) - 60 })}`,
      },
      {
        label: 'wrong issuer',
        header: `Bearer ${await issuer.sign({}, { issuer: 'https://evil.example.com/pool' })}`,
      },
      { label: 'wrong client', header: `Bearer ${await issuer.sign({ client_id: 'someone-else' })}` },
      { label: 'unknown key', header: `Bearer ${await issuer.sign({}, { privateKey: foreign.privateKey })}` },
      { label: 'payload altered', header: `Bearer ${head}.${b64({ ...claims, sub: 'admin' })}.${signature}` },
    ]
  }

  private async hostileTokens(): Promise<{ label: string; header: string }[]> {
    const { issuer } = this.t
    const sign = async (label: string, claims: Record<string, unknown>, tokenUse?: 'id') => ({
      label,
      header: `Bearer ${await issuer.sign(claims, tokenUse ? { tokenUse } : {})}`,
    })
    return [
      await sign('sub with NUL', { sub: `fuzz\u0000${crypto.randomUUID()}` }),
      await sign('sub with C1 control', { sub: `fuzz\u0085${crypto.randomUUID()}` }),
      await sign('sub with unpaired surrogate', { sub: `fuzz\uD800${crypto.randomUUID()}` }),
      await sign('sub of 10k chars', { sub: 'x'.repeat(10_000) }),
      await sign('id token email with NUL', { sub: crypto.randomUUID(), email: 'a\u0000@example.com' }, 'id'),
      await sign(
        'id token email unpaired surrogate',
        { sub: crypto.randomUUID(), email: '\uDC00@example.com' },
        'id',
      ),
    ]
  }
}

export type Snapshot = Record<string, string>

/** The names of snapshot entries that differ. */
export function changed(before: Snapshot, after: Snapshot): string[] {
  return Object.keys({ ...before, ...after }).filter((key) => before[key] !== after[key])
}
