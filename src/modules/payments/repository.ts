import type { Insertable } from 'kysely'
import type { PaymentsTable } from '../../../db/schema'
import type { Transaction } from '../../lib/db'
import { parseMinorUnits } from '../../shared/money'
import type { PaymentRecord } from '../invoices/service'

export async function insertPayment(
  trx: Transaction,
  values: Insertable<PaymentsTable>,
): Promise<PaymentRecord> {
  const row = await trx.insertInto('payments').values(values).returningAll().executeTakeFirstOrThrow()
  return {
    id: row.id,
    invoiceId: row.invoice_id,
    amount: parseMinorUnits(row.amount),
    paidAt: row.paid_at,
    method: row.method,
    reference: row.reference,
    createdAt: row.created_at,
  }
}
