import { Elysia, t } from 'elysia'
import type { Database } from '../../lib/db'
import type { AuthPlugin } from '../../plugins/auth'
import { etagFor } from '../../shared/etag'
import { errorAnswers, IfMatchHeaders, sends } from '../../shared/schemas'
import { IdempotencyHeaders } from '../idempotency/model'
import { idempotentCreate, respond } from '../idempotency/service'
import type { Outbox } from '../webhooks/outbox'
import {
  Customer,
  CustomerCreate,
  CustomerList,
  CustomerListQuery,
  CustomerParams,
  CustomerPatch,
} from './model'
import {
  createCustomer,
  deleteCustomer,
  ETAG_KIND,
  getCustomer,
  listCustomers,
  type RenameHook,
  updateCustomer,
  type VersionedCustomer,
} from './service'

const PREFIX = '/api/v1/customers'

export interface CustomersModuleDeps {
  db: Database
  auth: AuthPlugin
  /** Where its changes are announced (events and webhooks). */
  outbox: Outbox
  /** What else follows a customer's new name (the search text of its draft invoices), given by the app. */
  onRenamed: RenameHook
}

export function customersModule(deps: CustomersModuleDeps) {
  const withEtag = (
    set: { headers: Record<string, unknown> },
    { version, ...customer }: VersionedCustomer,
  ) => {
    set.headers['etag'] = etagFor(ETAG_KIND, customer.id, version)
    return customer
  }

  return new Elysia({ name: 'customers', prefix: PREFIX, detail: { tags: ['Customers'] } })
    .use(deps.auth)
    .get('', ({ user, query }) => listCustomers(deps.db, user.id, query), {
      query: CustomerListQuery,
      response: { 200: CustomerList },
      detail: {
        operationId: 'listCustomers',
        summary: 'List customers',
        description:
          'Newest first. Pages follow `nextCursor`; customers created meanwhile never shift later pages. ' +
          '`q` matches name or email, ignoring case and accents ("zoe" finds "Zoë").',
      },
    })
    .post(
      '',
      async ({ user, body, headers, set, status }) => {
        const request = { userId: user.id, key: headers['idempotency-key'], collection: PREFIX, body }
        const answer = await idempotentCreate(deps.db, request, async (trx) => {
          const { version, ...resource } = await createCustomer(trx, deps.outbox, user.id, body)
          return { resource, etag: etagFor(ETAG_KIND, resource.id, version) }
        })
        return status(201, respond(set, answer))
      },
      {
        body: CustomerCreate,
        parse: 'json',
        headers: IdempotencyHeaders,
        response: { 201: sends(Customer, 'ETag', 'Location') },
        detail: {
          operationId: 'createCustomer',
          summary: 'Create a customer',
          description: 'Answers the customer with `Location` and `ETag`.',
        },
      },
    )
    .get(
      '/:id',
      async ({ user, params, set }) => withEtag(set, await getCustomer(deps.db, user.id, params.id)),
      {
        params: CustomerParams,
        response: { 200: sends(Customer, 'ETag'), ...errorAnswers('NOT_FOUND') },
        detail: {
          operationId: 'getCustomer',
          summary: 'One customer',
          description: 'Carries an `ETag` for `If-Match` on update and delete.',
        },
      },
    )
    .patch(
      '/:id',
      async ({ user, params, body, headers, set }) =>
        withEtag(
          set,
          await deps.db
            .transaction()
            .execute((trx) =>
              updateCustomer(
                trx,
                deps.outbox,
                user.id,
                params.id,
                body,
                headers['if-match'] ?? null,
                deps.onRenamed,
              ),
            ),
        ),
      {
        params: CustomerParams,
        body: CustomerPatch,
        parse: 'json',
        headers: IfMatchHeaders,
        response: { 200: sends(Customer, 'ETag'), ...errorAnswers('NOT_FOUND') },
        detail: {
          operationId: 'updateCustomer',
          summary: 'Update a customer',
          description: 'Send `If-Match` with the ETag to guard against lost updates (412 when it is stale).',
        },
      },
    )
    .delete(
      '/:id',
      async ({ user, params, headers, status }) => {
        await deps.db
          .transaction()
          .execute((trx) => deleteCustomer(trx, deps.outbox, user.id, params.id, headers['if-match'] ?? null))
        return status(204, undefined)
      },
      {
        params: CustomerParams,
        headers: IfMatchHeaders,
        response: {
          204: t.Void({ description: 'Deleted' }),
          ...errorAnswers('NOT_FOUND', 'CUSTOMER_HAS_INVOICES'),
        },
        detail: {
          operationId: 'deleteCustomer',
          summary: 'Delete a customer',
          description: 'A customer with invoices cannot be deleted (409 `CUSTOMER_HAS_INVOICES`).',
        },
      },
    )
}
