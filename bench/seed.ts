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
 *
 * How: the indexes and constraints of the four large tables (invoices, invoice_items, payments,
 * invoice_events) are dropped after their definitions are saved in `bench_seed_ddl`, the rows are generated
 * in UNLOGGED staging tables and inserted, then the very same definitions are created again (indexes on
 * --jobs sessions, foreign keys added NOT VALID and validated) and a fingerprint of the catalog is compared
 * with the one taken before. A run that dies midway leaves `bench_seed_ddl` behind, and the next run puts the
 * schema back from it first. Loading runs with `session_replication_role = replica` (no triggers; it needs a
 * superuser), and the report tables are then rebuilt in one pass by `report_rebuild_rollups()`. Ends with
 * VACUUM (ANALYZE) (index-only scans need the visibility map), a CHECKPOINT, consistency checks (gapless
 * numbers, totals = sums of lines, amount paid = sum of payments, a sample recomputed with the API's money
 * module) and the sizes.
 */
import { parseArgs } from 'node:util'
import { Kysely } from 'kysely'
import { PostgresJSDialect } from 'kysely-postgres-js'
import postgres from 'postgres'
import { migrateToLatest } from '../db/migrator'
import type { DB } from '../db/schema'
import { stableSub } from '../src/lib/auth/dev-issuer'
import { computeInvoice } from '../src/shared/money'
import { foldForSearch, searchTextOf } from '../src/shared/search'
import {
  COMPANY_KINDS,
  COMPANY_SUFFIXES,
  COMPANY_WORDS,
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
] as const
const CUSTOMER_POOL = 5_000

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
                          tax_total, total, amount_paid, pdf_key, pdf_sha256, pdf_size, pdf_generated_at,
                          sent_at, paid_at, voided_at, version, created_at, updated_at)
    select f.id, f.user_id, f.customer_id, f.number, f.number_seq, f.status, f.currency, f.issue_date, f.due_date,
           f.discount_percent, f.notes,
           case when f.status <> 'draft'
                then jsonb_build_object('name', c.name, 'email', c.email, 'taxId', c.tax_id, 'address', c.address) end,
           case when f.status <> 'draft'
                then jsonb_build_object('companyName', u.company_name, 'email', u.profile_email, 'phone', u.phone,
                                        'taxId', u.tax_id, 'address', u.address) end,
           coalesce(lower(f.number), '') || E'\n' || c.folded_name,
           f.subtotal, f.discount_total, f.tax_total, f.total, f.amount_paid,
           case when f.status <> 'draft'
                then 'invoices/' || f.user_id || '/' || f.id || '/' || md5(f.id::text || 'pdf') || '.pdf' end,
           case when f.status <> 'draft' then encode(sha256(convert_to(f.id::text, 'UTF8')), 'hex') end,
           case when f.status <> 'draft' then 24000 + f.n_items * 850 + abs(hashtext(f.id::text)) % 4000 end,
           f.sent_at, f.sent_at,
           case when f.status = 'paid' then f.last_paid_at end,
           f.voided_at,
           1 + (f.status <> 'draft')::int + f.payments + (f.status = 'void')::int,
           f.created_at,
           greatest(f.created_at, f.sent_at, f.last_paid_at, f.voided_at)
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
    from bench_seed_final f where ${chunk} and status = 'paid' order by last_paid_at`
  await sql`
    insert into invoice_events (invoice_id, user_id, type, at, actor_id)
    select id, user_id, 'voided', voided_at, user_id
    from bench_seed_final f where ${chunk} and status = 'void' order by voided_at`
}

async function updateCounters(sql: Sql) {
  await sql`
    update users u set last_invoice_number = s.last, next_invoice_number = s.last + 1
    from (select user_id, coalesce(max(number_seq), 0) as last from bench_seed_final group by user_id) s
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
       or (i.status = 'paid' and i.amount_paid <> i.total)
       or (i.status = 'partially_paid' and not (i.amount_paid > 0 and i.amount_paid < i.total))
       or (i.status in ('draft', 'sent', 'void') and i.amount_paid <> 0)`
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
    await step('invoice number counters', () => updateCounters(sql))
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
      `Done in ${elapsed(started)}. Busy user ${result.busyId} (${BUSY_EMAIL}): ` +
        `TOKEN=$(bun run token ${BUSY_EMAIL} | tail -1)`,
    )
    if (result.problems.length > 0) process.exitCode = 1
  } finally {
    await sql.end({ timeout: 5 })
  }
}

if (import.meta.main) await main()
