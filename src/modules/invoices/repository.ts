import { type Insertable, type Selectable, sql, type Updateable } from 'kysely'
import { jsonArrayFrom } from 'kysely/helpers/postgres'
import type {
  AddressJson,
  BillToJson,
  InvoiceEventsTable,
  InvoiceEventType,
  InvoiceItemsTable,
  InvoiceStatus,
  InvoicesTable,
  PaymentMethod,
  SellerJson,
} from '../../../db/schema'
import type { Database, Transaction } from '../../lib/db'
import { precompiled } from '../../lib/precompiled'
import { parseMinorUnits } from '../../shared/money'
import { containsPattern } from '../../shared/search'

type InvoiceRow = Selectable<InvoicesTable>
export type NewInvoice = Insertable<InvoicesTable>
export type InvoiceUpdate = Updateable<InvoicesTable>
export type NewItem = Insertable<InvoiceItemsTable>

/** Where an issued document's PDF is stored, and what was stored. */
export interface StoredPdfRef {
  key: string
  sha256: string
  size: number
  generatedAt: Date
}

/**
 * An invoice as the rest of the module reads it: camelCase, money as integer minor units, decimals as numbers
 * (three fraction digits at most, exact in a double), timestamps as instants.
 */
export interface InvoiceRecord {
  id: string
  userId: string
  customerId: string
  number: string | null
  numberSeq: number | null
  status: InvoiceStatus
  currency: string
  issueDate: string
  dueDate: string
  discountPercent: number
  notes: string | null
  billTo: BillToJson | null
  seller: SellerJson | null
  subtotal: number
  discountTotal: number
  taxTotal: number
  total: number
  amountPaid: number
  creditedTotal: number
  pdf: StoredPdfRef | null
  sentAt: Date | null
  paidAt: Date | null
  voidedAt: Date | null
  version: number
  createdAt: Date
  updatedAt: Date
}

export interface ItemRecord {
  id: string
  description: string
  quantity: number
  unitPrice: number
  taxRate: number
  subtotal: number
  discount: number
  tax: number
  total: number
}

export interface PaymentRecord {
  id: string
  invoiceId: string
  amount: number
  paidAt: Date
  method: PaymentMethod
  reference: string | null
  createdAt: Date
}

export interface CreditNoteRef {
  id: string
  number: string
  total: number
  issuedAt: Date
}

/** An invoice with everything its answer shows, read in one round trip. */
export interface InvoiceView extends InvoiceRecord {
  isOverdue: boolean
  items: ItemRecord[]
  payments: PaymentRecord[]
  creditNotes: CreditNoteRef[]
  customer: BillToJson
  profile: SellerJson
}

const money = (value: number | string) => parseMinorUnits(value)
/** `json_agg` gives timestamps as text and numbers as numbers; table columns give instants and decimal text. */
const instant = (value: Date | string) => (value instanceof Date ? value : new Date(value))

function toRecord(row: InvoiceRow): InvoiceRecord {
  return {
    id: row.id,
    userId: row.user_id,
    customerId: row.customer_id,
    number: row.number,
    numberSeq: row.number_seq === null ? null : money(row.number_seq),
    status: row.status,
    currency: row.currency,
    issueDate: row.issue_date,
    dueDate: row.due_date,
    discountPercent: Number(row.discount_percent),
    notes: row.notes,
    billTo: row.bill_to,
    seller: row.seller,
    subtotal: money(row.subtotal),
    discountTotal: money(row.discount_total),
    taxTotal: money(row.tax_total),
    total: money(row.total),
    amountPaid: money(row.amount_paid),
    creditedTotal: money(row.credited_total),
    pdf:
      row.pdf_key && row.pdf_sha256 && row.pdf_size !== null && row.pdf_generated_at
        ? {
            key: row.pdf_key,
            sha256: row.pdf_sha256,
            size: row.pdf_size,
            generatedAt: instant(row.pdf_generated_at),
          }
        : null,
    sentAt: row.sent_at && instant(row.sent_at),
    paidAt: row.paid_at && instant(row.paid_at),
    voidedAt: row.voided_at && instant(row.voided_at),
    version: row.version,
    createdAt: instant(row.created_at),
    updatedAt: instant(row.updated_at),
  }
}

type Loose<T> = {
  [K in keyof T]: T[K] extends number ? number | string : T[K] extends Date ? Date | string : T[K]
}

function toItem(row: Loose<ItemRecord>): ItemRecord {
  return {
    id: row.id,
    description: row.description,
    quantity: Number(row.quantity),
    unitPrice: money(row.unitPrice),
    taxRate: Number(row.taxRate),
    subtotal: money(row.subtotal),
    discount: money(row.discount),
    tax: money(row.tax),
    total: money(row.total),
  }
}

export function toPaymentRecord(row: Loose<PaymentRecord>): PaymentRecord {
  return {
    id: row.id,
    invoiceId: row.invoiceId,
    amount: money(row.amount),
    paidAt: instant(row.paidAt),
    method: row.method,
    reference: row.reference,
    createdAt: instant(row.createdAt),
  }
}

/** The raw row of the view query: the invoice's columns and its parts as JSON. */
interface ViewRow extends InvoiceRow {
  is_overdue: boolean
  items: Loose<ItemRecord>[]
  payments: Loose<PaymentRecord>[]
  credit_notes: Loose<CreditNoteRef>[]
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

function toView(row: ViewRow): InvoiceView {
  return {
    ...toRecord(row),
    isOverdue: row.is_overdue,
    items: row.items.map(toItem),
    payments: row.payments.map(toPaymentRecord),
    creditNotes: row.credit_notes.map((note) => ({
      id: note.id,
      number: note.number,
      total: money(note.total),
      issuedAt: instant(note.issuedAt),
    })),
    customer: {
      name: row.customer_name,
      email: row.customer_email,
      taxId: row.customer_tax_id,
      address: row.customer_address,
    },
    profile: {
      companyName: row.profile_company_name,
      email: row.profile_email,
      phone: row.profile_phone,
      taxId: row.profile_tax_id,
      address: row.profile_address,
    },
  }
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
          .select([
            'it.id',
            'it.description',
            'it.quantity',
            'it.unit_price as unitPrice',
            'it.tax_rate as taxRate',
          ])
          .select(['it.subtotal', 'it.discount', 'it.tax', 'it.total'])
          .whereRef('it.invoice_id', '=', 'i.id')
          .orderBy('it.position'),
      ).as('items'),
      jsonArrayFrom(
        eb
          .selectFrom('payments as p')
          .select(['p.id', 'p.invoice_id as invoiceId', 'p.amount', 'p.paid_at as paidAt', 'p.method'])
          .select(['p.reference', 'p.created_at as createdAt'])
          .whereRef('p.invoice_id', '=', 'i.id')
          .orderBy('p.created_at')
          .orderBy('p.id'),
      ).as('payments'),
      jsonArrayFrom(
        eb
          .selectFrom('credit_notes as cn')
          .select(['cn.id', 'cn.number', 'cn.total', 'cn.issued_at as issuedAt'])
          .whereRef('cn.invoice_id', '=', 'i.id')
          .orderBy('cn.number_seq'),
      ).as('credit_notes'),
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
): Promise<InvoiceView | undefined> {
  const [row] = await invoiceById(db, { userId, id })
  return row && toView(row as ViewRow)
}

/** The invoice without a lock, for reads. */
export async function findInvoice(
  db: Database,
  userId: string,
  id: string,
): Promise<InvoiceRecord | undefined> {
  const row = await db
    .selectFrom('invoices')
    .selectAll()
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .executeTakeFirst()
  return row && toRecord(row)
}

/** The invoice locked until the transaction ends, for read-check-write sequences. */
export async function lockInvoice(
  trx: Transaction,
  userId: string,
  id: string,
): Promise<InvoiceRecord | undefined> {
  const row = await trx
    .selectFrom('invoices')
    .selectAll()
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst()
  return row && toRecord(row)
}

export async function insertInvoice(trx: Transaction, values: NewInvoice): Promise<InvoiceRecord> {
  return toRecord(await trx.insertInto('invoices').values(values).returningAll().executeTakeFirstOrThrow())
}

/** Every change moves the version (the ETag) and `updatedAt`. */
export async function updateInvoice(
  trx: Transaction,
  userId: string,
  id: string,
  values: InvoiceUpdate,
): Promise<void> {
  await trx
    .updateTable('invoices')
    .set({ version: sql<number>`version + 1`, updated_at: sql<Date>`now()`, ...values })
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .execute()
}

export async function deleteInvoice(trx: Transaction, userId: string, id: string): Promise<void> {
  await trx.deleteFrom('invoices').where('user_id', '=', userId).where('id', '=', id).execute()
}

export async function findItems(db: Database, userId: string, invoiceId: string): Promise<ItemRecord[]> {
  const rows = await db
    .selectFrom('invoice_items')
    .select(['id', 'description', 'quantity', 'unit_price as unitPrice', 'tax_rate as taxRate'])
    .select(['subtotal', 'discount', 'tax', 'total'])
    .where('user_id', '=', userId)
    .where('invoice_id', '=', invoiceId)
    .orderBy('position')
    .execute()
  return rows.map(toItem)
}

export async function replaceItems(trx: Transaction, userId: string, invoiceId: string, items: NewItem[]) {
  await trx
    .deleteFrom('invoice_items')
    .where('user_id', '=', userId)
    .where('invoice_id', '=', invoiceId)
    .execute()
  if (items.length > 0) await trx.insertInto('invoice_items').values(items).execute()
}

/** Keeps the invoice search text of a customer's drafts in step with the customer's name. */
export async function updateDraftSearchText(
  db: Database | Transaction,
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

export type EventRow = Selectable<InvoiceEventsTable>

export interface NewEvent {
  invoiceId: string
  userId: string
  type: InvoiceEventType
  actorId: string | null
  data?: object
}

/** Events are written in the transaction of the change they record. */
export async function appendEvents(trx: Transaction, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return
  await trx
    .insertInto('invoice_events')
    .values(
      events.map((event) => ({
        invoice_id: event.invoiceId,
        user_id: event.userId,
        type: event.type,
        actor_id: event.actorId,
        data: event.data ?? {},
      })),
    )
    .execute()
}

export async function appendEvent(trx: Transaction, event: NewEvent): Promise<void> {
  await trx
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
