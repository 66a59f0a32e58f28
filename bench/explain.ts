import {
  type CompiledQuery,
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
} from 'kysely'
import postgres from 'postgres'
import type { DB } from '../db/schema'
import { stableSub } from '../src/lib/auth/dev-issuer'
import type { Database } from '../src/lib/db'
import { tenantGuard } from '../src/lib/tenant-guard'
import type { InvoiceListQuery } from '../src/modules/invoices/model'
import { findInvoiceView } from '../src/modules/invoices/repository'
import { listInvoices } from '../src/modules/invoices/service'
import { listVariants } from './list-variants'
import { RESULTS_FILE, writeSection } from './results-file'
import { BUSY_EMAIL } from './seed'

const BEGIN = '<!-- bench/explain.ts: generated section begins; every run replaces it -->'
const END = '<!-- bench/explain.ts: generated section ends -->'

/** A Kysely that compiles as the API's does and records each query instead of sending it. */
export function recordingDatabase() {
  const queries: CompiledQuery[] = []
  const db = new Kysely<DB>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (k) => new PostgresIntrospector(k),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
    plugins: [tenantGuard],
    log: (event) => {
      queries.push(event.query)
    },
  })
  return { db: db as unknown as Database, queries }
}

function queryObject(path: string): InvoiceListQuery {
  const search = new URL(path, 'http://x').searchParams
  const query: Record<string, string | number> = {}
  for (const [key, value] of search) query[key] = key === 'limit' ? Number(value) : value
  return query as InvoiceListQuery
}

interface Plan {
  plan: string
  access: string
  indexScan: boolean
  filtered: number
  buffers: string
  executionMs: number
  planningMs: number
}

interface Explained extends Plan {
  generic: Plan
  label: string
  sql: string
  parameters: readonly unknown[]
  plan: string
  access: string
  indexScan: boolean
  filtered: number
  buffers: string
  executionMs: number
  planningMs: number
}

const INVOICES_NODE =
  /(Parallel Seq Scan|Seq Scan|Bitmap Heap Scan|Index Only Scan Backward|Index Only Scan|Index Scan Backward|Index Scan)(?: using (\S+))? on invoices i\b/

function analyse(plan: string): Plan {
  const lines = plan.split('\n')
  const nodeIndex = lines.findIndex((line) => INVOICES_NODE.test(line))
  const match = nodeIndex === -1 ? null : INVOICES_NODE.exec(lines[nodeIndex]!)
  let access = match ? `${match[1]}${match[2] ? ` using ${match[2]}` : ''}` : 'not found'
  if (match?.[1] === 'Bitmap Heap Scan') {
    const indexes = [...plan.matchAll(/Bitmap Index Scan on (\S+)/g)].map((m) => m[1])
    access += ` (${[...new Set(indexes)].join(', ')})`
  }
  // "Rows Removed by Filter" of the invoices node: the lines under it, before the next node.
  let filtered = 0
  if (nodeIndex !== -1) {
    for (const line of lines.slice(nodeIndex + 1)) {
      if (/->/.test(line)) break
      const removed = /Rows Removed by (?:Filter|Index Recheck): (\d+)/.exec(line)
      if (removed) filtered += Number(removed[1])
    }
  }
  return {
    plan,
    access,
    indexScan: match !== null && match[1]!.startsWith('Index'),
    filtered,
    buffers: /Buffers: ([^\n]+)/.exec(plan)?.[1]?.trim() ?? '',
    executionMs: Number(/Execution Time: ([\d.]+)/.exec(plan)?.[1] ?? Number.NaN),
    planningMs: Number(/Planning Time: ([\d.]+)/.exec(plan)?.[1] ?? Number.NaN),
  }
}

export type Sql = postgres.Sql<Record<string, never>>

/** A parameter as an SQL literal of unknown type, which EXECUTE coerces to the statement's parameter type. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  const text = value instanceof Date ? value.toISOString() : String(value)
  return `'${text.replaceAll("'", "''")}'`
}

const planText = (rows: postgres.RowList<postgres.Row[]>) =>
  rows.map((row) => row['QUERY PLAN'] as string).join('\n')

/**
 * EXPLAIN (ANALYZE, BUFFERS) of a query as the API sends it: the plan made for its parameters (second run, warm
 * cache), and the generic plan a prepared statement may switch to after five runs.
 */
export async function explainPlans(
  sql: Sql,
  query: CompiledQuery,
): Promise<{ custom: string; generic: string }> {
  const parameters = query.parameters as postgres.ParameterOrJSON<never>[]
  const custom = `explain (analyze, buffers) ${query.sql}`
  await sql.unsafe(custom, parameters) // warm the cache; the second run is reported
  const customPlan = planText(await sql.unsafe(custom, parameters))
  // The plan a prepared statement may switch to: parameters unknown when it is made.
  const genericPlan = await sql.begin(async (tx) => {
    await tx.unsafe('set local plan_cache_mode = force_generic_plan')
    await tx.unsafe(`prepare bench_explain as ${query.sql}`)
    // EXECUTE's arguments are parsed before the statement's parameter types are known: literals, not $n.
    const literals = parameters.map(literal).join(', ')
    const execute = `explain (analyze, buffers) execute bench_explain${literals ? `(${literals})` : ''}`
    await tx.unsafe(execute)
    const plan = planText(await tx.unsafe(execute))
    await tx.unsafe('deallocate bench_explain')
    return plan
  })
  return { custom: customPlan, generic: genericPlan }
}

async function explain(sql: Sql, label: string, query: CompiledQuery): Promise<Explained> {
  const { custom, generic } = await explainPlans(sql, query)
  return {
    label,
    sql: query.sql,
    parameters: query.parameters,
    ...analyse(custom),
    generic: analyse(generic),
  }
}

/** A generic plan worth a look: not an index scan, or five times slower than the custom plan (and over 5 ms). */
const genericWorse = (r: Explained) =>
  !r.generic.indexScan || (r.generic.executionMs > 5 * r.executionMs && r.generic.executionMs > 5)

function render(results: Explained[], database: string, started: Date): string {
  const flagged = results.filter((r) => !r.indexScan)
  const heavy = results.filter((r) => r.indexScan && r.filtered > 1000)
  const generic = results.filter(genericWorse)
  const lines = [
    BEGIN,
    `## EXPLAIN (ANALYZE, BUFFERS) of the list, busy user (${started.toISOString().slice(0, 16).replace('T', ' ')} UTC)`,
    '',
    `Database \`${database}\`; the SQL and parameters are those the API sends (built by its own service and ` +
      'repository code); warm cache (each statement explained twice, the second run shown). "Custom" is the plan ' +
      'made for the parameters; "generic" the plan a prepared statement may switch to after five runs ' +
      '(`plan_cache_mode = force_generic_plan`). Flagged: a plan that reads `invoices` other than by an index ' +
      'scan, or a generic plan five times slower than the custom one. "Filtered" counts the rows the invoices ' +
      'scan read and threw away (Rows Removed by Filter / Index Recheck).',
    '',
    `**${flagged.length} of ${results.length} plans are not index scans on invoices${flagged.length ? `: ${flagged.map((f) => f.label).join('; ')}` : ''}.** ` +
      `${heavy.length} index scans filter out more than 1,000 rows${heavy.length ? `: ${heavy.map((f) => f.label).join('; ')}` : ''}. ` +
      `**${generic.length} generic plans are worse${generic.length ? `: ${generic.map((f) => f.label).join('; ')}` : ''}.**`,
    '',
    '| variant | custom plan: access to invoices | filtered | buffers | planning ms | execution ms | generic plan: access | generic ms | flag |',
    '|---|---|---:|---|---:|---:|---|---:|---|',
    ...results.map((r) => {
      const flags = [
        r.indexScan ? (r.filtered > 1000 ? 'index scan, heavy filter' : '') : '**not an index scan**',
        genericWorse(r) ? '**generic plan worse**' : '',
      ].filter(Boolean)
      return (
        `| ${r.label} | ${r.access} | ${r.filtered.toLocaleString('en-US')} | ${r.buffers} | ${r.planningMs.toFixed(2)} | ` +
        `${r.executionMs.toFixed(2)} | ${r.generic.access} | ${r.generic.executionMs.toFixed(2)} | ${flags.join(', ')} |`
      )
    }),
    '',
  ]
  for (const r of results) {
    lines.push(
      `<details><summary>${r.label}: ${r.access}, ${r.executionMs.toFixed(2)} ms (generic: ${r.generic.executionMs.toFixed(2)} ms)</summary>`,
      '',
      `Parameters: \`${JSON.stringify(r.parameters)}\``,
      '',
      'Custom plan:',
      '',
      '```',
      r.plan,
      '```',
      '',
      ...(genericWorse(r) ? ['Generic plan:', '', '```', r.generic.plan, '```', ''] : []),
      '</details>',
      '',
    )
  }
  lines.push(END)
  return lines.join('\n')
}

const writeResults = (section: string) => writeSection(BEGIN, END, section)

async function main() {
  const databaseUrl = process.env['DATABASE_URL']
  if (!databaseUrl) throw new Error('DATABASE_URL must name a database seeded by `bun run bench:seed`')
  const database = decodeURIComponent(new URL(databaseUrl).pathname.slice(1))
  const started = new Date()
  const sql = postgres(databaseUrl, {
    max: 1,
    onnotice: () => {},
    connection: { application_name: 'invoice-bench-explain' },
  })
  try {
    const [busy] = await sql`select id from users where cognito_sub = ${await stableSub(BUSY_EMAIL)}`
    if (!busy) throw new Error(`no busy user in ${database}: run bun run bench:seed first`)
    const userId = busy['id'] as string
    const results: Explained[] = []

    const { db, queries } = recordingDatabase()
    const [sample] = await sql`select id from invoices where user_id = ${userId} and status = 'paid' limit 1`
    await findInvoiceView(db, userId, sample!['id'] as string)
    results.push(await explain(sql, 'GET one invoice (invoiceView by id)', queries.at(-1)!))

    for (const variant of await listVariants(sql, userId)) {
      await listInvoices(db, userId, queryObject(variant.query))
      const query = queries.at(-1)!
      const result = await explain(sql, variant.label, query)
      results.push(result)
      console.log(
        `${variant.label.padEnd(44)} ${result.access.padEnd(64)} filtered ${String(result.filtered).padStart(7)}  ` +
          `${result.executionMs.toFixed(2).padStart(8)} ms${result.indexScan ? '' : '  NOT AN INDEX SCAN'}  ` +
          `generic ${result.generic.executionMs.toFixed(2)} ms${genericWorse(result) ? '  GENERIC WORSE' : ''}`,
      )
    }
    writeResults(render(results, database, started))
    console.log(`Written to ${RESULTS_FILE}`)
  } finally {
    await sql.end({ timeout: 5 })
  }
}

if (import.meta.main) await main()
