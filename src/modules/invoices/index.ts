import { Elysia, t } from 'elysia'
import type { Database } from '../../lib/db'
import type { AuthPlugin } from '../../plugins/auth'
import { etagFor } from '../../shared/etag'
import { errorAnswers, IfMatchHeaders, sends } from '../../shared/schemas'
import { ChangeHeaders, IdempotencyHeaders } from '../idempotency/model'
import { idempotentCreate, respond, withIdempotency } from '../idempotency/service'
import type { Outbox } from '../webhooks/outbox'
import { EVENT_TYPES, statusesAllowing } from './lifecycle'
import {
  HostedLink,
  Invoice,
  InvoiceCreate,
  InvoiceEvents,
  InvoiceList,
  InvoiceListQuery,
  InvoiceParams,
  InvoicePatch,
} from './model'
import {
  createInvoice,
  deleteInvoice,
  ETAG_KIND,
  getInvoice,
  listInvoiceEvents,
  listInvoices,
  rotateHostedLink,
  updateInvoice,
  voidInvoice,
} from './service'

export const INVOICES_PREFIX = '/api/v1/invoices'

export const invoiceEtag = (invoice: Invoice) => etagFor(ETAG_KIND, invoice.id, invoice.version)

const withEtag = (set: { headers: Record<string, unknown> }, invoice: Invoice) => {
  set.headers['etag'] = invoiceEtag(invoice)
  return invoice
}

export function invoicesModule(deps: { db: Database; auth: AuthPlugin; outbox: Outbox }) {
  const { db } = deps
  return new Elysia({ name: 'invoices', prefix: INVOICES_PREFIX, detail: { tags: ['Invoices'] } })
    .use(deps.auth)
    .get('', ({ user, query }) => listInvoices(db, user.id, query), {
      query: InvoiceListQuery,
      response: { 200: InvoiceList },
      detail: {
        operationId: 'listInvoices',
        summary: 'List invoices',
        description:
          'Filters combine; `q` matches the number or the customer name ignoring case and accents. Pages ' +
          'follow `nextCursor` and are stable under inserts.',
      },
    })
    .post(
      '',
      async ({ user, body, headers, set }) => {
        const request = {
          userId: user.id,
          key: headers['idempotency-key'],
          collection: INVOICES_PREFIX,
          body,
        }
        const answer = await idempotentCreate(db, request, async (trx) => {
          const resource = await createInvoice(trx, deps.outbox, user.id, body)
          return { resource, etag: invoiceEtag(resource) }
        })
        return respond(set, answer)
      },
      {
        body: InvoiceCreate,
        parse: 'json',
        headers: IdempotencyHeaders,
        response: { 201: sends(Invoice, 'ETag', 'Location') },
        detail: {
          operationId: 'createInvoice',
          summary: 'Create a draft invoice',
          description:
            "Currency defaults to the customer's, then the profile's; `issueDate` to today in the profile's " +
            'time zone; `dueDate` to issueDate + paymentTermsDays; each `taxRate` to the profile default. ' +
            'Totals are computed by the server: a request that sends one is refused.',
        },
      },
    )
    .get('/:id', async ({ user, params, set }) => withEtag(set, await getInvoice(db, user.id, params.id)), {
      params: InvoiceParams,
      response: { 200: sends(Invoice, 'ETag'), ...errorAnswers('NOT_FOUND') },
      detail: {
        operationId: 'getInvoice',
        summary: 'One invoice',
        description: 'Carries an `ETag` for `If-Match`.',
      },
    })
    .patch(
      '/:id',
      async ({ user, params, body, headers, set }) =>
        withEtag(
          set,
          await db
            .transaction()
            .execute((trx) =>
              updateInvoice(trx, deps.outbox, user.id, params.id, body, headers['if-match'] ?? null),
            ),
        ),
      {
        params: InvoiceParams,
        body: InvoicePatch,
        parse: 'json',
        headers: IfMatchHeaders,
        response: { 200: sends(Invoice, 'ETag'), ...errorAnswers('NOT_FOUND', 'INVALID_STATUS_TRANSITION') },
        detail: {
          operationId: 'updateInvoice',
          summary: 'Update a draft',
          description:
            '`items` replace all items. Issued invoices are immutable (409 `INVALID_STATUS_TRANSITION`).',
        },
      },
    )
    .delete(
      '/:id',
      async ({ user, params, headers, status }) => {
        await db
          .transaction()
          .execute((trx) => deleteInvoice(trx, deps.outbox, user.id, params.id, headers['if-match'] ?? null))
        return status(204, undefined)
      },
      {
        params: InvoiceParams,
        headers: IfMatchHeaders,
        response: {
          204: t.Void({ description: 'Deleted' }),
          ...errorAnswers('NOT_FOUND', 'INVALID_STATUS_TRANSITION'),
        },
        detail: {
          operationId: 'deleteInvoice',
          summary: 'Delete a draft',
          description: 'Issued invoices are voided, not deleted (409).',
        },
      },
    )
    .post(
      '/:id/hosted-link/rotate',
      async ({ user, params, headers, set }) => {
        const path = `${INVOICES_PREFIX}/${params.id}/hosted-link/rotate`
        const request = { userId: user.id, key: headers['idempotency-key'], method: 'POST', path, body: null }
        const answer = await withIdempotency(db, request, async (trx) => ({
          status: 200,
          body: await rotateHostedLink(trx, user.id, params.id),
        }))
        return respond(set, answer)
      },
      {
        params: InvoiceParams,
        headers: IdempotencyHeaders,
        response: { 200: HostedLink, ...errorAnswers('NOT_FOUND', 'INVALID_STATUS_TRANSITION') },
        detail: {
          operationId: 'rotateInvoiceHostedLink',
          summary: 'Replace the hosted page link',
          description:
            'A new `hostedUrl` for an issued invoice; the old link stops working at once. Drafts have no ' +
            'hosted page (409).',
        },
      },
    )
    .post(
      '/:id/void',
      async ({ user, params, headers, set }) => {
        const path = `${INVOICES_PREFIX}/${params.id}/void`
        const request = { userId: user.id, key: headers['idempotency-key'], method: 'POST', path, body: null }
        const answer = await withIdempotency(db, request, async (trx) => {
          const voided = await voidInvoice(trx, deps.outbox, user.id, params.id, headers['if-match'] ?? null)
          return { status: 200, body: voided, headers: { etag: invoiceEtag(voided) } }
        })
        return respond(set, answer)
      },
      {
        params: InvoiceParams,
        headers: ChangeHeaders,
        response: { 200: sends(Invoice, 'ETag'), ...errorAnswers('NOT_FOUND', 'INVALID_STATUS_TRANSITION') },
        detail: {
          operationId: 'voidInvoice',
          summary: 'Void a sent invoice',
          description:
            `Only a ${statusesAllowing('void')
              .map((status) => `\`${status}\``)
              .join(', ')} invoice that has ` +
            'no payments and no credit notes; drafts are deleted instead, and paid or credited invoices are ' +
            'corrected by a credit note.',
        },
      },
    )
    .get('/:id/events', ({ user, params }) => listInvoiceEvents(db, user.id, params.id), {
      params: InvoiceParams,
      response: { 200: InvoiceEvents, ...errorAnswers('NOT_FOUND') },
      detail: {
        operationId: 'listInvoiceEvents',
        summary: "The invoice's audit trail, oldest first",
        description:
          `Every change of the invoice as an event (${EVENT_TYPES.map((type) => `\`${type}\``).join(', ')}) ` +
          'with who made it and when, written in the same transaction as the change.',
      },
    })
}
