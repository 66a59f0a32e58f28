import { type Insertable, type Selectable, sql, type Updateable } from 'kysely'
import type { CustomersTable } from '../../../db/schema'
import type { Database, Transaction } from '../../lib/db'
import { containsPattern } from '../../shared/search'

export type CustomerRow = Selectable<CustomersTable>
export type CustomerInsert = Omit<Insertable<CustomersTable>, 'user_id'>
export type CustomerUpdate = Omit<Updateable<CustomersTable>, 'id' | 'user_id' | 'version'>
/** A row with its `created_at` at full microsecond precision, which a JS Date would round. */
export type ListedCustomerRow = CustomerRow & { created_at_key: string }

export async function insertCustomer(
  db: Database,
  userId: string,
  values: CustomerInsert,
): Promise<CustomerRow> {
  return db
    .insertInto('customers')
    .values({ ...values, user_id: userId })
    .returningAll()
    .executeTakeFirstOrThrow()
}

const customerRow = (db: Database, userId: string, id: string) =>
  db.selectFrom('customers').selectAll().where('user_id', '=', userId).where('id', '=', id)

export async function findCustomer(
  db: Database,
  userId: string,
  id: string,
): Promise<CustomerRow | undefined> {
  return customerRow(db, userId, id).executeTakeFirst()
}

/** Locks the row until the transaction ends, for read-check-write sequences. */
export async function lockCustomer(
  trx: Transaction,
  userId: string,
  id: string,
): Promise<CustomerRow | undefined> {
  return customerRow(trx, userId, id).forUpdate().executeTakeFirst()
}

export async function updateCustomer(
  db: Database,
  userId: string,
  id: string,
  values: CustomerUpdate,
): Promise<CustomerRow> {
  return db
    .updateTable('customers')
    .set({ ...values, version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function deleteCustomer(db: Database, userId: string, id: string): Promise<void> {
  await db.deleteFrom('customers').where('user_id', '=', userId).where('id', '=', id).execute()
}

export interface ListCustomersOptions {
  /** Rows to fetch; the caller asks one more than it serves to learn whether another page exists. */
  take: number
  /** The `created_at` (microseconds, UTC) and id of the last row served, newest first. */
  after: readonly [createdAt: string, id: string] | undefined
  /** A query already folded like `search_text`. */
  search: string | undefined
}

/** Newest first, ties broken by id, so a keyset of (created_at, id) pages without gaps or repeats. */
export async function listCustomers(
  db: Database,
  userId: string,
  options: ListCustomersOptions,
): Promise<ListedCustomerRow[]> {
  const { after, search } = options
  return db
    .selectFrom('customers')
    .selectAll()
    .select(
      sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
        'created_at_key',
      ),
    )
    .where('user_id', '=', userId)
    .$if(search !== undefined, (qb) => qb.where('search_text', 'like', containsPattern(search!)))
    .$if(after !== undefined, (qb) =>
      qb.where((eb) =>
        eb(
          eb.refTuple('created_at', 'id'),
          '<',
          eb.tuple(sql<Date>`cast(${after![0]} as timestamptz)`, sql<string>`cast(${after![1]} as uuid)`),
        ),
      ),
    )
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(options.take)
    .execute()
}
