import { type Selectable, sql, type Updateable } from 'kysely'
import type { UsersTable } from '../../../db/schema'
import type { Database, Transaction } from '../../lib/db'

type RawUserRow = Selectable<UsersTable>

/** A user's row with its counters and rate as numbers: int8 and numeric arrive as text. */
export type UserRow = Omit<
  RawUserRow,
  | 'default_tax_rate'
  | 'next_invoice_number'
  | 'last_invoice_number'
  | 'next_credit_note_number'
  | 'last_credit_note_number'
> & {
  default_tax_rate: number
  next_invoice_number: number
  last_invoice_number: number
  next_credit_note_number: number
  last_credit_note_number: number
}

const toUserRow = (row: RawUserRow): UserRow => ({
  ...row,
  default_tax_rate: Number(row.default_tax_rate),
  next_invoice_number: Number(row.next_invoice_number),
  last_invoice_number: Number(row.last_invoice_number),
  next_credit_note_number: Number(row.next_credit_note_number),
  last_credit_note_number: Number(row.last_credit_note_number),
})
const maybe = (row: RawUserRow | undefined) => row && toUserRow(row)

export async function findUserBySub(db: Database, sub: string): Promise<UserRow | undefined> {
  return maybe(await db.selectFrom('users').selectAll().where('cognito_sub', '=', sub).executeTakeFirst())
}

/** Inserts the user unless a concurrent first request already did; answers the row either way. */
export async function insertUserIfAbsent(db: Database, sub: string, email: string | null): Promise<UserRow> {
  const inserted = await db
    .insertInto('users')
    .values({ cognito_sub: sub, email })
    .onConflict((oc) => oc.column('cognito_sub').doNothing())
    .returningAll()
    .executeTakeFirst()
  if (inserted) return toUserRow(inserted)
  const existing = await findUserBySub(db, sub)
  if (!existing) throw new Error('user vanished between insert and select')
  return existing
}

export async function updateUserEmail(db: Database, id: string, email: string): Promise<void> {
  await db.updateTable('users').set({ email, updated_at: new Date() }).where('id', '=', id).execute()
}

export async function findUserById(db: Database, id: string): Promise<UserRow | undefined> {
  return maybe(await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst())
}

/** FOR NO KEY UPDATE: writes that reference the user (foreign keys) need not wait for a profile change. */
export async function lockUser(trx: Transaction, id: string): Promise<UserRow | undefined> {
  return maybe(
    await trx.selectFrom('users').selectAll().where('id', '=', id).forNoKeyUpdate().executeTakeFirst(),
  )
}

export type UserUpdate = Updateable<UsersTable>

export async function updateUser(db: Database, id: string, values: UserUpdate): Promise<UserRow> {
  const row = await db
    .updateTable('users')
    .set({ ...values, version: sql<number>`version + 1`, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
  return toUserRow(row)
}

/**
 * Records where the series continues when `nextInvoiceNumber` is set past the number after `lastUsed`, and
 * forgets an earlier record for the same place when it is set back to that number.
 */
export async function recordNumberSkip(
  db: Database,
  userId: string,
  series: 'invoice' | 'credit_note',
  lastUsed: number,
  next: number,
) {
  if (next === lastUsed + 1) {
    await db
      .deleteFrom('invoice_number_skips')
      .where('user_id', '=', userId)
      .where('series', '=', series)
      .where('after_seq', '=', String(lastUsed))
      .execute()
    return
  }
  await db
    .insertInto('invoice_number_skips')
    .values({ user_id: userId, series, after_seq: lastUsed, next_seq: next })
    .onConflict((oc) =>
      oc.columns(['user_id', 'series', 'after_seq']).doUpdateSet({ next_seq: next, at: sql`now()` }),
    )
    .execute()
}

export interface TakenNumber {
  seq: number
  prefix: string
  company_name: string | null
  profile_email: string | null
  phone: string | null
  tax_id: string | null
  address: UserRow['address']
  contact_name: string | null
  bank_account: UserRow['bank_account']
  timezone: string
}

/** Moves the series' counter past its next number and answers that number with the profile it belongs to. */
export async function takeNumber(
  trx: Transaction,
  userId: string,
  series: 'invoice' | 'credit_note',
): Promise<TakenNumber | undefined> {
  const columns =
    series === 'invoice'
      ? { next: 'next_invoice_number', last: 'last_invoice_number', prefix: 'invoice_prefix' }
      : { next: 'next_credit_note_number', last: 'last_credit_note_number', prefix: 'credit_note_prefix' }
  const next = sql.ref(columns.next)
  const row = await trx
    .updateTable('users')
    .set({
      [columns.last]: next,
      [columns.next]: sql`${next} + 1`,
      version: sql<number>`version + 1`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', userId)
    .returning([
      sql<string>`${sql.ref(columns.last)}`.as('seq'),
      sql<string>`${sql.ref(columns.prefix)}`.as('prefix'),
      'company_name',
      'profile_email',
      'phone',
      'tax_id',
      'address',
      'contact_name',
      'bank_account',
      'timezone',
    ])
    .executeTakeFirst()
  return row && { ...row, seq: Number(row.seq) }
}
