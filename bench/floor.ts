/**
 * The raw floor of the benchmarks: a bare `Bun.serve` and postgres.js, with no framework, authentication,
 * validation, rate limit or logging, answering the same JSON as the API for the same reads of one user (the
 * user id is fixed at start): the invoice by primary key with its items, payments and credit notes (the SQL of
 * `invoiceView`), the list page (the same keyset query, filters and cursor), and `/health`. What the API costs
 * above this floor is what its layers cost.
 *
 *   DATABASE_URL=… FLOOR_USER_ID=<uuid> PORT=3100 bun bench/floor.ts
 *
 * Statements are prepared once per connection (one round trip per query). The invoice read keeps the
 * generic plan PostgreSQL settles on after five runs (a primary-key lookup: the best plan for any id); list
 * queries run on connections with `plan_cache_mode = force_custom_plan`, planned for their own parameters each
 * time as the API's are, because a generic plan can be far worse there (the number search took 120 ms instead
 * of 12 when it went generic). FLOOR_PREPARE=false sends every query as the API's Kysely driver does (postgres.js
 * `unsafe` without `prepare`: an unnamed statement, parsed, described and planned for every query, two round
 * trips). DB_POOL_MAX as the API's (default 20) for each of the two pools; a benchmark uses one at a time.
 */
import postgres from 'postgres'
import { containsPattern, foldForSearch } from '../src/shared/search'

const databaseUrl = process.env['DATABASE_URL']
const userId = process.env['FLOOR_USER_ID']
if (!databaseUrl || !userId) throw new Error('DATABASE_URL and FLOOR_USER_ID are required')
const prepare = process.env['FLOOR_PREPARE'] !== 'false'

const pool = (settings: Record<string, string> = {}) =>
  postgres(databaseUrl, {
    max: Number(process.env['DB_POOL_MAX'] ?? 20),
    onnotice: () => {},
    // As the API: calendar dates stay `YYYY-MM-DD` strings.
    types: {
      date: { to: 1082, from: [1082], serialize: (value: string) => value, parse: (value: string) => value },
    },
    connection: { application_name: 'invoice-bench-floor', ...settings },
  })
const sql = pool()
const listSql = pool({ plan_cache_mode: 'force_custom_plan' })

const VIEW = `select "i".*, i.status in ('sent', 'partially_paid') and i.due_date < (now() at time zone u.timezone)::date as "is_overdue", (select coalesce(json_agg(agg), '[]') from (select "it"."id", "it"."description", "it"."quantity", "it"."unit_price", "it"."tax_rate", "it"."subtotal", "it"."discount", "it"."tax", "it"."total" from "invoice_items" as "it" where "it"."invoice_id" = "i"."id" order by "it"."position") as agg) as "items", (select coalesce(json_agg(agg), '[]') from (select "p"."id", "p"."invoice_id", "p"."amount", "p"."paid_at", "p"."method", "p"."reference", "p"."created_at" from "payments" as "p" where "p"."invoice_id" = "i"."id" order by "p"."created_at", "p"."id") as agg) as "payments", (select coalesce(json_agg(agg), '[]') from (select "cn"."id", "cn"."number", "cn"."total", "cn"."issued_at" from "credit_notes" as "cn" where "cn"."invoice_id" = "i"."id" order by "cn"."number_seq") as agg) as "credit_notes", "c"."name" as "customer_name", "c"."email" as "customer_email", "c"."tax_id" as "customer_tax_id", "c"."address" as "customer_address", "u"."company_name" as "profile_company_name", "u"."profile_email" as "profile_email", "u"."phone" as "profile_phone", "u"."tax_id" as "profile_tax_id", "u"."address" as "profile_address" from "invoices" as "i" inner join "users" as "u" on "u"."id" = "i"."user_id" inner join "customers" as "c" on "c"."id" = "i"."customer_id"`

type Row = Record<string, unknown> & {
  items: Record<string, unknown>[]
  payments: Record<string, unknown>[]
  credit_notes: Record<string, unknown>[]
}

const iso = (value: unknown) => (value instanceof Date ? value : new Date(value as string)).toISOString()
const isoOrNull = (value: unknown) => (value === null ? null : iso(value))

/** The API's `toInvoice`, written out. */
function toInvoice(row: Row) {
  const draft = row['status'] === 'draft'
  const total = Number(row['total'])
  const amountPaid = Number(row['amount_paid'])
  const creditedTotal = Number(row['credited_total'])
  return {
    id: row['id'],
    number: row['number'],
    status: row['status'],
    customerId: row['customer_id'],
    billTo:
      !draft && row['bill_to']
        ? row['bill_to']
        : {
            name: row['customer_name'],
            email: row['customer_email'],
            taxId: row['customer_tax_id'],
            address: row['customer_address'],
          },
    from:
      !draft && row['seller']
        ? row['seller']
        : {
            companyName: row['profile_company_name'],
            email: row['profile_email'],
            phone: row['profile_phone'],
            taxId: row['profile_tax_id'],
            address: row['profile_address'],
          },
    currency: row['currency'],
    issueDate: row['issue_date'],
    dueDate: row['due_date'],
    discountPercent: Number(row['discount_percent']),
    notes: row['notes'],
    items: row.items.map((item) => ({
      id: item['id'],
      description: item['description'],
      quantity: Number(item['quantity']),
      unitPrice: Number(item['unit_price']),
      taxRate: Number(item['tax_rate']),
      subtotal: Number(item['subtotal']),
      discount: Number(item['discount']),
      tax: Number(item['tax']),
      total: Number(item['total']),
    })),
    subtotal: Number(row['subtotal']),
    discountTotal: Number(row['discount_total']),
    taxTotal: Number(row['tax_total']),
    total,
    amountPaid,
    creditedTotal,
    amountDue: Math.max(0, total - amountPaid - creditedTotal),
    isOverdue: row['is_overdue'],
    creditNotes: row.credit_notes.map((note) => ({
      id: note['id'],
      number: note['number'],
      total: Number(note['total']),
      issuedAt: iso(note['issued_at']),
    })),
    payments: row.payments.map((payment) => ({
      id: payment['id'],
      invoiceId: payment['invoice_id'],
      amount: Number(payment['amount']),
      paidAt: iso(payment['paid_at']),
      method: payment['method'],
      reference: payment['reference'],
      createdAt: iso(payment['created_at']),
    })),
    pdf:
      row['pdf_sha256'] && row['pdf_size'] !== null && row['pdf_generated_at']
        ? { sha256: row['pdf_sha256'], size: row['pdf_size'], generatedAt: iso(row['pdf_generated_at']) }
        : null,
    sentAt: isoOrNull(row['sent_at']),
    paidAt: isoOrNull(row['paid_at']),
    voidedAt: isoOrNull(row['voided_at']),
    version: row['version'],
    createdAt: iso(row['created_at']),
    updatedAt: iso(row['updated_at']),
  }
}

const query = (text: string, parameters: (string | number)[], on = sql) =>
  on.unsafe(text, parameters, { prepare }) as unknown as Promise<Row[]>

const notFound = () =>
  Response.json({ error: { code: 'NOT_FOUND', message: 'Invoice not found' } }, { status: 404 })

async function getInvoice(id: string): Promise<Response> {
  const [row] = await query(`${VIEW} where "i"."user_id" = $1 and "i"."id" = $2`, [userId!, id])
  return row ? Response.json(toInvoice(row)) : notFound()
}

const SORTS: Record<string, string> = {
  issueDate: 'issue_date',
  dueDate: 'due_date',
  total: 'total',
  number: 'number_seq',
}

/**
 * The list page: the same WHERE, ORDER BY and LIMIT as `listInvoiceViews`, parameters in the same places. The
 * position after a cursor is a row comparison; in the number sort the numbered invoices are read first and
 * the drafts (no number) by a second query when the numbered ones run out; `overdue` takes the page's ids from
 * the overdue set read by due date, then sorts them.
 */
async function listInvoices(search: URLSearchParams): Promise<Response> {
  const limit = Number(search.get('limit') ?? 20)
  const sort = search.get('sort') ?? '-issueDate'
  const descending = sort.startsWith('-')
  const column = SORTS[descending ? sort.slice(1) : sort]
  if (!column || !(limit >= 1 && limit <= 100)) return new Response('bad request', { status: 400 })
  const ref = `"i"."${column}"`
  const compare = descending ? '<' : '>'
  const direction = descending ? 'desc' : 'asc'
  const take = limit + 1

  const filters: { text: string; values: (string | number)[] }[] = []
  const status = search.get('status')
  const customerId = search.get('customerId')
  const issuedFrom = search.get('issuedFrom')
  const issuedTo = search.get('issuedTo')
  const q = search.get('q')
  const folded = q === null ? '' : foldForSearch(q)
  const cursor = search.get('cursor')
  const after = cursor
    ? (
        JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
          k: [string | number | null, string]
        }
      ).k
    : undefined

  if (status === 'overdue') {
    // As the API: the page's ids from the overdue set read by due date (kept apart by `offset 0`), then sorted.
    const inner = [
      'user_id = ?',
      "status in ('sent', 'partially_paid')",
      'due_date < (select (now() at time zone timezone)::date from users where id = ?)',
      ...(customerId ? ['customer_id = ?'] : []),
      ...(issuedFrom ? ['issue_date >= ?'] : []),
      ...(issuedTo ? ['issue_date <= ?'] : []),
      ...(folded ? ['search_text like ?'] : []),
    ].join(' and ')
    const o = `"o"."${column}"`
    const position = after && after[0] !== null ? `where (${o}, o.id) ${compare} (?, ?)` : ''
    filters.push({
      text:
        `i.id in (select o.id from (select id, issue_date, due_date, total, number_seq from invoices ` +
        `where ${inner} offset 0) o ${position} order by ${o} ${direction}, o.id ${direction} limit ?)`,
      values: [
        userId!,
        userId!,
        ...(customerId ? [customerId] : []),
        ...(issuedFrom ? [issuedFrom] : []),
        ...(issuedTo ? [issuedTo] : []),
        ...(folded ? [containsPattern(folded)] : []),
        ...(after && after[0] !== null ? [after[0], after[1]] : []),
        take,
      ],
    })
  } else {
    if (status) filters.push({ text: '"i"."status" = ?', values: [status] })
    if (customerId) filters.push({ text: '"i"."customer_id" = ?', values: [customerId] })
    if (issuedFrom) filters.push({ text: '"i"."issue_date" >= ?', values: [issuedFrom] })
    if (issuedTo) filters.push({ text: '"i"."issue_date" <= ?', values: [issuedTo] })
    if (folded) filters.push({ text: '"i"."search_text" like ?', values: [containsPattern(folded)] })
  }

  /** `select … where user_id = $1 and <filters> and <extra> order by … limit $n`, numbered in order. */
  const page = (extra: { text: string; values: (string | number)[] }[]) => {
    const parameters: (string | number)[] = [userId!]
    const clauses = [...filters, ...extra].map(({ text, values }) => {
      let i = 0
      return text.replace(/\?/g, () => `$${parameters.push(values[i++]!)}`)
    })
    const where = ['"i"."user_id" = $1', ...clauses].join(' and ')
    const text = `${VIEW} where ${where} order by ${ref} ${direction}, i.id ${direction} limit $${parameters.push(take)}`
    return query(text, parameters, listSql)
  }
  const afterRow = (value: string | number, id: string) => ({
    text: `(${ref}, i.id) ${compare} (?, ?)`,
    values: [value, id],
  })

  let rows: Row[]
  if (status === 'overdue') {
    // Every sent invoice has a number: there is no drafts part.
    rows = after?.[0] === null ? [] : await page([])
  } else if (column !== 'number_seq') {
    rows = await page(after ? [afterRow(after[0]!, after[1])] : [])
  } else {
    const drafts = () =>
      page([
        { text: '"i"."number_seq" is null', values: [] },
        ...(after?.[0] === null ? [{ text: `i.id ${compare} ?`, values: [after[1]] }] : []),
      ])
    if (after?.[0] === null) {
      rows = await drafts()
    } else {
      const numbered = await page([
        { text: '"i"."number_seq" is not null', values: [] },
        ...(after ? [afterRow(after[0]!, after[1])] : []),
      ])
      rows =
        numbered.length === take
          ? numbered
          : [...numbered, ...(await drafts()).slice(0, take - numbered.length)]
    }
  }

  const served = rows.slice(0, limit)
  const last = served.at(-1)
  let nextCursor: string | null = null
  if (rows.length > limit && last) {
    const raw = last[column]
    const value = column === 'issue_date' || column === 'due_date' ? raw : raw === null ? null : Number(raw)
    nextCursor = Buffer.from(
      JSON.stringify({ s: `invoices:${sort}`, k: [value, last['id']] }),
      'utf8',
    ).toString('base64url')
  }
  return Response.json({ data: served.map(toInvoice), nextCursor })
}

const PREFIX = '/api/v1/invoices'

const server = Bun.serve({
  port: Number(process.env['PORT'] ?? 3100),
  hostname: '127.0.0.1',
  async fetch(request) {
    const url = new URL(request.url)
    if (url.pathname === '/health')
      return Response.json({ status: 'ok', timestamp: new Date().toISOString() })
    if (url.pathname === PREFIX) return listInvoices(url.searchParams)
    if (url.pathname.startsWith(`${PREFIX}/`)) return getInvoice(url.pathname.slice(PREFIX.length + 1))
    return new Response('not found', { status: 404 })
  },
  error(error) {
    console.error(error)
    return new Response('internal error', { status: 500 })
  },
})

console.log(`floor listening on ${server.port} (prepared statements: ${prepare})`)
process.on('SIGTERM', () => {
  server.stop(true)
  void Promise.all([sql.end({ timeout: 2 }), listSql.end({ timeout: 2 })]).then(() => process.exit(0))
})
