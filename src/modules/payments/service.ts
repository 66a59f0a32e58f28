import type { Database } from '../../lib/db'
import { parseTimestamp } from '../../shared/dates'
import { AppError } from '../../shared/errors'
import { parseMinorUnits } from '../../shared/money'
import { toPayment } from '../invoices/mapper'
import type { Payment, PaymentCreate } from '../invoices/model'
import { lockForChange, settlePayment } from '../invoices/service'
import { insertPayment } from './repository'

const FUTURE_TOLERANCE_MS = 24 * 3600 * 1000

/**
 * Records a payment under the invoice's row lock, so concurrent payments are applied one after the other and
 * can never together exceed the amount due.
 */
export async function recordPayment(
  trx: Database,
  userId: string,
  invoiceId: string,
  input: PaymentCreate,
  ifMatch: string | null,
): Promise<Payment> {
  const reference = input.reference?.trim() || null
  // The schema's date-time format already refused anything but strict RFC 3339.
  const paidAt = input.paidAt ? parseTimestamp(input.paidAt) : new Date()
  if (!paidAt) {
    throw new AppError('VALIDATION_ERROR', 'Request validation failed', {
      details: [
        { path: '/paidAt', message: 'must be an RFC 3339 timestamp with Z or an offset, years 1970–9999' },
      ],
    })
  }
  if (paidAt.getTime() > Date.now() + FUTURE_TOLERANCE_MS) {
    throw new AppError('VALIDATION_ERROR', 'Request validation failed', {
      details: [{ path: '/paidAt', message: 'must not be in the future' }],
    })
  }
  const invoice = await lockForChange(trx, userId, invoiceId, ifMatch)
  if (invoice.status !== 'sent' && invoice.status !== 'partially_paid') {
    throw new AppError(
      'INVALID_STATUS_TRANSITION',
      `A ${invoice.status.replace('_', ' ')} invoice cannot take payments`,
    )
  }
  const amountDue = parseMinorUnits(invoice.total) - parseMinorUnits(invoice.amount_paid)
  if (input.amount > amountDue) {
    throw new AppError('PAYMENT_EXCEEDS_BALANCE', `The payment exceeds the amount due (${amountDue})`, {
      details: [{ path: '/amount', message: `must be at most ${amountDue}` }],
    })
  }
  // The invoice is settled before the payment row is written: the same order of report-total updates as every
  // other writer (db/migrations/20261126210000_report_rollups.ts), so concurrent writers cannot deadlock.
  const id = crypto.randomUUID()
  await settlePayment(trx, userId, invoice, { id, amount: input.amount, paidAt })
  const row = await insertPayment(trx, {
    id,
    invoice_id: invoiceId,
    user_id: userId,
    amount: input.amount,
    currency: invoice.currency,
    paid_at: paidAt,
    method: input.method ?? 'other',
    reference,
  })
  return toPayment(row)
}
