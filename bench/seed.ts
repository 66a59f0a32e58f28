/**
 * Fills a scratch database with invoicing data at scale, set-based in SQL (generate_series), for the
 * benchmarks of bench/run.ts and for EXPLAIN work.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/invoice_bench bun run bench:seed
 *   DATABASE_URL=… bun run bench:seed --invoices 100000 --users 100        a quick run
 *
 * Options: --invoices N (1,000,000), --users N (1,000), --busy-invoices N (a tenth of --invoices: 100,000),
 * --customers-per-user N (50), --jobs N (2: parallel sessions for the large steps), --force (any database
 * name). Without --force the database's name must start with `invoice_bench`, so nobody seeds production.
 * The database is created when missing, migrated to the latest migration, and its data REPLACED.
 *
 * What it makes:
 * - users: one "busy" user (busy@example.com, Europe/Berlin, EUR) with --busy-invoices invoices, whose
 *   `cognito_sub` is the development issuer's `sub` for that email, so `bun run token busy@example.com`
 *   authenticates as them; the other invoices spread unevenly over the other users (user-0002@example.com, …,
 *   each also signable), in six regions (EUR 45 %, USD 40 %, GBP 10 %, JPY 5 % of users), payment terms
 *   14–60 days, default tax rates 19, 20, 8.875, 7.25, 20 and 10 %.
 * - customers: --customers-per-user per user; 80 % in the user's currency; names with diacritics, Greek and
 *   Cyrillic, `search_text` folded exactly as the API folds it.
 * - invoices: 10 % draft, 50 % paid, 20 % sent and 10 % partially paid (both not yet due), 5 % overdue
 *   (sent or partially paid, due dates 1 day to ~3 years past, most within 90 days), 5 % void; paid and
 *   void ones issued over the last three years, open ones within their payment terms, drafts in the last two
 *   weeks. Currency is the customer's. Discounts on a fifth of them.
 * - invoice_items: 1–60 per invoice, 10 on average (≈ 10 per invoice × --invoices); quantities, prices and
 *   tax rates of several shapes, amounts computed in SQL numeric with API.md's rules (round half away from
 *   zero per line); invoice totals are the sums of their lines.
 * - payments: one to three for paid invoices (adding up to the total), one or two for partially paid ones
 *   (20–80 % of it); each carries its invoice's currency.
 * - numbers: gapless per user in the order invoices were sent, `last_invoice_number`/`next_invoice_number`
 *   following; issued invoices have their frozen `billTo`/`from` and PDF metadata (no PDF object is stored:
 *   the PDF link route would render it again on first request).
 * - invoice_events: created, sent, payment_recorded, paid and voided, as the API would have written them.
 * - credit_notes and credit_note_items: about 3 % of the issued invoices (sent, partially paid or paid)
 *   credited after their sending and their last payment, up to 45 days later and spread evenly up to now
 *   (recent invoices are credited less often): 40 % in full (status `credited`), 45 % partially (some
 *   lines, whole units of some of them), 15 % partially and then, later, the rest (`credited` in two notes).
 *   Lines are priced as `creditLine` (src/shared/money/credits.ts) prices them: the first credit of a line is
 *   the rule amounts of its quantity, the credit that exhausts a line takes what is left of it. Numbered in the
 *   user's CN- series in the order they were issued; `credited_total`, the status, `paid_at` (an invoice whose
 *   payments and credits cover it becomes paid), `applied_to_balance`/`refund_due` and the `credited` (and
 *   `paid`) events follow the notes one after the other, as the API would have applied them.
 *
 * How: the indexes and constraints of the four large tables (invoices, invoice_items, payments,
 * invoice_events) are dropped after their definitions are saved in `bench_seed_ddl`, the rows are generated
 * in UNLOGGED staging tables and inserted, then the very same definitions are created again (indexes on
 * --jobs sessions, foreign keys added NOT VALID and validated) and a fingerprint of the catalog is compared
 * with the one taken before. A run that dies midway leaves `bench_seed_ddl` behind, and the next run puts the
 * schema back from it first. Loading runs with `session_replication_role = replica` (no triggers; it needs a
 * superuser), and the report tables are then rebuilt in one pass by `report_rebuild_rollups()` (credit notes
 * included). The foreign keys that point into the four tables (credit notes to invoices and their lines) are
 * dropped and restored with them. Ends with VACUUM (ANALYZE) (index-only scans need the visibility map), a
 * CHECKPOINT, consistency checks (gapless invoice and credit-note numbers, totals = sums of lines, amount paid
 * = sum of payments, credited total = sum of credit notes, statuses that follow the balance, credits within
 * their lines, a sample of invoices recomputed with the API's money module and of credit lines with its
 * `creditLine`, and the database's own deferred credit-note check run again on a sample) and the sizes.
 */
import { parseArgs } from 'node:util'
import { Kysely } from 'kysely'
import { PostgresJSDialect } from 'kysely-postgres-js'
import postgres from 'postgres'
import { migrateToLatest } from '../db/migrator'
import type { DB } from '../db/schema'
import { stableSub } from '../src/lib/auth/dev-issuer'
import { computeInvoice, creditLine, parseDecimal3 } from '../src/shared/money'
import { foldForSearch, searchTextOf } from '../src/shared/search'
import {
  COMPANY_KINDS,
  COMPANY_SUFFIXES,
  COMPANY_WORDS,
  CREDIT_MEMOS,
  FIRST_NAMES,
  ITEM_DESCRIPTIONS,
  LAST_NAMES,
  NOTES,
  REGIONS,
  type Region,
  STREETS,
} from './vocabulary'

export const BUSY_EMAIL = 'busy@example.com'
export const userEmail = (index: number) => (index === 1 ? BUSY_EMAIL : `user-${pad(index, 4)}@example.com`)

/** Tables loaded with their indexes and constraints dropped. */
const LOADED_TABLES = ['invoices', 'invoice_items', 'payments', 'invoice_events'] as const
const STAGING_TABLES = [
  'bench_seed_users',
  'bench_seed_customers',
  'bench_seed_invoices',
  'bench_seed_totals',
  'bench_seed_payments',
  'bench_seed_paid',
  'bench_seed_final',
  'bench_seed_credited',
  'bench_seed_credit_lines',
  'bench_seed_credit_items',
  'bench_seed_credit_notes',
] as const
const CUSTOMER_POOL = 5_000
/**
 * The chance of an issued invoice (sent, partially paid, paid) to be credited, less for the recent ones (see
 * stageCreditNotes): about 3 % of them are.
 */
const CREDIT_CHANCE = 0.04

interface Options {
  invoices: number
  users: number
  busyInvoices: number
  customersPerUser: number
  jobs: number
  force: boolean
}

type Sql = postgres.Sql<Record<string, never>>

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0')
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      invoices: { type: 'string' },
      users: { type: 'string' },
      'busy-invoices': { type: 'string' },
      'customers-per-user': { type: 'string' },
      jobs: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
    strict: true,
  })
  const int = (name: string, raw: string | undefined, fallback: number, min: number, max: number) => {
    if (raw === undefined) return fallback
    const value = Number(raw.replaceAll('_', ''))
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new Error(`--${name} must be an integer from ${min} to ${max}`)
    }
    return value
  }
  const invoices = int('invoices', values.invoices, 1_000_000, 1, 20_000_000)
  const users = int('users', values.users, 1_000, 1, 100_000)
  const busyDefault = users === 1 ? invoices : Math.round(invoices / 10)
  const busyInvoices = int('busy-invoices', values['busy-invoices'], busyDefault, 0, invoices)
  if (users === 1 && busyInvoices !== invoices)
    throw new Error('with one user, every invoice is the busy one')
  return {
    invoices,
    users,
    busyInvoices,
    customersPerUser: int('customers-per-user', values['customers-per-user'], 50, 1, 1_000),
    jobs: int('jobs', values.jobs, 2, 1, 8),
    force: values.force ?? false,
  }
}

/** A small seeded generator, so the users' profiles come out the same on every run. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const pick = <T>(random: () => number, values: readonly T[]): T =>
  values[Math.floor(random() * values.length)]!

function pickRegion(random: () => number): Region {
  const total = REGIONS.reduce((sum, region) => sum + region.weight, 0)
  let at = random() * total
  for (const region of REGIONS) {
    at -= region.weight
    if (at < 0) return region
  }
  return REGIONS[0]!
}

const slug = (text: string) =>
  foldForSearch(text)
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '') || 'co'

function address(random: () => number, region: Region) {
  const [city, postalCode] = pick(random, region.cities)
  return {
    line1: `${pick(random, STREETS)} ${1 + Math.floor(random() * 180)}`,
    line2: random() < 0.2 ? `Suite ${1 + Math.floor(random() * 40)}` : null,
    city,
    region: null,
    postalCode,
    country: region.country,
  }
}

/** Invoice counts per user: the busy one, then the rest spread unevenly (weights 0.25–1.75) over the others. */
function invoiceCounts(options: Options, random: () => number): number[] {
  if (options.users === 1) return [options.invoices]
  const rest = options.invoices - options.busyInvoices
  const weights = Array.from({ length: options.users - 1 }, () => 0.25 + random() * 1.5)
  const sum = weights.reduce((a, b) => a + b, 0)
  const counts = weights.map((w) => Math.floor((w / sum) * rest))
  let missing = rest - counts.reduce((a, b) => a + b, 0)
  for (let i = 0; missing > 0; i = (i + 1) % counts.length, missing--) counts[i]! += 1
  return [options.busyInvoices, ...counts]
}

async function usersData(options: Options) {
  const random = mulberry32(20_261_126)
  const rows = invoiceCounts(options, random).map((invoices, i) => {
    const index = i + 1
    const busy = index === 1
    const region = busy ? REGIONS[0]! : pickRegion(random)
    const company = busy
      ? 'Busy Bench GmbH'
      : `${pick(random, COMPANY_WORDS)} ${pick(random, COMPANY_KINDS)} ${pick(random, COMPANY_SUFFIXES)}`
    const prefixRoll = random()
    return {
      index,
      email: userEmail(index),
      invoices,
      company,
      profileEmail: `billing@${slug(company)}.example`,
      phone: `+${10 + Math.floor(random() * 80)} ${100_000_000 + Math.floor(random() * 899_999_999)}`,
      taxId: `${region.country}${100_000_000 + Math.floor(random() * 899_999_999)}`,
      address: JSON.stringify(address(random, region)),
      currency: region.currency,
      terms: busy ? 30 : pick(random, [14, 30, 30, 30, 45, 60]),
      taxRate: region.taxRate,
      prefix: busy || prefixRoll < 0.85 ? 'INV-' : prefixRoll < 0.95 ? 'RE-' : 'F-',
      timezone: region.timezone,
    }
  })
  return Promise.all(rows.map(async (row) => ({ ...row, sub: await stableSub(row.email) })))
}

/** Customer names, emails and their folded search text, shared by all users (each takes 50 distinct ones). */
function customerPool() {
  const random = mulberry32(42)
  return Array.from({ length: CUSTOMER_POOL }, () => {
    const person = random() < 0.4
    const name = person
      ? `${pick(random, FIRST_NAMES)} ${pick(random, LAST_NAMES)}`
      : `${pick(random, LAST_NAMES)} ${pick(random, COMPANY_KINDS)} ${pick(random, COMPANY_SUFFIXES)}`
    const email = random() < 0.9 ? `accounts@${slug(name)}-${Math.floor(random() * 1000)}.example` : null
    const region = pickRegion(random)
    return {
      name,
      email,
      foldedName: foldForSearch(name),
      searchText: searchTextOf(name, email),
      taxId: random() < 0.6 ? `${region.country}${100_000_000 + Math.floor(random() * 899_999_999)}` : null,
      phone: random() < 0.5 ? `+${10 + Math.floor(random() * 80)} ${Math.floor(random() * 1e9)}` : null,
      address: JSON.stringify(address(random, region)),
    }
  })
}

const elapsed = (started: number) => `${((performance.now() - started) / 1000).toFixed(1)} s`
const count = (n: number | bigint | string) => Number(n).toLocaleString('en-US')

async function step<T>(label: string, work: () => Promise<T>, describe?: (result: T) => string): Promise<T> {
  const started = performance.now()
  process.stdout.write(`  ${label.padEnd(44, ' ')}`)
  const result = await work()
  console.log(`${elapsed(started).padStart(8)}${describe ? `  ${describe(result)}` : ''}`)
  return result
}

/** Runs the tasks on up to `jobs` sessions at once (the pool's size), in the order given. */
async function parallel(jobs: number, tasks: (() => Promise<unknown>)[]): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(jobs, tasks.length) }, async () => {
      while (next < tasks.length) await tasks[next++]!()
    }),
  )
}

/** [from, to] ranges of `seq` (1…total) in `chunks` pieces. */
function ranges(total: number, chunks: number): [number, number][] {
  const size = Math.ceil(total / chunks)
  return Array.from({ length: Math.ceil(total / size) }, (_, i) => [
    i * size,
    Math.min(total, (i + 1) * size),
  ])
}

// ---------------------------------------------------------------------------------------------------------
// Schema: save, drop, recreate, compare

interface SavedDdl {
  ord: number
  kind: 'index' | 'constraint_index' | 'attach' | 'foreign_key' | 'validate'
  name: string
  table_name: string
  statement: string
}

const fingerprintQuery = (sql: Sql) => sql<{ fingerprint: string; objects: number }[]>`
  with t as (select unnest(${sql.array([...LOADED_TABLES])}::regclass[]) as oid),
  parts as (
    select 'c ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(c.oid) || ' ' || convalidated as x
    from pg_constraint c where conrelid in (select oid from t) or confrelid in (select oid from t)
    union all
    select 'i ' || indexrelid::regclass || ' ' || pg_get_indexdef(indexrelid) || ' ' || indisprimary || indisunique
    from pg_index where indrelid in (select oid from t)
    union all
    select 'a ' || attrelid::regclass || ' ' || attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull
           || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where attrelid in (select oid from t) and attnum > 0 and not attisdropped
  )
  select md5(string_agg(x, E'\n' order by x)) as fingerprint, count(*)::int as objects from parts`

/** What to run, in order, to put back the indexes and constraints of the loaded tables as they are now. */
async function captureDdl(sql: Sql): Promise<Omit<SavedDdl, 'ord'>[]> {
  const tables = sql.array([...LOADED_TABLES])
  const indexes = await sql<{ name: string; table_name: string; definition: string }[]>`
    select indexrelid::regclass::text as name, indrelid::regclass::text as table_name,
           pg_get_indexdef(indexrelid) as definition
    from pg_index i
    where indrelid = any(${tables}::regclass[])
      and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid and c.contype in ('p', 'u', 'x'))
    order by pg_relation_size(indrelid) desc, indexrelid`
  const constraints = await sql<
    { name: string; table_name: string; kind: string; definition: string; index_definition: string | null }[]
  >`
    select conname as name, conrelid::regclass::text as table_name, contype as kind,
           pg_get_constraintdef(oid) as definition,
           case when contype in ('p', 'u') then pg_get_indexdef(conindid) end as index_definition,
           case when contype in ('p', 'u') then conindid::regclass::text end as index_name
    from pg_constraint
    where contype in ('p', 'u', 'f')
      and (conrelid = any(${tables}::regclass[]) or confrelid = any(${tables}::regclass[]))
    order by pg_relation_size(conrelid) desc, oid`
  const ident = (name: string) => `"${name.replaceAll('"', '""')}"`
  const ddl: Omit<SavedDdl, 'ord'>[] = []
  for (const c of constraints.filter((c) => c.kind !== 'f')) {
    ddl.push({
      kind: 'constraint_index',
      name: c.name,
      table_name: c.table_name,
      statement: c.index_definition!,
    })
  }
  for (const i of indexes)
    ddl.push({ kind: 'index', name: i.name, table_name: i.table_name, statement: i.definition })
  for (const c of constraints.filter((c) => c.kind !== 'f')) {
    const what = c.kind === 'p' ? 'primary key' : 'unique'
    ddl.push({
      kind: 'attach',
      name: c.name,
      table_name: c.table_name,
      statement: `alter table ${c.table_name} add constraint ${ident(c.name)} ${what} using index ${ident(c.name)}`,
    })
  }
  for (const c of constraints.filter((c) => c.kind === 'f')) {
    ddl.push({
      kind: 'foreign_key',
      name: c.name,
      table_name: c.table_name,
      statement: `alter table ${c.table_name} add constraint ${ident(c.name)} ${c.definition} not valid`,
    })
    ddl.push({
      kind: 'validate',
      name: c.name,
      table_name: c.table_name,
      statement: `alter table ${c.table_name} validate constraint ${ident(c.name)}`,
    })
  }
  return ddl
}

/** Saves the definitions, then drops foreign keys, primary/unique constraints and indexes, in one transaction. */
async function dropForLoad(
  sql: Sql,
): Promise<{ fingerprint: string; objects: number; indexes: number; constraints: number }> {
  const [before] = await fingerprintQuery(sql)
  const ddl = await captureDdl(sql)
  await sql.begin(async (tx) => {
    await tx`create table bench_seed_ddl (ord int primary key, kind text not null, name text not null,
      table_name text not null, statement text not null)`
    await tx`insert into bench_seed_ddl ${tx(ddl.map((d, ord) => ({ ord, ...d })))}`
    await tx`insert into bench_seed_ddl values (-1, 'fingerprint', ${before!.fingerprint}, '', '')`
    for (const d of ddl.filter((d) => d.kind === 'foreign_key')) {
      await tx.unsafe(`alter table ${d.table_name} drop constraint "${d.name}"`)
    }
    for (const d of ddl.filter((d) => d.kind === 'attach')) {
      await tx.unsafe(`alter table ${d.table_name} drop constraint "${d.name}"`)
    }
    for (const d of ddl.filter((d) => d.kind === 'index')) await tx.unsafe(`drop index "${d.name}"`)
  })
  return {
    ...before!,
    indexes: ddl.filter((d) => d.kind === 'index' || d.kind === 'constraint_index').length,
    constraints: ddl.filter((d) => d.kind === 'attach' || d.kind === 'foreign_key').length,
  }
}

/**
 * Puts back whatever `bench_seed_ddl` lists and is missing: indexes on `jobs` sessions (largest tables first),
 * then primary/unique constraints over those indexes, then foreign keys (NOT VALID, then validated in
 * parallel: validation takes no lock that would stop the other validations).
 */
async function restoreSchema(sql: Sql, jobs: number): Promise<void> {
  const ddl = await sql<SavedDdl[]>`select * from bench_seed_ddl where ord >= 0 order by ord`
  const exists = async (d: SavedDdl) => {
    if (d.kind === 'index' || d.kind === 'constraint_index') {
      const [row] = await sql`select to_regclass(${d.name}) is not null as present`
      return row!['present'] as boolean
    }
    const [row] = await sql`
      select convalidated from pg_constraint where conname = ${d.name} and conrelid = ${d.table_name}::regclass`
    if (!row) return false
    return d.kind === 'validate' ? (row['convalidated'] as boolean) : true
  }
  const run = (kinds: SavedDdl['kind'][]) =>
    ddl
      .filter((d) => kinds.includes(d.kind))
      .map((d) => async () => (await exists(d)) || (await sql.unsafe(d.statement)))
  await parallel(jobs, run(['constraint_index', 'index']))
  for (const task of run(['attach', 'foreign_key'])) await task()
  await parallel(jobs, run(['validate']))
  const [saved] = await sql`select name from bench_seed_ddl where ord = -1`
  const [after] = await fingerprintQuery(sql)
  if (saved && after!.fingerprint !== saved['name']) {
    throw new Error(
      `the restored schema differs from the one saved before the load (fingerprint ${after!.fingerprint} ≠ ` +
        `${saved['name']}); bench_seed_ddl is kept for inspection`,
    )
  }
  await sql`drop table bench_seed_ddl`
}

// ---------------------------------------------------------------------------------------------------------
// Data

async function truncateAll(sql: Sql) {
  await sql`truncate users, customers, idempotency_keys, invoices, invoice_items, payments, invoice_events,
                     credit_notes, credit_note_items, invoice_number_skips,
                     report_open_balances, report_draft_counts, report_daily_totals, report_monthly_totals
            restart identity cascade`
}

async function dropStaging(sql: Sql) {
  for (const table of STAGING_TABLES) await sql.unsafe(`drop table if exists ${table}`)
}

async function insertUsers(sql: Sql, users: Awaited<ReturnType<typeof usersData>>) {
  const col = <K extends keyof (typeof users)[number]>(key: K) => users.map((u) => u[key])
  await sql`
    insert into users (cognito_sub, email, company_name, profile_email, phone, tax_id, address, default_currency,
                       payment_terms_days, default_tax_rate, invoice_prefix, timezone, created_at, updated_at)
    select sub, email, company, profile_email, phone, tax_id, address::jsonb, currency, terms, tax_rate::numeric,
           prefix, timezone, now() - interval '3 years 90 days', now() - interval '3 years 90 days'
    from unnest(${sql.array(col('sub'))}::text[], ${sql.array(col('email'))}::text[],
                ${sql.array(col('company'))}::text[], ${sql.array(col('profileEmail'))}::text[],
                ${sql.array(col('phone'))}::text[], ${sql.array(col('taxId'))}::text[],
                ${sql.array(col('address'))}::text[], ${sql.array(col('currency'))}::text[],
                ${sql.array(col('terms'))}::int[], ${sql.array(col('taxRate'))}::text[],
                ${sql.array(col('prefix'))}::text[], ${sql.array(col('timezone'))}::text[])
      as t(sub, email, company, profile_email, phone, tax_id, address, currency, terms, tax_rate, prefix, timezone)`
  await sql`
    create unlogged table bench_seed_users with (autovacuum_enabled = false) as
    select t.idx, u.id, t.n_invoices, u.payment_terms_days as terms, u.default_tax_rate as tax_rate,
           u.default_currency as currency
    from unnest(${sql.array(col('index'))}::int[], ${sql.array(col('sub'))}::text[],
                ${sql.array(col('invoices'))}::int[]) as t(idx, sub, n_invoices)
    join users u on u.cognito_sub = t.sub`
}

async function insertCustomers(sql: Sql, perUser: number) {
  const pool = customerPool()
  const col = <K extends keyof (typeof pool)[number]>(key: K) => pool.map((c) => c[key])
  // Customer k of user u is pool entry (u·7919 + k·4729) mod 5000: distinct for k < 5000 (4729 and 5000 are
  // coprime), and a different mix for every user.
  await sql`
    create unlogged table bench_seed_customers with (autovacuum_enabled = false) as
    select gen_random_uuid() as id, u.idx as user_idx, u.id as user_id, k, p.name, p.email, p.folded_name,
           p.search_text, p.tax_id, p.phone, p.address::jsonb as address,
           case when random() < 0.8 then u.currency
                else (array['EUR', 'EUR', 'EUR', 'USD', 'USD', 'USD', 'GBP', 'JPY'])[1 + floor(random() * 8)::int]
           end as currency,
           now() - interval '3 years 60 days' + random() * interval '50 days' as created_at
    from bench_seed_users u
    cross join generate_series(1, ${perUser}::int) k
    join unnest(${sql.array(col('name'))}::text[], ${sql.array(col('email'))}::text[],
                ${sql.array(col('foldedName'))}::text[], ${sql.array(col('searchText'))}::text[],
                ${sql.array(col('taxId'))}::text[], ${sql.array(col('phone'))}::text[],
                ${sql.array(col('address'))}::text[])
         with ordinality as p(name, email, folded_name, search_text, tax_id, phone, address, ord)
      on p.ord = 1 + (u.idx::bigint * 7919 + k::bigint * 4729) % ${CUSTOMER_POOL}`
  await sql`create index on bench_seed_customers (user_idx, k)`
  await sql`
    insert into customers (id, user_id, name, email, phone, tax_id, address, currency, notes, search_text,
                           created_at, updated_at)
    select id, user_id, name, email, phone, tax_id, address, currency, null, search_text, created_at, created_at
    from bench_seed_customers`
}

/**
 * One row per invoice with every random choice made once (the `base` CTE is materialized, so later
 * expressions read the same values): status, dates, customer, counts, and the number, gapless per user in
 * the order of `sent_at`.
 */
async function stageInvoices(sql: Sql, today: string, perUser: number) {
  await sql`
    create unlogged table bench_seed_invoices with (autovacuum_enabled = false) as
    with base as materialized (
      select gen_random_uuid() as id, u.idx as user_idx, u.id as user_id, u.terms, u.tax_rate as user_tax_rate,
             random() as r_status, random() as r_kind, random() as r_date, random() as r_cust, random() as r_items,
             random() as r_disc, random() as r_time, random() as r_time2, random() as r_parts, random() as r_paid,
             random() as r_span, random() as r_notes
      from bench_seed_users u cross join lateral generate_series(1, u.n_invoices) g
    ), typed as (
      select b.*,
             case when r_status < 0.10 then 'draft' when r_status < 0.60 then 'paid'
                  when r_status < 0.80 then 'sent' when r_status < 0.90 then 'partially_paid'
                  when r_status < 0.95 then case when r_kind < 0.8 then 'sent' else 'partially_paid' end
                  else 'void' end as status,
             case when r_status < 0.10 then 'draft' when r_status < 0.60 then 'settled'
                  when r_status < 0.90 then 'open' when r_status < 0.95 then 'overdue'
                  else 'settled' end as timing
      from base b
    ), dated as (
      select t.*,
             case timing
               when 'draft' then ${today}::date - floor(r_date * 14)::int
               when 'open' then ${today}::date - floor(r_date * (terms + 1))::int
               when 'overdue' then ${today}::date - terms - least(1 + floor(-ln(1 - r_date) * 45)::int, 1000)
               else ${today}::date - 1 - floor(r_date * 1094)::int
             end as issue_date
      from typed t
    ), timed as (
      select d.*, d.issue_date + d.terms as due_date,
             least(now() - interval '1 minute',
                   d.issue_date::timestamp at time zone 'UTC' + interval '8 hours' + r_time * interval '9 hours')
               as created_at
      from dated d
    ), sent as (
      select t.*,
             case when status <> 'draft' then least(now() - interval '30 seconds', created_at + r_time2 * interval '6 hours') end
               as sent_at
      from timed t
    )
    select row_number() over () as seq, s.id, s.user_idx, s.user_id, c.id as customer_id, c.currency,
           s.status, s.issue_date, s.due_date, s.created_at, s.sent_at, s.user_tax_rate,
           case when s.status <> 'draft'
                then row_number() over (partition by s.user_idx, s.status = 'draft' order by s.sent_at, s.id) end
             as number_seq,
           least(60, 1 + floor(-ln(1 - s.r_items) * 9.5))::int as n_items,
           (case when r_disc < 0.80 then 0 when r_disc < 0.90 then 5 when r_disc < 0.95 then 10
                 when r_disc < 0.98 then 2.5 else 12.5 end)::numeric(6,3) as discount_percent,
           case when s.status = 'paid' then case when r_parts < 0.70 then 1 when r_parts < 0.92 then 2 else 3 end
                when s.status = 'partially_paid' then case when r_parts < 0.75 then 1 else 2 end
                else 0 end as parts,
           0.2 + 0.6 * s.r_paid as paid_fraction,
           (1 + s.r_span * s.terms * 1.3) * interval '1 day' as pay_span,
           case when s.status = 'void' then least(now() - interval '10 seconds', s.sent_at + (1 + s.r_span * 10) * interval '1 day') end
             as voided_at,
           case when s.r_notes < 0.15 then (${sql.array([...NOTES])}::text[])[1 + floor(s.r_notes / 0.15 * ${NOTES.length})::int] end
             as notes
    from sent s
    join bench_seed_customers c on c.user_idx = s.user_idx and c.k = 1 + floor(power(s.r_cust, 1.6) * ${perUser})::int`
  await sql`create index on bench_seed_invoices (seq)`
}

/**
 * The lines of invoices seq ∈ (from, to]: random draws fenced in the innermost query (`offset 0`), amounts
 * by API.md's rules in numeric, where `round` rounds halves away from zero.
 */
function insertItems(sql: Sql, [from, to]: [number, number]) {
  return sql`
    insert into invoice_items (invoice_id, user_id, position, description, quantity, unit_price, tax_rate,
                               subtotal, discount, tax, total)
    select invoice_id, user_id, position, description, quantity, unit_price, tax_rate,
           subtotal, discount, tax, subtotal - discount + tax
    from (
      select d.*, round((d.subtotal - d.discount) * d.tax_rate / 100)::bigint as tax
      from (
        select s.*, round(s.subtotal * s.discount_percent / 100)::bigint as discount
        from (
          select q.*, round(q.quantity * q.unit_price)::bigint as subtotal
          from (
            select r.invoice_id, r.user_id, r.position, r.discount_percent,
                   (${sql.array([...ITEM_DESCRIPTIONS])}::text[])[1 + floor(r.r1 * ${ITEM_DESCRIPTIONS.length})::int]
                     as description,
                   (case when r.r2 < 0.45 then (1 + floor(r.r3 * 10))::numeric
                         when r.r2 < 0.80 then (1 + floor(r.r3 * 64))::numeric / 4
                         when r.r2 < 0.92 then (1 + floor(r.r3 * 200))::numeric / 10
                         else (1 + floor(r.r3 * 5000))::numeric / 1000 end)::numeric(13,3) as quantity,
                   (case when r.currency = 'JPY' then round(exp(ln(500) + r.r4 * ln(240)) / 10) * 10
                         when r.r5 < 0.4 then round(exp(ln(5) + r.r4 * ln(160))) * 100
                         else round(exp(ln(500) + r.r4 * ln(160))) end)::bigint as unit_price,
                   (case when r.r6 < 0.85 then r.user_tax_rate
                         when r.r6 < 0.95 then case r.currency when 'EUR' then 7 when 'GBP' then 5
                                                                when 'JPY' then 8 else 0 end
                         else 0 end)::numeric(6,3) as tax_rate
            from (
              select i.id as invoice_id, i.user_id, g - 1 as position, i.discount_percent, i.currency,
                     i.user_tax_rate, random() as r1, random() as r2, random() as r3, random() as r4,
                     random() as r5, random() as r6
              from bench_seed_invoices i cross join lateral generate_series(1, i.n_items) g
              where i.seq > ${from} and i.seq <= ${to}
              offset 0
            ) r
          ) q
        ) s
      ) d
    ) x`
}

async function stageTotalsAndPayments(sql: Sql) {
  // CREATE TABLE AS may run in parallel: two workers read the lines.
  await sql`
    create unlogged table bench_seed_totals with (autovacuum_enabled = false) as
    select invoice_id, sum(subtotal)::bigint as subtotal, sum(discount)::bigint as discount_total,
           sum(tax)::bigint as tax_total, sum(total)::bigint as total
    from invoice_items group by invoice_id`
  // Parts of a paid amount: ⌊target·j/parts⌋ − ⌊target·(j−1)/parts⌋, which add up to the target exactly.
  await sql`
    create unlogged table bench_seed_payments with (autovacuum_enabled = false) as
    select gen_random_uuid() as id, s.seq, s.invoice_id, s.user_id, s.currency, j as part,
           (s.target * j / s.parts - s.target * (j - 1) / s.parts)::bigint as amount,
           least(now() - (s.parts - j + 1) * interval '1 second',
                 s.sent_at + least(s.pay_span, (now() - s.sent_at) * 0.9) * j / s.parts) as paid_at,
           random() as r_method, random() as r_lag
    from (
      select i.seq, i.id as invoice_id, i.user_id, i.currency, i.sent_at, i.pay_span, p.target,
             least(i.parts, p.target)::int as parts
      from bench_seed_invoices i
      join bench_seed_totals t on t.invoice_id = i.id
      cross join lateral (
        select case when i.status = 'paid' then t.total
                    else greatest(1, least(t.total - 1, floor(t.total * i.paid_fraction)::bigint)) end as target
      ) p
      -- A partial payment needs a total of 2 or more; an invoice of 1 is left sent (below).
      where (i.status = 'paid' and t.total > 0) or (i.status = 'partially_paid' and t.total > 1)
    ) s
    cross join lateral generate_series(1, s.parts) j`
  await sql`
    insert into payments (id, invoice_id, user_id, amount, currency, paid_at, method, reference, created_at)
    select id, invoice_id, user_id, amount, currency, paid_at,
           case when r_method < 0.55 then 'bank_transfer' when r_method < 0.80 then 'card'
                when r_method < 0.85 then 'cash' when r_method < 0.90 then 'check' else 'other' end,
           case when r_method < 0.55 then 'SEPA ' || to_char(paid_at, 'YYYYMMDD') || '-' || left(md5(id::text), 6)
                when r_method < 0.80 then 'ch_' || left(md5(id::text), 14) end,
           least(now(), paid_at + r_lag * interval '3 hours')
    from bench_seed_payments`
  await sql`
    create unlogged table bench_seed_paid with (autovacuum_enabled = false) as
    select invoice_id, sum(amount)::bigint as amount_paid, max(paid_at) as last_paid_at, count(*)::int as payments
    from bench_seed_payments group by invoice_id`
  await sql`
    create unlogged table bench_seed_final with (autovacuum_enabled = false) as
    select i.*, t.subtotal, t.discount_total, t.tax_total, t.total,
           coalesce(p.amount_paid, 0)::bigint as amount_paid, p.last_paid_at, coalesce(p.payments, 0) as payments,
           case when i.status = 'paid' then p.last_paid_at end as paid_at,
           -- Set by stageCreditNotes for the credited invoices.
           0::bigint as credited_total, 0 as credit_notes, null::timestamptz as credited_at,
           case when i.number_seq is not null
                then u.invoice_prefix || lpad(i.number_seq::text, greatest(4, length(i.number_seq::text)), '0') end
             as number
    from bench_seed_invoices i
    join bench_seed_totals t on t.invoice_id = i.id
    join users u on u.id = i.user_id
    left join bench_seed_paid p on p.invoice_id = i.id`
  await sql`update bench_seed_final set status = 'sent' where status = 'partially_paid' and amount_paid = 0`
  await sql`create index on bench_seed_final (seq)`
  await sql`create index on bench_seed_payments (seq)`
}

function insertInvoices(sql: Sql, [from, to]: [number, number]) {
  return sql`
    insert into invoices (id, user_id, customer_id, number, number_seq, status, currency, issue_date, due_date,
                          discount_percent, notes, bill_to, seller, search_text, subtotal, discount_total,
                          tax_total, total, amount_paid, credited_total, pdf_key, pdf_sha256, pdf_size, pdf_generated_at,
                          sent_at, paid_at, voided_at, version, created_at, updated_at)
    select f.id, f.user_id, f.customer_id, f.number, f.number_seq, f.status, f.currency, f.issue_date, f.due_date,
           f.discount_percent, f.notes,
           case when f.status <> 'draft'
                then jsonb_build_object('name', c.name, 'email', c.email, 'taxId', c.tax_id, 'address', c.address) end,
           case when f.status <> 'draft'
                then jsonb_build_object('companyName', u.company_name, 'email', u.profile_email, 'phone', u.phone,
                                        'taxId', u.tax_id, 'address', u.address) end,
           coalesce(lower(f.number), '') || E'\n' || c.folded_name,
           f.subtotal, f.discount_total, f.tax_total, f.total, f.amount_paid, f.credited_total,
           case when f.status <> 'draft'
                then 'invoices/' || f.user_id || '/' || f.id || '/' || md5(f.id::text || 'pdf') || '.pdf' end,
           case when f.status <> 'draft' then encode(sha256(convert_to(f.id::text, 'UTF8')), 'hex') end,
           case when f.status <> 'draft' then 24000 + f.n_items * 850 + abs(hashtext(f.id::text)) % 4000 end,
           f.sent_at, f.sent_at, f.paid_at, f.voided_at,
           1 + (f.status <> 'draft')::int + f.payments + (f.status = 'void')::int + f.credit_notes,
           f.created_at,
           greatest(f.created_at, f.sent_at, f.last_paid_at, f.voided_at, f.credited_at)
    from bench_seed_final f
    join bench_seed_customers c on c.id = f.customer_id
    join users u on u.id = f.user_id
    where f.seq > ${from} and f.seq <= ${to}`
}

/** The audit trail of invoices seq ∈ (from, to], one kind after another so that `seq` follows the story. */
async function insertEvents(sql: Sql, [from, to]: [number, number]) {
  const chunk = sql`f.seq > ${from} and f.seq <= ${to}`
  await sql`
    insert into invoice_events (invoice_id, user_id, type, at, actor_id, data)
    select id, user_id, 'created', created_at, user_id,
           jsonb_build_object('total', total, 'currency', currency, 'items', n_items)
    from bench_seed_final f where ${chunk} order by created_at`
  await sql`
    insert into invoice_events (invoice_id, user_id, type, at, actor_id, data)
    select id, user_id, 'sent', sent_at, user_id,
           jsonb_build_object('number', number, 'total', total,
                              'pdfSha256', encode(sha256(convert_to(id::text, 'UTF8')), 'hex'))
    from bench_seed_final f where ${chunk} and status <> 'draft' order by sent_at`
  await sql`
    insert into invoice_events (invoice_id, user_id, type, at, actor_id, data)
    select invoice_id, user_id, 'payment_recorded', least(now(), paid_at + r_lag * interval '3 hours'), user_id,
           jsonb_build_object('paymentId', id, 'amount', amount,
                              'amountPaid', sum(amount) over (partition by invoice_id order by paid_at, id))
    from bench_seed_payments f where ${chunk} order by paid_at, id`
  await sql`
    insert into invoice_events (invoice_id, user_id, type, at, actor_id, data)
    select id, user_id, 'paid', least(now(), last_paid_at + interval '3 hours'), user_id,
           jsonb_build_object('amountPaid', amount_paid)
    from bench_seed_final f where ${chunk} and amount_paid = total and payments > 0 order by last_paid_at`
  await sql`
    insert into invoice_events (invoice_id, user_id, type, at, actor_id)
    select id, user_id, 'voided', voided_at, user_id
    from bench_seed_final f where ${chunk} and status = 'void' order by voided_at`
}

/**
 * Credit notes of about 3 % of the issued invoices (CREDIT_CHANCE), staged before the invoices are inserted (their
 * credited total, status, paid_at and version follow from the notes). Reads the lines from invoice_items, which
 * has no index at this point: one hash join over the table.
 *
 * - `bench_seed_credited`: the invoices chosen, their kind (full, partial, twice) and the instants of their
 *   notes, after the sending, the last payment and the start of the issue date in the user's time zone.
 * - `bench_seed_credit_lines`: their lines with `q1`, the quantity the first note credits, and its amounts: the
 *   rule amounts of `q1` (round(q × price), its discount, its tax, each held within the line, as `creditLine`
 *   does) or, when `q1` is the whole line, the line's own amounts.
 * - `bench_seed_credit_items`: the lines of the first notes, and of the second notes of the `twice` kind: what is
 *   left of every line, at the line's amounts less what the first note took.
 * - `bench_seed_credit_notes`: one row per note with its sums, the invoice's balance before it (so applied to
 *   balance, refund due and the status after it), its number in the user's series (ordered by issue instant)
 *   and its issue date in the user's time zone.
 */
async function stageCreditNotes(sql: Sql) {
  await sql`
    create unlogged table bench_seed_credited with (autovacuum_enabled = false) as
    with base as materialized (
      select f.id as invoice_id, f.user_id, f.customer_id, f.currency, f.discount_percent, f.n_items, f.total,
             f.amount_paid, f.status, u.timezone,
             greatest(f.sent_at, f.last_paid_at, f.issue_date::timestamp at time zone u.timezone) as earliest,
             random() as r_kind, random() as r_anchor, random() as r_lag1, random() as r_lag2,
             random() as r_reason1, random() as r_reason2, random() as r_memo, random() as r_window
      from bench_seed_final f join users u on u.id = f.user_id
      where f.status in ('sent', 'partially_paid', 'paid') and random() < ${CREDIT_CHANCE}
    ), timed as (
      select b.*,
             case when r_kind < 0.40 then 'full' when r_kind < 0.85 then 'partial' else 'twice' end as kind,
             floor(r_anchor * n_items)::int as anchor,
             -- Uniform over the time there is (clamping a longer lag to it would pile notes up on the last days).
             earliest + r_lag1 * least(interval '45 days', (now() - earliest) * 0.9) as first_at
      from base b
      -- An invoice issued "today" in a zone still on yesterday's date cannot be credited on or after its issue date.
      -- One with less than 45 days since its sending or last payment is credited less often, in proportion: the
      -- notes are spread evenly up to now instead of crowding the last days (where every recent invoice's window
      -- ends).
      where earliest < now() - interval '1 hour'
        and r_window < least(1, date_part('epoch', now() - earliest) / date_part('epoch', interval '45 days'))
    )
    select t.*, first_at + greatest(interval '1 minute', r_lag2 * least(interval '30 days', (now() - first_at) * 0.9))
             as second_at
    from timed t`

  // within(v, limit): v moved toward zero until it lies between 0 and the line's amount (creditLine's `within`).
  const within = (value: postgres.PendingQuery<postgres.Row[]>, limit: string) => sql`
    case when ${sql(limit)} >= 0 then least(greatest(${value}, 0), ${sql(limit)})
         else greatest(least(${value}, 0), ${sql(limit)}) end`
  await sql`
    create unlogged table bench_seed_credit_lines with (autovacuum_enabled = false) as
    select q.*,
           case when q1 = quantity then subtotal else ${within(sql`rule_subtotal`, 'subtotal')} end as s1,
           case when q1 = quantity then discount else ${within(sql`rule_discount`, 'discount')} end as d1,
           case when q1 = quantity then tax else ${within(sql`rule_tax`, 'tax')} end as x1
    from (
      select d.*, round((d.rule_subtotal - d.rule_discount) * d.tax_rate / 100)::bigint as rule_tax
      from (
        select s.*, round(s.rule_subtotal * s.discount_percent / 100)::bigint as rule_discount
        from (
          select p.*, round(p.q1 * p.unit_price)::bigint as rule_subtotal
          from (
            select r.invoice_id, r.kind, r.invoice_item_id, r.user_id, r.position, r.description, r.quantity,
                   r.unit_price, r.tax_rate, r.subtotal, r.discount, r.tax, r.total, r.discount_percent,
                   (case when r.kind = 'full' then r.quantity
                         when not (r.r_pick < 0.5 or r.position = r.anchor) then 0
                         when r.quantity > 1 and r.r_part < 0.7
                           then least(r.quantity, greatest(1, floor(r.quantity * r.r_frac)))
                         else r.quantity end)::numeric(13,3) as q1
            from (
              select c.invoice_id, c.kind, c.anchor, c.discount_percent, it.id as invoice_item_id, it.user_id,
                     it.position, it.description, it.quantity, it.unit_price, it.tax_rate, it.subtotal, it.discount,
                     it.tax, it.total, random() as r_pick, random() as r_part, random() as r_frac
              from bench_seed_credited c join invoice_items it on it.invoice_id = c.invoice_id
              offset 0
            ) r
          ) p
        ) s
      ) d
    ) q`

  await sql`
    create unlogged table bench_seed_credit_items with (autovacuum_enabled = false) as
    select invoice_id, k, invoice_item_id, user_id,
           (row_number() over (partition by invoice_id, k order by position) - 1)::int as position,
           description, quantity, unit_price, tax_rate, subtotal, discount, tax, subtotal - discount + tax as total
    from (
      select invoice_id, 1 as k, invoice_item_id, user_id, position, description, q1 as quantity, unit_price,
             tax_rate, s1 as subtotal, d1 as discount, x1 as tax
      from bench_seed_credit_lines where q1 > 0
      union all
      select invoice_id, 2, invoice_item_id, user_id, position, description, quantity - q1, unit_price, tax_rate,
             subtotal - s1, discount - d1, tax - x1
      from bench_seed_credit_lines where kind = 'twice' and q1 < quantity
    ) x`
  // A note must total more than 0: an invoice whose note would not (lines of a fraction of a cent) is not credited.
  await sql`
    delete from bench_seed_credited where invoice_id in (
      select invoice_id from bench_seed_credit_items group by invoice_id, k having sum(total) <= 0)`
  await sql`delete from bench_seed_credit_items i
            where not exists (select 1 from bench_seed_credited c where c.invoice_id = i.invoice_id)`

  await sql`
    create unlogged table bench_seed_credit_notes with (autovacuum_enabled = false) as
    with sums as (
      select invoice_id, k, sum(subtotal)::bigint as subtotal, sum(discount)::bigint as discount_total,
             sum(tax)::bigint as tax_total, sum(total)::bigint as total, count(*)::int as lines
      from bench_seed_credit_items group by invoice_id, k
    ), ordered as (
      select s.*, c.user_id, c.customer_id, c.currency, c.discount_percent, c.timezone, c.kind,
             c.total as invoice_total, c.amount_paid,
             case when s.k = 1 then c.first_at else c.second_at end as issued_at,
             case when s.k = 1 then c.r_reason1 else c.r_reason2 end as r_reason, c.r_memo,
             coalesce(sum(s.total) over (partition by s.invoice_id order by s.k
                                         rows between unbounded preceding and 1 preceding), 0)::bigint
               as credited_before
      from sums s join bench_seed_credited c on c.invoice_id = s.invoice_id
    ), applied as (
      select o.*, greatest(0, invoice_total - amount_paid - credited_before) as due_before,
             credited_before + total as credited_after
      from ordered o
    ), statuses as (
      -- statusOf (src/modules/invoices/lifecycle.ts) before and after the note.
      select a.*, least(total, due_before) as applied_to_balance, total - least(total, due_before) as refund_due,
             case when credited_before > 0 and credited_before = invoice_total then 'credited'
                  when invoice_total - amount_paid - credited_before <= 0 then 'paid'
                  when amount_paid > 0 then 'partially_paid' else 'sent' end as status_before,
             case when credited_after = invoice_total then 'credited'
                  when invoice_total - amount_paid - credited_after <= 0 then 'paid'
                  when amount_paid > 0 then 'partially_paid' else 'sent' end as status_after
      from applied a
    )
    select gen_random_uuid() as id, s.*,
           (s.issued_at at time zone s.timezone)::date as issue_date,
           row_number() over (partition by s.user_id order by s.issued_at, s.k, s.invoice_id) as number_seq
    from statuses s`
  await sql`create index on bench_seed_credit_notes (invoice_id, k)`

  await sql`
    update bench_seed_final f
    set credited_total = s.credited, status = s.status, paid_at = coalesce(f.paid_at, s.became_paid_at),
        credit_notes = s.notes, credited_at = s.last_at
    from (
      select invoice_id, sum(total)::bigint as credited, count(*)::int as notes, max(issued_at) as last_at,
             (array_agg(status_after order by k desc))[1] as status,
             min(issued_at) filter (where status_after = 'paid' and status_before <> 'paid') as became_paid_at
      from bench_seed_credit_notes group by invoice_id
    ) s
    where f.id = s.invoice_id`
}

/** The credit notes and their lines staged by stageCreditNotes, their `credited` and `paid` events. */
async function insertCreditNotes(sql: Sql) {
  await sql`
    insert into credit_notes (id, user_id, invoice_id, customer_id, number, number_seq, reason, memo, currency,
                              discount_percent, subtotal, discount_total, tax_total, total, applied_to_balance,
                              refund_due, bill_to, seller, issue_date, issued_at, pdf_key, pdf_sha256, pdf_size,
                              pdf_generated_at, created_at)
    select n.id, n.user_id, n.invoice_id, n.customer_id,
           u.credit_note_prefix || lpad(n.number_seq::text, greatest(4, length(n.number_seq::text)), '0'),
           n.number_seq,
           case when n.kind = 'full' and n.k = 1
                then (array['duplicate', 'duplicate', 'order_change', 'fraudulent', 'other'])[1 + floor(n.r_reason * 5)::int]
                else (array['product_unsatisfactory', 'product_unsatisfactory', 'order_change', 'other'])[1 + floor(n.r_reason * 4)::int]
           end,
           case when n.r_memo < 0.35
                then (${sql.array([...CREDIT_MEMOS])}::text[])[1 + floor(n.r_memo / 0.35 * ${CREDIT_MEMOS.length})::int] end,
           n.currency, n.discount_percent, n.subtotal, n.discount_total, n.tax_total, n.total,
           n.applied_to_balance, n.refund_due,
           jsonb_build_object('name', c.name, 'email', c.email, 'taxId', c.tax_id, 'address', c.address),
           jsonb_build_object('companyName', u.company_name, 'email', u.profile_email, 'phone', u.phone,
                              'taxId', u.tax_id, 'address', u.address),
           n.issue_date, n.issued_at,
           'credit-notes/' || n.user_id || '/' || n.id || '/' || md5(n.id::text || 'pdf') || '.pdf',
           encode(sha256(convert_to(n.id::text, 'UTF8')), 'hex'),
           21000 + n.lines * 700 + abs(hashtext(n.id::text)) % 3000,
           n.issued_at, n.issued_at
    from bench_seed_credit_notes n
    join bench_seed_customers c on c.id = n.customer_id
    join users u on u.id = n.user_id
    order by n.issued_at`
  await sql`
    insert into credit_note_items (credit_note_id, user_id, invoice_item_id, position, description, quantity,
                                   unit_price, tax_rate, subtotal, discount, tax, total)
    select n.id, i.user_id, i.invoice_item_id, i.position, i.description, i.quantity, i.unit_price, i.tax_rate,
           i.subtotal, i.discount, i.tax, i.total
    from bench_seed_credit_items i
    join bench_seed_credit_notes n on n.invoice_id = i.invoice_id and n.k = i.k
    order by n.issued_at, i.position`
  await sql`
    insert into invoice_events (invoice_id, user_id, type, at, actor_id, data)
    select invoice_id, user_id, type, at, user_id, data
    from (
      select n.invoice_id, n.user_id, 'credited' as type, n.issued_at as at, 0 as o,
             jsonb_build_object('creditNoteId', n.id, 'number', cn.number, 'total', n.total,
                                'creditedTotal', n.credited_after, 'status', n.status_after) as data
      from bench_seed_credit_notes n join credit_notes cn on cn.id = n.id
      union all
      select invoice_id, user_id, 'paid', issued_at, 1, jsonb_build_object('amountPaid', amount_paid)
      from bench_seed_credit_notes where status_after = 'paid' and status_before <> 'paid'
    ) e
    order by at, o`
}

async function updateCounters(sql: Sql) {
  await sql`
    update users u set last_invoice_number = s.last, next_invoice_number = s.last + 1
    from (select user_id, coalesce(max(number_seq), 0) as last from bench_seed_final group by user_id) s
    where s.user_id = u.id`
  await sql`
    update users u set last_credit_note_number = s.last, next_credit_note_number = s.last + 1
    from (select user_id, max(number_seq) as last from bench_seed_credit_notes group by user_id) s
    where s.user_id = u.id`
}

// ---------------------------------------------------------------------------------------------------------
// Checks and sizes

async function checks(sql: Sql, busySub: string, expected: Options) {
  const [gaps] = await sql`
    select count(*)::int as users_with_gaps from (
      select u.id, u.last_invoice_number, u.next_invoice_number,
             count(i.number_seq) as issued, coalesce(max(i.number_seq), 0) as highest,
             count(distinct i.number_seq) as distinct_numbers, count(distinct i.number) as distinct_texts
      from users u left join invoices i on i.user_id = u.id
      group by u.id) s
    where issued <> highest or distinct_numbers <> issued or distinct_texts <> issued
       or last_invoice_number <> highest or next_invoice_number <> highest + 1`
  const [totals] = await sql`
    select count(*)::int as mismatched from invoices i
    left join (select invoice_id, sum(subtotal) s, sum(discount) d, sum(tax) t, sum(total) tt
               from invoice_items group by invoice_id) x on x.invoice_id = i.id
    where x.invoice_id is null or (i.subtotal, i.discount_total, i.tax_total, i.total) <> (x.s, x.d, x.t, x.tt)
       or i.total <> i.subtotal - i.discount_total + i.tax_total`
  const [paid] = await sql`
    select count(*)::int as mismatched from invoices i
    left join (select invoice_id, sum(amount) as paid from payments group by invoice_id) p on p.invoice_id = i.id
    where i.amount_paid <> coalesce(p.paid, 0)
       or (i.status = 'paid' and not (i.amount_paid > 0 and i.amount_paid + i.credited_total >= i.total
                                      and i.credited_total < i.total))
       or (i.status = 'partially_paid' and not (i.amount_paid > 0 and i.amount_paid + i.credited_total < i.total))
       or (i.status = 'sent' and not (i.amount_paid = 0 and i.credited_total < i.total))
       or (i.status = 'credited' and not (i.credited_total > 0 and i.credited_total = i.total))
       or (i.status in ('draft', 'void') and (i.amount_paid <> 0 or i.credited_total <> 0))
       or (i.status = 'paid' and i.paid_at is null)
       or (i.status in ('draft', 'sent', 'partially_paid', 'void') and i.paid_at is not null)`
  const [busy] = await sql`
    select u.id, count(i.*)::int as invoices from users u left join invoices i on i.user_id = u.id
    where u.cognito_sub = ${busySub} group by u.id`

  // A sample of about 2,000 invoices recomputed with the API's own money module.
  const samplePercent = Math.min(100, (3_000 / expected.invoices) * 100)
  const sample = await sql<
    {
      discount_percent: string
      subtotal: string
      discount_total: string
      tax_total: string
      total: string
      items: {
        quantity: string
        unit_price: number
        tax_rate: string
        subtotal: number
        discount: number
        tax: number
        total: number
      }[]
    }[]
  >`
    select i.discount_percent::text, i.subtotal::text, i.discount_total::text, i.tax_total::text, i.total::text,
           (select json_agg(json_build_object('quantity', it.quantity::text, 'unit_price', it.unit_price,
                                              'tax_rate', it.tax_rate::text, 'subtotal', it.subtotal,
                                              'discount', it.discount, 'tax', it.tax, 'total', it.total)
                            order by it.position)
            from invoice_items it where it.invoice_id = i.id) as items
    from invoices i tablesample bernoulli (${samplePercent}) limit 2000`
  let wrong = 0
  for (const invoice of sample) {
    const computed = computeInvoice({
      discountPercent: invoice.discount_percent,
      items: invoice.items.map((item) => ({
        quantity: item.quantity,
        unitPrice: Number(item.unit_price),
        taxRate: item.tax_rate,
      })),
    })
    const linesMatch = computed.lines.every((line, i) => {
      const stored = invoice.items[i]!
      return (
        line.subtotal === Number(stored.subtotal) &&
        line.discount === Number(stored.discount) &&
        line.tax === Number(stored.tax) &&
        line.total === Number(stored.total)
      )
    })
    const t = computed.totals
    const totalsMatch =
      t.subtotal === Number(invoice.subtotal) &&
      t.discountTotal === Number(invoice.discount_total) &&
      t.taxTotal === Number(invoice.tax_total) &&
      t.total === Number(invoice.total)
    if (!linesMatch || !totalsMatch) wrong++
  }

  const problems = [
    gaps!['users_with_gaps'] !== 0 && `${gaps!['users_with_gaps']} users with gaps or wrong counters`,
    totals!['mismatched'] !== 0 &&
      `${totals!['mismatched']} invoices whose totals are not the sums of their lines`,
    paid!['mismatched'] !== 0 &&
      `${paid!['mismatched']} invoices whose amount paid disagrees with payments/status`,
    wrong !== 0 && `${wrong} of ${sample.length} sampled invoices differ from the money module`,
    (!busy || busy['invoices'] !== expected.busyInvoices) &&
      `the busy user has ${busy?.['invoices'] ?? 'no'} invoices, not ${expected.busyInvoices}`,
  ].filter(Boolean)
  return { problems, sampled: sample.length, busyId: busy?.['id'] as string | undefined }
}

/** Money columns of a credit line or an invoice line, as text (int8 arrives as text). */
interface MoneyText {
  subtotal: string
  discount: string
  tax: string
  total: string
}

const moneyOf = (m: MoneyText) => ({
  subtotal: Number(m.subtotal),
  discount: Number(m.discount),
  tax: Number(m.tax),
  total: Number(m.total),
})

/**
 * The credit notes against the invoices, the users' counters and the report tables: numbers gapless in the order
 * of issue, notes = sums of their lines, credited totals = sums of notes, lines within their invoice lines (and
 * whole for `credited` invoices), dates, balances and events; a sample of credit lines recomputed with the API's
 * `creditLine`; and the database's own deferred check (`credit_notes_check`) run again on a sample of invoices, by
 * deleting and inserting their notes with triggers on, in a transaction rolled back.
 */
async function creditChecks(sql: Sql, busyId: string | undefined, expected: Options) {
  const one = async (query: Promise<postgres.Row[]>) => Number((await query)[0]!['n'])
  const prefixed = (seq: string, prefix: string) =>
    sql`${sql(prefix)} || lpad(${sql(seq)}::text, greatest(4, length(${sql(seq)}::text)), '0')`
  const counts = {
    numbering: await one(sql`
      select count(*)::int as n from (
        select u.last_credit_note_number as last, u.next_credit_note_number as next, count(c.id) as notes,
               coalesce(max(c.number_seq), 0) as highest, count(distinct c.number_seq) as seqs,
               count(distinct c.number) as texts,
               count(*) filter (where c.number <> ${prefixed('c.number_seq', 'u.credit_note_prefix')}) as misnumbered
        from users u left join credit_notes c on c.user_id = u.id group by u.id) s
      where notes <> highest or seqs <> notes or texts <> notes or last <> highest or next <> highest + 1
         or misnumbered > 0`),
    outOfOrder: await one(sql`
      select count(*)::int as n from (
        select issued_at < lag(issued_at) over (partition by user_id order by number_seq) as backwards
        from credit_notes) x
      where backwards`),
    credited: await one(sql`
      select count(*)::int as n from invoices i
      left join (select invoice_id, sum(total) as total from credit_notes group by invoice_id) c on c.invoice_id = i.id
      where i.credited_total <> coalesce(c.total, 0)`),
    notSums: await one(sql`
      select count(*)::int as n from credit_notes c
      left join (select credit_note_id, sum(subtotal) as s, sum(discount) as d, sum(tax) as t, sum(total) as tt
                 from credit_note_items group by credit_note_id) x on x.credit_note_id = c.id
      where x.credit_note_id is null or (c.subtotal, c.discount_total, c.tax_total, c.total) <> (x.s, x.d, x.t, x.tt)
         or c.total <> c.subtotal - c.discount_total + c.tax_total or c.total <= 0
         or c.applied_to_balance + c.refund_due <> c.total`),
    notOfInvoice: await one(sql`
      select count(*)::int as n from credit_notes c
      join invoices i on i.id = c.invoice_id join users u on u.id = c.user_id
      where c.issue_date < i.issue_date or c.issue_date <> (c.issued_at at time zone u.timezone)::date
         or c.issued_at < i.sent_at or c.issued_at > now() or i.status not in ('sent', 'partially_paid', 'paid', 'credited')
         or (c.user_id, c.customer_id, c.currency, c.discount_percent, c.bill_to)
            is distinct from (i.user_id, i.customer_id, i.currency, i.discount_percent, i.bill_to)`),
    linesOfOther: await one(sql`
      select count(*)::int as n from credit_note_items ci
      join credit_notes c on c.id = ci.credit_note_id join invoice_items it on it.id = ci.invoice_item_id
      where it.invoice_id <> c.invoice_id or ci.user_id <> c.user_id
         or (ci.description, ci.unit_price, ci.tax_rate) <> (it.description, it.unit_price, it.tax_rate)
         or ci.total <> ci.subtotal - ci.discount + ci.tax`),
    overLine: await one(sql`
      select count(*)::int as n from invoice_items it
      join (select invoice_item_id, sum(quantity) as q, sum(subtotal) as s, sum(discount) as d, sum(tax) as t,
                   sum(total) as tt from credit_note_items group by invoice_item_id) c on c.invoice_item_id = it.id
      where c.q > it.quantity or c.s > it.subtotal or c.d > it.discount or c.t > it.tax or c.tt > it.total
         or least(c.s, c.d, c.t, c.tt) < 0`),
    creditedNotWhole: await one(sql`
      select count(*)::int as n from invoices i join invoice_items it on it.invoice_id = i.id
      left join (select invoice_item_id, sum(quantity) as q, sum(subtotal) as s, sum(discount) as d, sum(tax) as t,
                        sum(total) as tt from credit_note_items group by invoice_item_id) c on c.invoice_item_id = it.id
      where i.status = 'credited'
        and (coalesce(c.q, 0), coalesce(c.s, 0), coalesce(c.d, 0), coalesce(c.t, 0), coalesce(c.tt, 0))
            <> (it.quantity, it.subtotal, it.discount, it.tax, it.total)`),
    applied: await one(sql`
      select count(*)::int as n from (
        select c.applied_to_balance, c.total,
               greatest(0, i.total - i.amount_paid - coalesce(sum(c.total) over (partition by c.invoice_id
                 order by c.number_seq rows between unbounded preceding and 1 preceding), 0)) as due_before
        from credit_notes c join invoices i on i.id = c.invoice_id) x
      where applied_to_balance <> least(total, due_before)`),
    events: await one(sql`
      select abs((select count(*) from invoice_events where type = 'credited') - (select count(*) from credit_notes))::int
        as n`),
    reports: await one(sql`
      select count(*)::int as n from (
        select user_id, currency, sum(total) as credited, count(*) as notes from credit_notes group by 1, 2) c
      full join (select user_id, currency, sum(credited) as credited, sum(credit_notes) as notes
                 from report_daily_totals group by 1, 2 having sum(credit_notes) <> 0) d using (user_id, currency)
      where (c.credited, c.notes) is distinct from (d.credited, d.notes)`),
  }
  const [totals] = await sql`
    select (select count(*) from credit_notes)::int as notes, (select count(*) from credit_note_items)::int as lines,
           (select count(*) from credit_notes where user_id = ${busyId ?? null}::uuid)::int as busy,
           (select count(*) from invoices where status = 'credited')::int as credited,
           (select count(distinct invoice_id) from credit_notes)::int as invoices`
  const notes = Number(totals!['notes'])

  // A sample of credit lines priced again by creditLine, with what earlier notes took of their invoice lines.
  const sample = await sql<
    (MoneyText & {
      discount_percent: string
      quantity: string
      line_quantity: string
      unit_price: string
      tax_rate: string
      line: MoneyText
      earlier_quantity: string
      earlier: MoneyText
    })[]
  >`
    select c.discount_percent::text, ci.quantity::text, ci.subtotal::text, ci.discount::text, ci.tax::text,
           ci.total::text, it.quantity::text as line_quantity, it.unit_price::text, it.tax_rate::text,
           json_build_object('subtotal', it.subtotal::text, 'discount', it.discount::text, 'tax', it.tax::text,
                             'total', it.total::text) as line,
           coalesce(e.quantity, 0)::text as earlier_quantity,
           json_build_object('subtotal', coalesce(e.subtotal, 0)::text, 'discount', coalesce(e.discount, 0)::text,
                             'tax', coalesce(e.tax, 0)::text, 'total', coalesce(e.total, 0)::text) as earlier
    from (select * from credit_note_items
          tablesample bernoulli (${Math.min(100, (3_000 / Math.max(1, Number(totals!['lines']))) * 100)})) ci
    join credit_notes c on c.id = ci.credit_note_id
    join invoice_items it on it.id = ci.invoice_item_id
    cross join lateral (
      select sum(x.quantity) as quantity, sum(x.subtotal) as subtotal, sum(x.discount) as discount,
             sum(x.tax) as tax, sum(x.total) as total
      from credit_note_items x join credit_notes xc on xc.id = x.credit_note_id
      where x.invoice_item_id = ci.invoice_item_id and xc.user_id = c.user_id and xc.number_seq < c.number_seq
    ) e
    limit 2000`
  let wrongLines = 0
  let afterEarlier = 0
  for (const row of sample) {
    const creditedQuantity = parseDecimal3(row.earlier_quantity)
    if (creditedQuantity > 0n) afterEarlier++
    let computed: ReturnType<typeof creditLine> | undefined
    try {
      computed = creditLine(
        {
          quantity: parseDecimal3(row.line_quantity),
          unitPrice: Number(row.unit_price),
          taxRate: row.tax_rate,
          amounts: moneyOf(row.line),
          creditedQuantity,
          credited: moneyOf(row.earlier),
        },
        row.discount_percent,
        parseDecimal3(row.quantity),
      )
    } catch {
      computed = undefined
    }
    const stored = moneyOf(row)
    if (
      !computed ||
      computed.subtotal !== stored.subtotal ||
      computed.discount !== stored.discount ||
      computed.tax !== stored.tax ||
      computed.total !== stored.total
    ) {
      wrongLines++
    }
  }

  // The database's deferred check, run for real: the notes of a sample of invoices deleted and inserted again
  // with triggers on (this session loads with them off), checked at once, then rolled back.
  let triggerProblem: string | undefined
  let triggerNotes = 0
  const rollback = new Error('rollback')
  try {
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = origin`
      await tx`
        create temp table bench_check_notes on commit drop as
        select * from credit_notes where invoice_id in (
          select invoice_id from credit_notes
          tablesample bernoulli (${Math.min(100, (400 / Math.max(1, notes)) * 100)}) limit 300)
        union all
        select * from credit_notes where user_id = ${busyId ?? null}::uuid and invoice_id in (
          select invoice_id from credit_notes where user_id = ${busyId ?? null}::uuid order by number_seq desc limit 20)`
      await tx`create temp table bench_check_items on commit drop as
               select * from credit_note_items where credit_note_id in (select id from bench_check_notes)`
      await tx`delete from credit_notes where id in (select id from bench_check_notes)`
      const inserted =
        await tx`insert into credit_notes select distinct * from bench_check_notes returning id`
      await tx`insert into credit_note_items select * from bench_check_items`
      triggerNotes = inserted.length
      await tx`set constraints all immediate`
      throw rollback
    })
  } catch (error) {
    if (error !== rollback) triggerProblem = (error as Error).message
  }

  const problems = [
    counts.numbering !== 0 &&
      `${counts.numbering} users whose credit-note numbers have gaps or wrong counters`,
    counts.outOfOrder !== 0 && `${counts.outOfOrder} credit notes numbered out of their order of issue`,
    counts.credited !== 0 && `${counts.credited} invoices whose credited total is not the sum of their notes`,
    counts.notSums !== 0 && `${counts.notSums} credit notes that are not the sums of their lines`,
    counts.notOfInvoice !== 0 &&
      `${counts.notOfInvoice} credit notes whose dates, parties or invoice status disagree with their invoice`,
    counts.linesOfOther !== 0 &&
      `${counts.linesOfOther} credit lines that do not copy a line of their invoice`,
    counts.overLine !== 0 && `${counts.overLine} invoice lines credited beyond the line`,
    counts.creditedNotWhole !== 0 &&
      `${counts.creditedNotWhole} lines of credited invoices whose credits do not add up to the line`,
    counts.applied !== 0 && `${counts.applied} credit notes whose amount applied to the balance is wrong`,
    counts.events !== 0 && `credited events and credit notes differ in number by ${counts.events}`,
    counts.reports !== 0 && `${counts.reports} users/currencies whose report credits differ from their notes`,
    wrongLines !== 0 && `${wrongLines} of ${sample.length} sampled credit lines differ from creditLine`,
    triggerProblem && `the deferred credit-note check failed: ${triggerProblem}`,
    notes === 0 && 'no credit notes',
    busyId !== undefined &&
      expected.busyInvoices >= 10_000 &&
      Number(totals!['busy']) < 1_000 &&
      `the busy user has only ${totals!['busy']} credit notes`,
  ].filter(Boolean) as string[]
  return {
    problems,
    notes,
    lines: Number(totals!['lines']),
    busy: Number(totals!['busy']),
    credited: Number(totals!['credited']),
    invoices: Number(totals!['invoices']),
    sampled: sample.length,
    afterEarlier,
    triggerNotes,
  }
}

async function sizes(sql: Sql) {
  const tables = await sql<{ name: string; rows: string; table_bytes: string; index_bytes: string }[]>`
    select c.relname as name, greatest(c.reltuples, 0)::bigint::text as rows,
           pg_table_size(c.oid)::text as table_bytes, pg_indexes_size(c.oid)::text as index_bytes
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'r' and c.relname not like 'kysely%'
    order by pg_total_relation_size(c.oid) desc`
  const [db] = await sql`select pg_database_size(current_database())::text as bytes`
  return { tables, databaseBytes: Number(db!['bytes']) }
}

const mb = (bytes: number | string) => `${(Number(bytes) / 1024 / 1024).toFixed(0)} MB`

// ---------------------------------------------------------------------------------------------------------

async function ensureDatabase(url: URL, name: string) {
  const server = new URL(url)
  server.pathname = '/postgres'
  const admin = postgres(server.toString(), { max: 1, onnotice: () => {} })
  try {
    const [found] = await admin`select 1 from pg_database where datname = ${name}`
    if (!found) {
      await admin.unsafe(`create database "${name.replaceAll('"', '""')}"`)
      console.log(`  created database ${name}`)
    }
  } finally {
    await admin.end()
  }
}

async function main() {
  let options: Options
  try {
    options = parseOptions(process.argv.slice(2))
  } catch (error) {
    console.error(`bench:seed: ${(error as Error).message}`)
    process.exit(2)
  }
  const databaseUrl = process.env['DATABASE_URL']
  if (!databaseUrl) {
    console.error('bench:seed: DATABASE_URL must name the database to fill (e.g. …/invoice_bench)')
    process.exit(2)
  }
  const url = new URL(databaseUrl)
  const name = decodeURIComponent(url.pathname.slice(1))
  if (!name.startsWith('invoice_bench') && !options.force) {
    console.error(
      `bench:seed: refusing to replace the data of "${name}": its name does not start with invoice_bench ` +
        '(pass --force to seed it anyway)',
    )
    process.exit(2)
  }

  const started = performance.now()
  console.log(
    `Seeding ${name} on ${url.host}: ${count(options.users)} users, ${count(options.invoices)} invoices ` +
      `(busy user: ${count(options.busyInvoices)}), ${options.customersPerUser} customers per user, ` +
      `${options.jobs} sessions`,
  )
  await ensureDatabase(url, name)

  const sql: Sql = postgres(databaseUrl, {
    max: options.jobs,
    onnotice: () => {},
    idle_timeout: 0,
    connection: {
      application_name: 'invoice-bench-seed',
      synchronous_commit: 'off',
      // No triggers while loading (the report totals are rebuilt in one pass afterwards); needs a superuser.
      session_replication_role: 'replica',
      work_mem: '256MB',
      maintenance_work_mem: '1GB',
      statement_timeout: 0,
    },
  })
  try {
    await step(
      'migrate to latest',
      async () => {
        const migrationClient = postgres(databaseUrl, { max: 1, onnotice: () => {} })
        const db = new Kysely<DB>({ dialect: new PostgresJSDialect({ postgres: migrationClient }) })
        try {
          return (await migrateToLatest(db)).filter((r) => r.status === 'Success').length
        } finally {
          await db.destroy()
        }
      },
      (applied) => `${applied} applied`,
    )

    const [leftover] = await sql`select to_regclass('bench_seed_ddl') is not null as present`
    if (leftover!['present']) {
      console.log('  a previous seed stopped midway: emptying the tables and putting its schema back first')
      await truncateAll(sql)
      await restoreSchema(sql, options.jobs)
    }
    await dropStaging(sql)
    const [{ today }] = (await sql`select current_date::text as today`) as unknown as [{ today: string }]
    const users = await usersData(options)
    const busySub = users[0]!.sub

    console.log('Loading')
    const dropped = await step(
      'empty tables, drop indexes and constraints',
      async () => {
        await truncateAll(sql)
        return dropForLoad(sql)
      },
      (d) => `${d.indexes} indexes, ${d.constraints} constraints (saved in bench_seed_ddl)`,
    )
    await step(
      'users',
      () => insertUsers(sql, users),
      () => count(options.users),
    )
    await step(
      'customers',
      () => insertCustomers(sql, options.customersPerUser),
      () => count(options.users * options.customersPerUser),
    )
    await step('invoices: statuses, dates, numbers (staging)', () =>
      stageInvoices(sql, today, options.customersPerUser),
    )
    const chunks = ranges(options.invoices, Math.max(options.jobs * 4, 1))
    await step(
      `invoice_items (${chunks.length} chunks on ${options.jobs} sessions)`,
      async () => {
        await parallel(
          options.jobs,
          chunks.map((range) => () => insertItems(sql, range)),
        )
        const [row] = await sql`select count(*)::bigint::text as n from invoice_items`
        return row!['n'] as string
      },
      count,
    )
    await step(
      'totals, payments (staging and table)',
      async () => {
        await stageTotalsAndPayments(sql)
        const [row] = await sql`select count(*)::bigint::text as n from payments`
        return row!['n'] as string
      },
      (n) => `${count(n)} payments`,
    )
    await step(
      'credit notes (staging)',
      async () => {
        await stageCreditNotes(sql)
        const [row] = await sql`
          select count(*)::int as notes, count(distinct invoice_id)::int as invoices,
                 count(*) filter (where user_id = (select id from bench_seed_users where idx = 1))::int as busy
          from bench_seed_credit_notes`
        return row as { notes: number; invoices: number; busy: number }
      },
      (r) => `${count(r.notes)} notes on ${count(r.invoices)} invoices (busy user: ${count(r.busy)})`,
    )
    await step(
      'invoices',
      async () => {
        await parallel(
          options.jobs,
          chunks.map((range) => () => insertInvoices(sql, range)),
        )
      },
      () => count(options.invoices),
    )
    await step(
      'invoice_events',
      async () => {
        await parallel(
          options.jobs,
          chunks.map((range) => () => insertEvents(sql, range)),
        )
        const [row] = await sql`select count(*)::bigint::text as n from invoice_events`
        return row!['n'] as string
      },
      count,
    )
    await step(
      'credit notes, their lines and events',
      async () => {
        await insertCreditNotes(sql)
        const [row] = await sql`select count(*)::bigint::text as n from credit_note_items`
        return row!['n'] as string
      },
      (n) => `${count(n)} credit lines`,
    )
    await step('invoice and credit-note number counters', () => updateCounters(sql))
    await step(
      'report totals',
      async () => {
        await sql`select report_rebuild_rollups()`
        const [row] = await sql`select (select count(*) from report_open_balances)::int as open,
                                     (select count(*) from report_daily_totals)::int as days`
        return row as { open: number; days: number }
      },
      (r) => `${count(r.open)} open-balance rows, ${count(r.days)} day rows`,
    )
    await step('drop staging tables', () => dropStaging(sql))

    console.log('Indexes and constraints')
    await step(`recreate them (indexes on ${options.jobs} sessions)`, () => restoreSchema(sql, options.jobs))
    const [after] = await fingerprintQuery(sql)
    console.log(
      `  schema fingerprint ${after!.fingerprint} (${after!.objects} columns, indexes and constraints): ` +
        (after!.fingerprint === dropped.fingerprint ? 'identical to before the load' : 'DIFFERENT'),
    )

    console.log('Maintenance')
    await step('vacuum (analyze)', () =>
      parallel(
        options.jobs,
        [
          'invoice_items',
          'invoice_events',
          'invoices',
          'payments',
          'credit_notes',
          'credit_note_items',
          'customers',
          'users',
          'idempotency_keys',
          'report_open_balances',
          'report_draft_counts',
          'report_daily_totals',
          'report_monthly_totals',
        ].map((table) => () => sql.unsafe(`vacuum (analyze) ${table}`)),
      ),
    )
    await step('checkpoint', () => sql`checkpoint`)

    console.log('Checks')
    const result = await step(
      'gapless numbers, totals, payments, money',
      () => checks(sql, busySub, options),
      (r) => (r.problems.length === 0 ? `all consistent (${r.sampled} invoices recomputed)` : 'PROBLEMS'),
    )
    for (const problem of result.problems) console.log(`    ✗ ${problem}`)
    const credits = await step(
      'credit notes: numbers, sums, lines, balances',
      () => creditChecks(sql, result.busyId, options),
      (r) =>
        r.problems.length === 0
          ? `all consistent (${count(r.sampled)} credit lines recomputed, ${count(r.afterEarlier)} after an ` +
            `earlier credit; the deferred check passed on ${count(r.triggerNotes)} notes inserted again)`
          : 'PROBLEMS',
    )
    for (const problem of credits.problems) console.log(`    ✗ ${problem}`)

    const { tables, databaseBytes } = await sizes(sql)
    const statuses =
      await sql`select status, count(*)::int as n from invoices group by status order by n desc`
    console.log('Sizes')
    for (const t of tables) {
      console.log(
        `  ${t.name.padEnd(18)} ${count(t.rows).padStart(12)} rows  table ${mb(t.table_bytes).padStart(8)}` +
          `  indexes ${mb(t.index_bytes).padStart(8)}`,
      )
    }
    console.log(`  database ${name}: ${mb(databaseBytes)}`)
    console.log(
      `  statuses: ${statuses.map((s) => `${s['status']} ${((s['n'] / options.invoices) * 100).toFixed(1)} %`).join(', ')}`,
    )
    console.log(
      `  credit notes: ${count(credits.notes)} (${count(credits.lines)} lines) on ${count(credits.invoices)} ` +
        `invoices, ${count(credits.credited)} of them credited in full; the busy user has ${count(credits.busy)}`,
    )
    console.log(
      `Done in ${elapsed(started)}. Busy user ${result.busyId} (${BUSY_EMAIL}): ` +
        `TOKEN=$(bun run token ${BUSY_EMAIL} | tail -1)`,
    )
    if (result.problems.length > 0 || credits.problems.length > 0) process.exitCode = 1
  } finally {
    await sql.end({ timeout: 5 })
  }
}

if (import.meta.main) await main()
