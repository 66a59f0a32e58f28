import type { Transaction } from '../../lib/db'
import { parseTimestamp } from '../../shared/dates'
import { AppError } from '../../shared/errors'
import type { Payment } from '../invoices/model'
import { announceStatus, toPayment } from '../invoices/service'
import { applyPayment, lockForChange } from '../invoices/writes'
import type { Outbox } from '../webhooks/outbox'
import type { PaymentCreate } from './model'
import { insertPayment } from './repository'

const FUTURE_TOLERANCE_MS = 24 * 3600 * 1000

const invalidPaidAt = (message: string) =>
  new AppError('VALIDATION_ERROR', 'Request validation failed', { details: [{ path: '/paidAt', message }] })

/**
 * Records a payment under the invoice's row lock, so concurrent payments (and credit notes) are applied one
 * after the other and can never together exceed the amount due. The invoice module books it first; the
 * payment row comes after, in the order of report-total updates every writer follows.
 */
export async function recordPayment(
  trx: Transaction,
  outbox: Outbox,
  userId: string,
  invoiceId: string,
  input: PaymentCreate,
  ifMatch: string | null,
): Promise<Payment> {
  const reference = input.reference?.trim() || null
  // The schema's date-time format already refused anything but strict RFC 3339.
  const paidAt = input.paidAt ? parseTimestamp(input.paidAt) : new Date()
  if (!paidAt) throw invalidPaidAt('must be an RFC 3339 timestamp with Z or an offset, years 1970–9999')
  if (paidAt.getTime() > Date.now() + FUTURE_TOLERANCE_MS) throw invalidPaidAt('must not be in the future')

  const invoice = await lockForChange(trx, userId, invoiceId, ifMatch)
  const id = crypto.randomUUID()
  const status = await applyPayment(trx, invoice, { id, amount: input.amount, paidAt, actorId: userId })
  const payment = await insertPayment(trx, {
    id,
    invoice_id: invoiceId,
    user_id: userId,
    amount: input.amount,
    currency: invoice.currency,
    paid_at: paidAt,
    method: input.method ?? 'other',
    reference,
  })
  const answer = toPayment(payment)
  await outbox.record(trx, userId, 'payment.created', answer)
  if (status !== invoice.status) await announceStatus(trx, outbox, userId, invoiceId, [status])
  return answer
}
