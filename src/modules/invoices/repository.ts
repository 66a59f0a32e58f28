import { type Insertable, type Selectable, sql, type Updateable } from 'kysely'
import { jsonArrayFrom } from 'kysely/helpers/postgres'
import type {
  AddressJson,
  InvoiceEventsTable,
  InvoiceEventType,
  InvoiceItemsTable,
  InvoiceStatus,
  InvoicesTable,
} from '../../../db/schema'
import type { Database } from '../../lib/db'
import { precompiled } from '../../lib/precompiled'
import { containsPattern } from '../../shared/search'

export type InvoiceRow = Selectable<InvoicesTable>
export type NewInvoice = Insertable<InvoicesTable>
export type InvoiceUpdate = Updateable<InvoicesTable>
export type NewItem = Insertable<InvoiceItemsTable>

/** Item and payment rows as they come out of `json_agg`: numbers where the table has strings. */
export interface ItemJson {
  id: string
  description: string
  quantity: number | string
  unit_price: number | string
  tax_rate: number | string
  subtotal: number | string
  discount: number | string
  tax: number | string
  total: number | string
}

export interface PaymentJson {
  id: string
  amount: number | string
  paid_at: string
  method: string
  reference: string | null
  created_at: string
}

/** An invoice with everything its answer shows, read in one round trip. */
export interface InvoiceViewRow extends InvoiceRow {
  is_overdue: boolean
  items: ItemJson[]
  payments: PaymentJson[]
  customer_name: string
  customer_email: string | null
  customer_tax_id: string | null
  customer_address: AddressJson | null
  profile_company_name: string | null
  profile_email: string | null
  profile_phone: string | null
  profile_tax_id: string | null
  profile_address: AddressJson | null
}

function invoiceView(db: Database) {
  return db
    .selectFrom('invoices as i')
    .innerJoin('users as u', 'u.id', 'i.user_id')
    .innerJoin('customers as c', 'c.id', 'i.customer_id')
    .selectAll('i')
    .select((eb) => [
      sql<boolean>`i.status in ('sent', 'partially_paid') and i.due_date < (now() at time zone u.timezone)::date`.as(
        'is_overdue',
      ),
      jsonArrayFrom(
        eb
          .selectFrom('invoice_items as it')
          .select(['it.id', 'it.description', 'it.quantity', 'it.unit_price', 'it.tax_rate'])
          .select(['it.subtotal', 'it.discount', 'it.tax', 'it.total'])
          .whereRef('it.invoice_id', '=', 'i.id')
          .orderBy('it.position'),
      ).as('items'),
      jsonArrayFrom(
        eb
          .selectFrom('payments as p')
          .select(['p.id', 'p.amount', 'p.paid_at', 'p.method', 'p.reference', 'p.created_at'])
          .whereRef('p.invoice_id', '=', 'i.id')
          .orderBy('p.created_at')
          .orderBy('p.id'),
      ).as('payments'),
      'c.name as customer_name',
      'c.email as customer_email',
      'c.tax_id as customer_tax_id',
      'c.address as customer_address',
      'u.company_name as profile_company_name',
      'u.profile_email as profile_email',
      'u.phone as profile_phone',
      'u.tax_id as profile_tax_id',
      'u.address as profile_address',
    ])
}

const invoiceById = precompiled((db, arg: (name: 'userId' | 'id') => string) =>
  invoiceView(db).where('i.user_id', '=', arg('userId')).where('i.id', '=', arg('id')),
)

export async function findInvoiceView(
  db: Database,
  userId: string,
  id: string,
): Promise<InvoiceViewRow | undefined> {
  const [row] = await invoiceById(db, { userId, id })
  return row as InvoiceViewRow | undefined
}

/** The invoice row locked until the transaction ends, for read-check-write sequences. */
export async function lockInvoice(db: Database, userId: string, id: string): Promise<InvoiceRow | undefined> {
  return db
    .selectFrom('invoices')
    .selectAll()
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst()
}

export async function insertInvoice(db: Database, values: NewInvoice): Promise<InvoiceRow> {
  return db.insertInto('invoices').values(values).returningAll().executeTakeFirstOrThrow()
}

export async function updateInvoice(
  db: Database,
  userId: string,
  id: string,
  values: InvoiceUpdate,
): Promise<InvoiceRow> {
  return db
    .updateTable('invoices')
    .set({ ...values, version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function deleteInvoice(db: Database, userId: string, id: string): Promise<void> {
  await db.deleteFrom('invoices').where('user_id', '=', userId).where('id', '=', id).execute()
}

export async function findItems(db: Database, userId: string, invoiceId: string) {
  return db
    .selectFrom('invoice_items')
    .select(['id', 'description', 'quantity', 'unit_price', 'tax_rate'])
    .where('user_id', '=', userId)
    .where('invoice_id', '=', invoiceId)
    .orderBy('position')
    .execute()
}

export async function replaceItems(db: Database, userId: string, invoiceId: string, items: NewItem[]) {
  await db
    .deleteFrom('invoice_items')
    .where('user_id', '=', userId)
    .where('invoice_id', '=', invoiceId)
    .execute()
  if (items.length > 0) await db.insertInto('invoice_items').values(items).execute()
}

/** Keeps the invoice search text of a customer's drafts in step with the customer's name. */
export async function updateDraftSearchText(
  db: Database,
  userId: string,
  customerId: string,
  searchText: string,
): Promise<void> {
  await db
    .updateTable('invoices')
    .set({ search_text: searchText })
    .where('user_id', '=', userId)
    .where('customer_id', '=', customerId)
    .where('status', '=', 'draft')
    .execute()
}

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
  return run as (db: Database, args: Readonly<Record<ListArg, unknown>>) => Promise<InvoiceViewRow[]>
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
): Promise<InvoiceViewRow[]> {
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

export type EventRow = Selectable<InvoiceEventsTable>

export async function appendEvent(
  db: Database,
  event: { invoiceId: string; userId: string; type: InvoiceEventType; actorId: string | null; data?: object },
): Promise<void> {
  await db
    .insertInto('invoice_events')
    .values({
      invoice_id: event.invoiceId,
      user_id: event.userId,
      type: event.type,
      actor_id: event.actorId,
      data: event.data ?? {},
    })
    .execute()
}

export async function listEvents(db: Database, userId: string, invoiceId: string): Promise<EventRow[]> {
  return db
    .selectFrom('invoice_events')
    .selectAll()
    .where('user_id', '=', userId)
    .where('invoice_id', '=', invoiceId)
    .orderBy('seq')
    .execute()
}

export async function invoiceExists(db: Database, userId: string, id: string): Promise<boolean> {
  const row = await db
    .selectFrom('invoices')
    .select('id')
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .executeTakeFirst()
  return row !== undefined
}
