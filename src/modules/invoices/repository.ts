import { type Insertable, type Selectable, sql, type Updateable } from 'kysely'
import type {
  InvoiceEventsTable,
  InvoiceEventType,
  InvoiceItemsTable,
  InvoicesTable,
} from '../../../db/schema'
import { crossTenant, type Database, type Transaction } from '../../lib/db'
import { precompiled } from '../../lib/precompiled'
import {
  type InvoiceRecord,
  type InvoiceView,
  type ItemRecord,
  invoiceView,
  toItem,
  toRecord,
  toView,
  type ViewRow,
} from './view'

export { type ListSortColumn, listInvoiceViews } from './list'
export type {
  CreditNoteRef,
  InvoiceRecord,
  InvoiceView,
  ItemRecord,
  PaymentRecord,
  StoredPdfRef,
} from './view'

export type NewInvoice = Insertable<InvoicesTable>
export type InvoiceUpdate = Updateable<InvoicesTable>
export type NewItem = Insertable<InvoiceItemsTable>

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

/**
 * The issued invoice whose hosted page secret is `token`, whoever owns it: the token is the only key the public
 * page has, so this one read runs without the tenant guard on purpose. Drafts are left out here, so that a
 * draft's token reads exactly as an unknown one.
 */
export async function findIssuedViewByHostedToken(
  db: Database,
  token: string,
): Promise<InvoiceView | undefined> {
  const row = await invoiceView(crossTenant(db))
    .where('i.hosted_token', '=', token)
    .where('i.status', '<>', 'draft')
    .executeTakeFirst()
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
    .select(['subtotal', 'discount', 'tax', 'total', 'unit_code as unitCode', 'tax_category as taxCategory'])
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
