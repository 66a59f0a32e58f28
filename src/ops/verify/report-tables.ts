import { type RawBuilder, sql } from 'kysely'
import type { Database } from '../../lib/db'
import { type Check, type CheckContext, listViolations, resultOf } from './context'
import type { ViolationKind } from './violations'

/**
 * The report tables that triggers keep (db/migrations/20261126210000_report_rollups.ts,
 * 20261202110000_report_credits.ts and 20261204100000_report_local_days.ts) against a recount of the invoices, payments and credit notes, row by row: a full join of what is kept with what is counted, on the table's key.
 * Rows whose figures are all zero are the same as absent ones (the triggers leave such rows behind).
 * The recount follows `report_rebuild_rollups()`; the months are recounted from the invoices and payments
 * themselves, not from the day rows, so that both tables are checked.
 */
interface RollupTable {
  kind: ViolationKind
  table: string
  /** The key besides `user_id`, as `currency`, `due_date`, … */
  key: readonly string[]
  figures: readonly string[]
  recount(context: CheckContext): RawBuilder<unknown>
}

/** A credited invoice is still issued: its total stays invoiced, its credit notes count on their own days. */
const ISSUED = sql`status in ('sent', 'partially_paid', 'paid', 'credited')`
const OPEN = sql`status in ('sent', 'partially_paid')`
const FIGURES = ['invoiced', 'issued', 'collected', 'payments', 'credited', 'credit_notes']

/**
 * Issued totals by issue date, payments by the day of `paid_at` in the profile's time zone
 * (db/migrations/20261204100000_report_local_days.ts) and credit notes by their issue date, one row per fact,
 * with the columns of FIGURES.
 */
const dailyFacts = (context: CheckContext) => sql`
  select user_id, currency, issue_date as day, total as invoiced, 1 as issued, 0::bigint as collected, 0 as payments,
         0::bigint as credited, 0 as credit_notes
    from invoices where ${ISSUED} and ${context.scope('user_id')}
  union all
  select p.user_id, p.currency, (p.paid_at at time zone u.timezone)::date, 0, 0, p.amount, 1, 0, 0
    from payments p join users u on u.id = p.user_id where ${context.scope('p.user_id')}
  union all
  select user_id, currency, issue_date, 0, 0, 0, 0, total, 1
    from credit_notes where ${context.scope('user_id')}`

const sums = sql.join(FIGURES.map((figure) => sql`sum(${sql.ref(figure)}) as ${sql.ref(figure)}`))

export const ROLLUP_TABLES: readonly RollupTable[] = [
  {
    kind: 'report_open_balances',
    table: 'report_open_balances',
    key: ['currency', 'due_date'],
    figures: ['amount_due', 'invoices'],
    recount: (context) => sql`
      select user_id, currency, due_date, sum(total - amount_paid - credited_total) as amount_due, count(*) as invoices
        from invoices where ${OPEN} and ${context.scope('user_id')}
       group by user_id, currency, due_date`,
  },
  {
    kind: 'report_draft_counts',
    table: 'report_draft_counts',
    key: ['currency'],
    figures: ['drafts'],
    recount: (context) => sql`
      select user_id, currency, count(*) as drafts
        from invoices where status = 'draft' and ${context.scope('user_id')}
       group by user_id, currency`,
  },
  {
    kind: 'report_daily_totals',
    table: 'report_daily_totals',
    key: ['currency', 'day'],
    figures: FIGURES,
    recount: (context) => sql`
      select user_id, currency, day, ${sums}
        from (${dailyFacts(context)}) facts
       group by user_id, currency, day`,
  },
  {
    kind: 'report_monthly_totals',
    table: 'report_monthly_totals',
    key: ['currency', 'month'],
    figures: FIGURES,
    recount: (context) => sql`
      select user_id, currency, date_trunc('month', day::timestamp)::date as month, ${sums}
        from (${dailyFacts(context)}) facts
       group by user_id, currency, date_trunc('month', day::timestamp)`,
  },
]

/** Rows of `table` that differ from the recount, with both sides' figures as `name=value` lists. */
export function rollupDifferences(db: Database, context: CheckContext, table: RollupTable) {
  const key = sql.join(['user_id', ...table.key].map((column) => sql.ref(column)))
  const figures = (side: string) =>
    sql.join(
      table.figures.map(
        (figure) => sql`${sql.lit(`${figure}=`)} || coalesce(${sql.ref(`${side}.${figure}`)}, 0)`,
      ),
      sql` || ' ' || `,
    )
  const compared = (side: string) =>
    sql.join(table.figures.map((figure) => sql`coalesce(${sql.ref(`${side}.${figure}`)}, 0)`))
  return listViolations<{ user_id: string; subject: string; kept: string; recounted: string }>(
    db,
    context,
    sql`
      select ${key}, concat_ws(' ', ${sql.join(table.key.map((column) => sql`${sql.ref(column)}::text`))}) as subject,
             ${figures('kept')} as kept, ${figures('recount')} as recounted
        from (select * from ${sql.table(table.table)} where ${context.scope('user_id')}) kept
        full join (${table.recount(context)}) recount using (${key})
       where (${compared('kept')}) <> (${compared('recount')})`,
    key,
  )
}

export const rollupChecks: readonly Check[] = ROLLUP_TABLES.map((table) => async (db, context) => {
  const rows = await rollupDifferences(db, context, table)
  return resultOf(rows, (row) => [
    {
      kind: table.kind,
      userId: row.user_id,
      invoiceId: null,
      number: null,
      subject: row.subject,
      expected: row.recounted,
      found: row.kept,
    },
  ])
})
