import { sql } from 'kysely'
import type { InvoiceStatus } from '../../../db/schema'
import type { Database } from '../../lib/db'
import { precompiled } from '../../lib/precompiled'
import { containsPattern } from '../../shared/search'
import { type InvoiceView, invoiceView, toView, type ViewRow } from './view'

export type ListSortColumn = 'issue_date' | 'due_date' | 'total' | 'number_seq'

export interface ListInvoicesOptions {
  take: number
  column: ListSortColumn
  descending: boolean
  /** The sort value and id of the last row served. */
  after: readonly [value: string | number | null, id: string] | undefined
  status: InvoiceStatus | 'overdue' | undefined
  customerId: string | undefined
  issuedFrom: string | undefined
  issuedTo: string | undefined
  /** Already folded like `search_text`. */
  search: string | undefined
}

type ListArg =
  | 'userId'
  | 'status'
  | 'customerId'
  | 'issuedFrom'
  | 'issuedTo'
  | 'pattern'
  | 'afterValue'
  | 'afterId'
  | 'take'

/** What decides the SQL of a list query; the values themselves are parameters. */
interface ListShape {
  column: ListSortColumn
  descending: boolean
  status: 'any' | 'one' | 'overdue'
  customer: boolean
  from: boolean
  to: boolean
  search: boolean
  after: boolean
  /** The number sort reads numbered invoices and drafts separately. */
  part: 'all' | 'numbered' | 'drafts'
}

/**
 * The ids of one page of overdue invoices. Open invoices are mostly recent and not yet due, so walking an index
 * in the list's order would read thousands of them to find a page of overdue ones; instead the overdue set is
 * read by due date (a partial index), in a subquery kept apart by `offset 0`, then sorted and cut to the page.
 */
function overduePage(arg: (name: ListArg) => string, shape: ListShape) {
  const column = sql.ref(`o.${shape.column}`)
  const direction = shape.descending ? sql`desc` : sql`asc`
  const compare = shape.descending ? sql`<` : sql`>`
  const filters = [
    sql`user_id = ${arg('userId')}`,
    sql`status in ('sent', 'partially_paid')`,
    sql`due_date < (select (now() at time zone timezone)::date from users where id = ${arg('userId')})`,
    ...(shape.customer ? [sql`customer_id = ${arg('customerId')}`] : []),
    ...(shape.from ? [sql`issue_date >= ${arg('issuedFrom')}`] : []),
    ...(shape.to ? [sql`issue_date <= ${arg('issuedTo')}`] : []),
    ...(shape.search ? [sql`search_text like ${arg('pattern')}`] : []),
  ]
  const after = shape.after
    ? sql`where (${column}, o.id) ${compare} (${arg('afterValue')}, ${arg('afterId')})`
    : sql``
  return sql<boolean>`i.id in (
    select o.id from (
      select id, issue_date, due_date, total, number_seq from invoices where ${sql.join(filters, sql` and `)} offset 0
    ) o ${after}
    order by ${column} ${direction}, o.id ${direction} limit ${arg('take')}
  )`
}

function buildList(db: Database, arg: (name: ListArg) => string, shape: ListShape) {
  const column = sql.ref(`i.${shape.column}`)
  const direction = shape.descending ? sql`desc` : sql`asc`
  const compare = shape.descending ? sql`<` : sql`>`
  let query = invoiceView(db).where('i.user_id', '=', arg('userId'))
  if (shape.status === 'overdue') {
    // Every sent invoice has a number: the number sort's part for drafts finds none.
    query = shape.part === 'drafts' ? query.where(sql<boolean>`false`) : query.where(overduePage(arg, shape))
  } else {
    if (shape.status === 'one') query = query.where('i.status', '=', arg('status') as InvoiceStatus)
    if (shape.customer) query = query.where('i.customer_id', '=', arg('customerId'))
    if (shape.from) query = query.where('i.issue_date', '>=', arg('issuedFrom'))
    if (shape.to) query = query.where('i.issue_date', '<=', arg('issuedTo'))
    if (shape.search) query = query.where('i.search_text', 'like', arg('pattern'))
    if (shape.part === 'numbered') query = query.where('i.number_seq', 'is not', null)
    if (shape.part === 'drafts') query = query.where('i.number_seq', 'is', null)
    if (shape.after) {
      query =
        shape.part === 'drafts'
          ? query.where(sql<boolean>`i.id ${compare} ${arg('afterId')}`)
          : query.where(sql<boolean>`(${column}, i.id) ${compare} (${arg('afterValue')}, ${arg('afterId')})`)
    }
  }
  return query
    .orderBy(sql`${column} ${direction}`)
    .orderBy(sql`i.id ${direction}`)
    .limit(sql<number>`${arg('take')}`)
}

const listQueries = new Map<string, ReturnType<typeof precompiled<ListArg, unknown>>>()

function listQuery(shape: ListShape) {
  const key = JSON.stringify(shape)
  let run = listQueries.get(key)
  if (!run) {
    run = precompiled((db, arg: (name: ListArg) => string) => buildList(db, arg, shape), {
      planEachExecution: true,
    })
    listQueries.set(key, run)
  }
  return async (db: Database, args: Readonly<Record<ListArg, unknown>>): Promise<InvoiceView[]> =>
    ((await run(db, args)) as ViewRow[]).map(toView)
}

/**
 * One page of a user's invoices in a keyset order that an index serves: the sort column, then the id. The
 * position after the cursor is a row comparison, `(column, id) > (value, id)`, which PostgreSQL turns into an
 * index condition, so a page costs the same at any depth. Each shape of query is compiled once.
 * Drafts have no number: in the number sort they come after the numbered invoices in both directions, read by
 * a second query once the numbered ones run out.
 */
export async function listInvoiceViews(
  db: Database,
  userId: string,
  options: ListInvoicesOptions,
): Promise<InvoiceView[]> {
  const { after, take } = options
  const args: Record<ListArg, unknown> = {
    userId,
    status: options.status,
    customerId: options.customerId,
    issuedFrom: options.issuedFrom,
    issuedTo: options.issuedTo,
    pattern: options.search === undefined ? undefined : containsPattern(options.search),
    afterValue: after?.[0],
    afterId: after?.[1],
    take,
  }
  const base = {
    column: options.column,
    descending: options.descending,
    status: options.status === undefined ? 'any' : options.status === 'overdue' ? 'overdue' : 'one',
    customer: options.customerId !== undefined,
    from: options.issuedFrom !== undefined,
    to: options.issuedTo !== undefined,
    search: options.search !== undefined,
  } as const

  if (options.column !== 'number_seq')
    return listQuery({ ...base, after: after !== undefined, part: 'all' })(db, args)
  if (after?.[0] === null) return listQuery({ ...base, after: true, part: 'drafts' })(db, args)
  const numbered = await listQuery({ ...base, after: after !== undefined, part: 'numbered' })(db, args)
  if (numbered.length === take) return numbered
  const drafts = await listQuery({ ...base, after: false, part: 'drafts' })(db, {
    ...args,
    take: take - numbered.length,
  })
  return [...numbered, ...drafts]
}
