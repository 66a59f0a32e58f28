import type { Insertable, Selectable } from 'kysely'
import type { PaymentsTable } from '../../../db/schema'
import type { Database } from '../../lib/db'

export type PaymentRow = Selectable<PaymentsTable>

export async function insertPayment(db: Database, values: Insertable<PaymentsTable>): Promise<PaymentRow> {
  return db.insertInto('payments').values(values).returningAll().executeTakeFirstOrThrow()
}
