import { Elysia } from 'elysia'
import type { Database } from '../../lib/db'
import type { AuthPlugin } from '../../plugins/auth'
import { errorAnswers, sends } from '../../shared/schemas'
import { ChangeHeaders } from '../idempotency/model'
import { respond, withIdempotency } from '../idempotency/service'
import { INVOICES_PREFIX } from '../invoices'
import { InvoiceParams, Payment } from '../invoices/model'
import type { Outbox } from '../webhooks/outbox'
import { PaymentCreate } from './model'
import { recordPayment } from './service'

export function paymentsModule(deps: { db: Database; auth: AuthPlugin; outbox: Outbox }) {
  const { db } = deps
  return new Elysia({ name: 'payments', prefix: INVOICES_PREFIX, detail: { tags: ['Invoices'] } })
    .use(deps.auth)
    .post(
      '/:id/payments',
      async ({ user, params, body, headers, set, status }) => {
        const path = `${INVOICES_PREFIX}/${params.id}/payments`
        const request = { userId: user.id, key: headers['idempotency-key'], method: 'POST', path, body }
        const answer = await withIdempotency(db, request, async (trx) => ({
          status: 201,
          body: await recordPayment(trx, deps.outbox, user.id, params.id, body, headers['if-match'] ?? null),
          headers: { location: `${INVOICES_PREFIX}/${params.id}` },
        }))
        return status(201, respond(set, answer))
      },
      {
        params: InvoiceParams,
        body: PaymentCreate,
        parse: 'json',
        headers: ChangeHeaders,
        response: {
          201: sends(Payment, 'Location'),
          ...errorAnswers('NOT_FOUND', 'INVALID_STATUS_TRANSITION', 'PAYMENT_EXCEEDS_BALANCE'),
        },
        detail: {
          operationId: 'recordPayment',
          summary: 'Record a payment',
          description:
            'On a sent or partially paid invoice; `amount` at most `amountDue` (422 `PAYMENT_EXCEEDS_BALANCE`). ' +
            'The invoice becomes `partially_paid`, or `paid` with `paidAt` when nothing is left due. ' +
            '`paidAt` defaults to now and may not lie more than a day ahead. `Location` is the invoice, which ' +
            'lists its payments.',
        },
      },
    )
}
