import { type Selectable, sql, type Updateable } from 'kysely'
import type { InvoiceEventType, InvoiceItemsTable, InvoicesTable, UsersTable } from '../../../db/schema'
import type { Database } from '../../lib/db'

export type IssuedRow = Selectable<InvoicesTable>
export type ItemRow = Pick<
  Selectable<InvoiceItemsTable>,
  'description' | 'quantity' | 'unit_price' | 'tax_rate' | 'subtotal' | 'discount' | 'tax' | 'total'
>
export type IssuerRow = Pick<
  Selectable<UsersTable>,
  'invoice_prefix' | 'next_invoice_number' | 'company_name' | 'profile_email' | 'phone' | 'tax_id' | 'address'
>

/**
 * The user's row locked until the transaction ends: the number counter and the seller of the invoice,
 * read together so that the frozen seller is the profile as it is when the number is taken. FOR NO KEY UPDATE,
 * not FOR UPDATE: rows that reference the user (events, payments, report totals) take a key-share lock on it
 * for their foreign key, and must not queue behind a send, or a payment holding a report row would deadlock
 * with a send waiting for that row.
 */
export async function lockIssuer(db: Database, userId: string): Promise<IssuerRow | undefined> {
  return db
    .selectFrom('users')
    .select(['invoice_prefix', 'next_invoice_number'])
    .select(['company_name', 'profile_email', 'phone', 'tax_id', 'address'])
    .where('id', '=', userId)
    .forNoKeyUpdate()
    .executeTakeFirst()
}

export interface NewEvent {
  invoiceId: string
  userId: string
  type: InvoiceEventType
  actorId: string | null
  data: object
}

/**
 * The writes of an issue in one statement (one round trip while the user's row is locked): the invoice, the
 * counter moved past `seq` (the profile's version too, since `nextInvoiceNumber` is part of it) and the event.
 */
export async function recordIssue(
  db: Database,
  userId: string,
  id: string,
  values: Updateable<InvoicesTable>,
  seq: number,
  event: NewEvent,
): Promise<void> {
  await db
    .with('counter', (qb) =>
      qb
        .updateTable('users')
        .set({
          next_invoice_number: seq + 1,
          last_invoice_number: seq,
          version: sql<number>`version + 1`,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', userId)
        .returning('id'),
    )
    .with('event', (qb) => qb.insertInto('invoice_events').values(eventValues(event)).returning('id'))
    .updateTable('invoices')
    .set({ version: sql<number>`version + 1`, updated_at: sql<Date>`now()`, ...values })
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .execute()
}

export async function findItems(db: Database, userId: string, invoiceId: string): Promise<ItemRow[]> {
  return db
    .selectFrom('invoice_items')
    .select(['description', 'quantity', 'unit_price', 'tax_rate', 'subtotal', 'discount', 'tax', 'total'])
    .where('user_id', '=', userId)
    .where('invoice_id', '=', invoiceId)
    .orderBy('position')
    .execute()
}

export async function findInvoice(
  db: Database,
  userId: string,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<IssuedRow | undefined> {
  const query = db.selectFrom('invoices').selectAll().where('user_id', '=', userId).where('id', '=', id)
  return (options.forUpdate ? query.forUpdate() : query).executeTakeFirst()
}

export async function updateInvoice(
  db: Database,
  userId: string,
  id: string,
  values: Updateable<InvoicesTable>,
): Promise<void> {
  await db
    .updateTable('invoices')
    .set({ version: sql<number>`version + 1`, updated_at: sql<Date>`now()`, ...values })
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .execute()
}

const eventValues = (event: NewEvent) => ({
  invoice_id: event.invoiceId,
  user_id: event.userId,
  type: event.type,
  actor_id: event.actorId,
  data: event.data,
})

export async function appendEvent(db: Database, event: NewEvent): Promise<void> {
  await db.insertInto('invoice_events').values(eventValues(event)).execute()
}
