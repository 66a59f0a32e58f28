/**
 * The list requests the benchmarks and EXPLAIN use for the busy user: every sort, status filters, a customer,
 * an issue-date range, searches by customer name and by number, and deep cursors (real `nextCursor` values,
 * computed from the data as the API encodes them).
 */
import type postgres from 'postgres'
import { encodeCursor } from '../src/shared/pagination'

type Sql = postgres.Sql<Record<string, never>>

export interface ListVariant {
  label: string
  query: string
}

/** The position after row `depth` of the busy user's invoices in a sort (and filter): a real nextCursor. */
export async function cursorAt(sql: Sql, userId: string, sort: string, depth: number, status?: string) {
  const orders: Record<string, { column: string; order: string }> = {
    '-issueDate': { column: 'issue_date::text', order: 'issue_date desc, id desc' },
    total: { column: 'total', order: 'total asc, id asc' },
    number: { column: 'number_seq', order: 'number_seq asc nulls last, id asc' },
    '-number': { column: 'number_seq', order: 'number_seq desc nulls last, id desc' },
  }
  const { column, order } = orders[sort]!
  const filter = status ? `and status = '${status}'` : ''
  const [row] = await sql.unsafe(
    `select ${column} as value, id from invoices where user_id = $1 ${filter} order by ${order} offset $2 limit 1`,
    [userId, depth - 1],
  )
  if (!row) throw new Error(`no row at depth ${depth} of ${sort}`)
  const value =
    row['value'] === null ? null : sort === '-issueDate' ? String(row['value']) : Number(row['value'])
  return encodeURIComponent(encodeCursor(`invoices:${sort}`, [value, row['id'] as string]))
}

export async function listVariants(sql: Sql, userId: string): Promise<ListVariant[]> {
  const [top] = await sql`
    select i.customer_id, c.name from invoices i join customers c on c.id = i.customer_id
    where i.user_id = ${userId} group by i.customer_id, c.name order by count(*) desc limit 1`
  const customerId = top!['customer_id'] as string
  const word = (top!['name'] as string).split(' ').sort((a, b) => b.length - a.length)[0]!
  const [year] = await sql`select extract(year from current_date)::int - 1 as y`
  const lastYear = year!['y'] as number
  return [
    { label: 'sort=-issueDate (default)', query: '' },
    { label: 'sort=issueDate', query: 'sort=issueDate' },
    { label: 'sort=dueDate', query: 'sort=dueDate' },
    { label: 'sort=-dueDate', query: 'sort=-dueDate' },
    { label: 'sort=total', query: 'sort=total' },
    { label: 'sort=-total', query: 'sort=-total' },
    { label: 'sort=number', query: 'sort=number' },
    { label: 'sort=-number', query: 'sort=-number' },
    { label: 'status=paid', query: 'status=paid' },
    { label: 'status=overdue', query: 'status=overdue' },
    { label: 'status=draft&sort=-total', query: 'status=draft&sort=-total' },
    { label: 'status=sent&sort=dueDate', query: 'status=sent&sort=dueDate' },
    { label: 'customerId (top customer)', query: `customerId=${customerId}` },
    {
      label: `issuedFrom/To (Q1 ${lastYear})`,
      query: `issuedFrom=${lastYear}-01-01&issuedTo=${lastYear}-03-31`,
    },
    { label: `q=${word} (customer name)`, query: `q=${encodeURIComponent(word)}` },
    { label: 'q=INV-0420 (number)', query: 'q=INV-0420' },
    {
      label: 'sort=-issueDate, cursor at 50,000',
      query: `cursor=${await cursorAt(sql, userId, '-issueDate', 50_000)}`,
    },
    {
      label: 'sort=total, cursor at 50,000',
      query: `sort=total&cursor=${await cursorAt(sql, userId, 'total', 50_000)}`,
    },
    {
      label: 'sort=number, cursor at 85,000',
      query: `sort=number&cursor=${await cursorAt(sql, userId, 'number', 85_000)}`,
    },
    {
      label: 'sort=-number, cursor at 95,000 (drafts)',
      query: `sort=-number&cursor=${await cursorAt(sql, userId, '-number', 95_000)}`,
    },
    {
      label: 'status=paid, cursor at 25,000',
      query: `status=paid&cursor=${await cursorAt(sql, userId, '-issueDate', 25_000, 'paid')}`,
    },
  ].map((v) => ({ ...v, query: `/api/v1/invoices?limit=20${v.query ? `&${v.query}` : ''}` }))
}
