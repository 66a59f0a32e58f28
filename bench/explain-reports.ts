/**
 * Writes docs/reports-explain.md: EXPLAIN (ANALYZE, BUFFERS) of the three report queries for the busy user of a
 * database seeded by bench/seed.ts, with the SQL and parameters the API sends (built by its own repository
 * code), their times as prepared statements on one connection, and what the same summary costs when computed
 * from the invoices and payments themselves.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/invoice_bench bun bench/explain-reports.ts
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CompiledQuery } from 'kysely'
import postgres from 'postgres'
import { stableSub } from '../src/lib/auth/dev-issuer'
import { resolvePeriod } from '../src/modules/reports/period'
import { agingQuery, type ReportScope, revenueQuery, summaryQuery } from '../src/modules/reports/repository'
import { explainPlans, recordingDatabase, type Sql } from './explain'
import { BUSY_EMAIL } from './seed'

const OUTPUT = join(import.meta.dir, '..', 'docs', 'reports-explain.md')
const RUNS = 200

/** Compiles queries as the API does (tenant guard included) without a connection. */
const compiler = recordingDatabase().db

/**
 * The summary as it was computed before the report tables, from the open invoices and the period's rows (with
 * credit notes as they count now: open amounts net of credits, invoiced net of the notes issued in the period).
 */
function directSummary(
  userId: string,
  today: string,
  timeZone: string,
  from: string,
  to: string,
): CompiledQuery {
  return CompiledQuery.raw(
    `with open_invoices as (
           select currency, sum(total - amount_paid - credited_total) as outstanding,
                  sum(total - amount_paid - credited_total) filter (where due_date < $2::date) as overdue,
                  count(*) as open, count(*) filter (where due_date < $2::date) as overdue_count
           from invoices where user_id = $1 and status in ('sent', 'partially_paid') group by currency
         ), drafts as (
           select currency, count(*) as draft from invoices where user_id = $1 and status = 'draft' group by currency
         ), issued as (
           select currency, sum(total) as issued from invoices
           where user_id = $1 and status in ('sent', 'partially_paid', 'paid', 'credited')
             and issue_date between $3::date and $4::date
           group by currency
         ), credited as (
           select currency, sum(total) as credited from credit_notes
           where user_id = $1 and issue_date between $3::date and $4::date
           group by currency
         ), invoiced as (
           select currency, coalesce(issued, 0) - coalesce(credited, 0) as invoiced, credited
           from issued full join credited using (currency)
         ), collected as (
           select currency, sum(amount) as collected from payments
           where user_id = $1 and paid_at >= ($3::date::timestamp at time zone $5)
             and paid_at < (($4::date + 1)::timestamp at time zone $5)
           group by currency
         )
         select * from open_invoices full join drafts using (currency) full join invoiced using (currency)
           full join collected using (currency) order by currency`,
    [userId, today, from, to, timeZone],
  )
}

interface Timed {
  p50: number
  p95: number
}

/** Round trips of the prepared statement on one connection, as the API runs it. */
async function timed(sql: Sql, query: CompiledQuery): Promise<Timed> {
  const parameters = query.parameters as postgres.ParameterOrJSON<never>[]
  for (let i = 0; i < 20; i++) await sql.unsafe(query.sql, parameters, { prepare: true })
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now()
    await sql.unsafe(query.sql, parameters, { prepare: true })
    times.push(performance.now() - started)
  }
  times.sort((a, b) => a - b)
  return { p50: times[Math.floor(RUNS / 2)]!, p95: times[Math.floor(RUNS * 0.95)]! }
}

const executionMs = (plan: string) => Number(/Execution Time: ([\d.]+)/.exec(plan)?.[1] ?? Number.NaN)
const planningMs = (plan: string) => Number(/Planning Time: ([\d.]+)/.exec(plan)?.[1] ?? Number.NaN)
const fmt = (n: number) => n.toFixed(2)
const count = (n: unknown) => Number(n).toLocaleString('en-US')

async function main() {
  const databaseUrl = process.env['DATABASE_URL']
  if (!databaseUrl) throw new Error('DATABASE_URL must name a database seeded by `bun run bench:seed`')
  const database = decodeURIComponent(new URL(databaseUrl).pathname.slice(1))
  const sql: Sql = postgres(databaseUrl, {
    max: 1,
    onnotice: () => {},
    // As the API's pool (src/lib/db.ts).
    connection: { application_name: 'invoice-bench-explain', jit: 'off' },
  })
  try {
    const now = new Date()
    const [busy] =
      await sql`select id, timezone, (${now}::timestamptz at time zone timezone)::date::text as today
      from users where cognito_sub = ${await stableSub(BUSY_EMAIL)}`
    if (!busy) throw new Error(`no busy user in ${database}: run bun run bench:seed first`)
    const userId = busy['id'] as string
    const timeZone = busy['timezone'] as string
    const today = busy['today'] as string
    const scope: ReportScope = { userId, now }
    const ytd = resolvePeriod({}, today)
    const tenYearsQuery = { from: `${Number(today.slice(0, 4)) - 9}-01-01` }
    const tenYears = resolvePeriod(tenYearsQuery, today, 120)

    const [server] = await sql`select current_setting('server_version') as version,
      current_setting('shared_buffers') as shared_buffers, current_setting('work_mem') as work_mem`
    const [facts] = await sql`select
      (select count(*) from invoices where user_id = ${userId}) as invoices,
      (select count(*) from invoices where user_id = ${userId} and status in ('sent', 'partially_paid')) as open,
      (select count(*) from invoices where user_id = ${userId} and status = 'draft') as drafts,
      (select count(*) from invoices where user_id = ${userId} and status in ('sent', 'partially_paid', 'paid', 'credited')
         and issue_date between ${ytd.from}::date and ${ytd.to}::date) as issued,
      (select count(*) from credit_notes where user_id = ${userId}) as credit_notes,
      (select count(*) from credit_notes where user_id = ${userId}
         and issue_date between ${ytd.from}::date and ${ytd.to}::date) as credit_notes_in_period,
      (select count(*) from payments where user_id = ${userId}) as payments,
      (select count(*) from payments where user_id = ${userId}
         and paid_at >= (${ytd.from}::date::timestamp at time zone ${timeZone})
         and paid_at < ((${ytd.to}::date + 1)::timestamp at time zone ${timeZone})) as paid_in_period,
      (select count(*) from report_open_balances where user_id = ${userId}) as open_rows,
      (select count(*) from report_draft_counts where user_id = ${userId}) as draft_rows,
      (select count(*) from report_daily_totals where user_id = ${userId}) as day_rows,
      (select count(*) from report_monthly_totals where user_id = ${userId}) as month_rows,
      (select count(*) from report_daily_totals where user_id = ${userId}
         and day between ${ytd.from}::date and ${ytd.to}::date) as day_rows_in_period`

    const cases: { label: string; query: CompiledQuery }[] = [
      { label: `summary, ${ytd.from} to ${ytd.to}`, query: summaryQuery(scope, {}).compile(compiler) },
      { label: 'aging', query: agingQuery(scope).compile(compiler) },
      { label: `revenue, ${ytd.from} to ${ytd.to}`, query: revenueQuery(scope, {}).compile(compiler) },
      {
        label: `revenue, ${tenYears.from} to ${tenYears.to} (120 months)`,
        query: revenueQuery(scope, tenYearsQuery).compile(compiler),
      },
      {
        label:
          'for comparison: the same summary from invoices and payments (without the covering indexes it once had)',
        query: directSummary(userId, today, timeZone, ytd.from, ytd.to),
      },
    ]
    const results = []
    for (const { label, query } of cases) {
      const plans = await explainPlans(sql, query)
      const time = await timed(sql, query)
      results.push({ label, query, plans, time })
      console.log(
        `${label.padEnd(64)} custom ${fmt(executionMs(plans.custom))} ms, generic ${fmt(executionMs(plans.generic))} ms, ` +
          `prepared p50 ${fmt(time.p50)} p95 ${fmt(time.p95)} ms`,
      )
    }

    const lines = [
      '# Report queries at 100,000 invoices',
      '',
      '<!-- Generated by bench/explain-reports.ts; edit the script, not this file. -->',
      '',
      'How the three reports (`src/modules/reports/repository.ts`) run for the busy user of the benchmark data',
      '(`bun run bench:seed`), and why they read what they read.',
      '',
      '## Design',
      '',
      "- A report must not cost in proportion to a user's invoices: a busy user has tens of thousands open and",
      '  receives hundreds of payments a day, and reports are what dashboards poll. Triggers',
      '  (`db/migrations/20261126210000_report_rollups.ts`) keep four small tables in the transaction of every',
      '  write: `report_open_balances` (open invoices per currency and due date: amount due and count),',
      '  `report_draft_counts` (per currency, updated at commit so that creating drafts does not queue on it),',
      '  `report_daily_totals` (per day and currency: totals of invoices issued that day, of credit notes issued',
      "  that day, payments received that day in the profile's time zone) and `report_monthly_totals` (the same",
      '  per calendar month). Their primary keys carry the sums, so the reports read index pages only',
      '  (`db/migrations/20261202110000_report_credits.ts` added the credit notes).',
      '- Outstanding, overdue, the counts and the aging buckets read `report_open_balances` (a few hundred rows;',
      '  open amounts net of credit notes); invoiced (less the credit notes issued in the period) reads the month',
      '  rows of the whole months of the period and the day rows of the rest.',
      "- Collected is summed by the calendar day of `paid_at` in the profile's time zone: the payment trigger",
      "  reads the zone, and a change of zone recounts the user's payment sums in its transaction",
      '  (`db/migrations/20261204100000_report_local_days.ts`). So every period is three range scans (whole',
      '  months, the days before them, the days after) with no time zone arithmetic in the query.',
      '  `tests/api/report-totals.test.ts` checks collected against a direct sum in six time zones, half-hour and',
      '  quarter-hour offsets and daylight-saving days included, and after a change of zone.',
      "- JIT is off for the API's connections: report plans are estimated high enough to cross `jit_above_cost`,",
      '  and compiling took 0.5 s where running takes milliseconds.',
      "- Statements are prepared. The generic plans PostgreSQL switches to after five runs are the custom plans'",
      '  shape (compare the columns below), so the reports are not planned per execution.',
      '',
      '## Run',
      '',
      `- ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, database \`${database}\`, PostgreSQL ` +
        `${server!['version']} (shared_buffers ${server!['shared_buffers']}, work_mem ${server!['work_mem']}), ` +
        'warm cache, one connection, `jit = off`.',
      `- Busy user (time zone ${timeZone}, today ${today}): ${count(facts!['invoices'])} invoices, ` +
        `${count(facts!['open'])} open, ${count(facts!['drafts'])} drafts, ${count(facts!['payments'])} payments, ` +
        `${count(facts!['credit_notes'])} credit notes; in the year to date ${count(facts!['issued'])} invoices ` +
        `issued, ${count(facts!['credit_notes_in_period'])} credit notes and ${count(facts!['paid_in_period'])} payments.`,
      `- Its report rows: ${count(facts!['open_rows'])} open-balance rows, ${count(facts!['draft_rows'])} draft counts, ` +
        `${count(facts!['day_rows'])} day rows (${count(facts!['day_rows_in_period'])} in the year to date), ` +
        `${count(facts!['month_rows'])} month rows.`,
      `- "Prepared" is the round trip of the prepared statement, ${RUNS} runs after 20 of warm-up, as the API runs it.`,
      '',
      '| query | execution ms (custom plan) | planning ms | execution ms (generic plan) | prepared p50 / p95 ms |',
      '|---|---:|---:|---:|---:|',
      ...results.map(
        (r) =>
          `| ${r.label} | ${fmt(executionMs(r.plans.custom))} | ${fmt(planningMs(r.plans.custom))} | ` +
          `${fmt(executionMs(r.plans.generic))} | ${fmt(r.time.p50)} / ${fmt(r.time.p95)} |`,
      ),
      '',
      '## Plans',
      '',
    ]
    for (const r of results) {
      lines.push(
        `### ${r.label}`,
        '',
        `Parameters: \`${JSON.stringify(r.query.parameters)}\``,
        '',
        '<details><summary>SQL</summary>',
        '',
        '```sql',
        r.query.sql.trim(),
        '```',
        '',
        '</details>',
        '',
        'Custom plan:',
        '',
        '```',
        r.plans.custom,
        '```',
        '',
        '<details><summary>Generic plan</summary>',
        '',
        '```',
        r.plans.generic,
        '```',
        '',
        '</details>',
        '',
      )
    }
    writeFileSync(OUTPUT, lines.join('\n'))
    console.log(`Written to ${OUTPUT}`)
  } finally {
    await sql.end({ timeout: 5 })
  }
}

if (import.meta.main) await main()
