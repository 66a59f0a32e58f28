import { Elysia, t } from 'elysia'
import type { Database } from '../../lib/db'
import type { AuthPlugin } from '../../plugins/auth'
import { etagFor } from '../../shared/etag'
import { errorAnswers, IfMatchHeaders, sends } from '../../shared/schemas'
import { ChangeHeaders, IdempotencyHeaders } from '../idempotency/model'
import { idempotentCreate, respond, withIdempotency } from '../idempotency/service'
import {
  DeliveryList,
  DeliveryListQuery,
  DeliveryParams,
  DeliveryRetry,
  EndpointParams,
  EVENT_TYPES,
  EventList,
  EventListQuery,
  MAX_ENDPOINTS,
  WebhookEndpoint,
  WebhookEndpointCreate,
  WebhookEndpointList,
  WebhookEndpointListQuery,
  WebhookEndpointPatch,
  WebhookEndpointWithSecret,
} from './model'
import {
  createEndpoint,
  deleteEndpoint,
  ETAG_KIND,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  listEvents,
  retryDelivery,
  rotateSecret,
  updateEndpointSettings,
  type WebhookDeps,
} from './service'

const ENDPOINTS = '/api/v1/webhook-endpoints'

/** The answer without its version, with the version as the ETag. */
function withEtag<T extends { id: string; version: number }>(
  set: { headers: Record<string, unknown> },
  { version, ...endpoint }: T,
) {
  set.headers['etag'] = etagFor(ETAG_KIND, endpoint.id, version)
  return endpoint
}

export function webhooksModule(deps: { db: Database; auth: AuthPlugin; webhooks: WebhookDeps }) {
  const { db } = deps
  return new Elysia({ name: 'webhooks', prefix: '/api/v1', detail: { tags: ['Webhooks'] } })
    .use(deps.auth)
    .get('/events', ({ user, query }) => listEvents(db, user.id, query), {
      query: EventListQuery,
      response: { 200: EventList },
      detail: {
        operationId: 'listEvents',
        summary: 'The event log',
        description:
          'Every change of the last 30 days, newest first, each with the resource as the API answered it then. ' +
          `Types: ${EVENT_TYPES.map((type) => `\`${type}\``).join(', ')}. Events are written in the transaction ` +
          'of their change: there is none for a change that rolled back.',
      },
    })
    .get('/webhook-endpoints', ({ user, query }) => listEndpoints(db, user.id, query), {
      query: WebhookEndpointListQuery,
      response: { 200: WebhookEndpointList },
      detail: {
        operationId: 'listWebhookEndpoints',
        summary: 'List webhook endpoints',
        description: 'Newest first.',
      },
    })
    .post(
      '/webhook-endpoints',
      async ({ user, body, headers, set, status }) => {
        const request = { userId: user.id, key: headers['idempotency-key'], collection: ENDPOINTS, body }
        const answer = await idempotentCreate(db, request, async (trx) => {
          const { version, ...resource } = await createEndpoint(trx, deps.webhooks, user.id, body)
          return { resource, etag: etagFor(ETAG_KIND, resource.id, version) }
        })
        return status(201, respond(set, answer))
      },
      {
        body: WebhookEndpointCreate,
        parse: 'json',
        headers: IdempotencyHeaders,
        response: {
          201: sends(WebhookEndpointWithSecret, 'ETag', 'Location'),
          ...errorAnswers('LIMIT_EXCEEDED'),
        },
        detail: {
          operationId: 'createWebhookEndpoint',
          summary: 'Create a webhook endpoint',
          description:
            `At most ${MAX_ENDPOINTS} per user (422 \`LIMIT_EXCEEDED\`). The answer carries the signing ` +
            '`secret`, shown only here and on rotation. Deliveries follow the Standard Webhooks specification: ' +
            '`webhook-id` (the event id), `webhook-timestamp`, `webhook-signature` (`v1,<base64 HMAC-SHA256 of ' +
            '"{id}.{timestamp}.{body}">`). A 2xx within 10 s is success; redirects are not followed; failures ' +
            'are retried with jitter (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) and then marked `failed`; ' +
            '`410 Gone` disables the endpoint. The URL must not resolve to loopback, private, link-local or ' +
            'metadata addresses, checked here and at every delivery.',
        },
      },
    )
    .get(
      '/webhook-endpoints/:id',
      async ({ user, params, set }) => withEtag(set, await getEndpoint(db, user.id, params.id)),
      {
        params: EndpointParams,
        response: { 200: sends(WebhookEndpoint, 'ETag'), ...errorAnswers('NOT_FOUND') },
        detail: {
          operationId: 'getWebhookEndpoint',
          summary: 'One webhook endpoint',
          description: 'Without its secret.',
        },
      },
    )
    .patch(
      '/webhook-endpoints/:id',
      async ({ user, params, body, headers, set }) =>
        withEtag(
          set,
          await db
            .transaction()
            .execute((trx) =>
              updateEndpointSettings(
                trx,
                deps.webhooks,
                user.id,
                params.id,
                body,
                headers['if-match'] ?? null,
              ),
            ),
        ),
      {
        params: EndpointParams,
        body: WebhookEndpointPatch,
        parse: 'json',
        headers: IfMatchHeaders,
        response: { 200: sends(WebhookEndpoint, 'ETag'), ...errorAnswers('NOT_FOUND') },
        detail: {
          operationId: 'updateWebhookEndpoint',
          summary: 'Change a webhook endpoint',
          description:
            '`url`, `events`, `description`, `enabled`; enabling again also clears a 410 disablement.',
        },
      },
    )
    .delete(
      '/webhook-endpoints/:id',
      async ({ user, params, headers, status }) => {
        await db
          .transaction()
          .execute((trx) => deleteEndpoint(trx, user.id, params.id, headers['if-match'] ?? null))
        return status(204, undefined)
      },
      {
        params: EndpointParams,
        headers: IfMatchHeaders,
        response: {
          204: t.Void({ description: 'Deleted, with its deliveries' }),
          ...errorAnswers('NOT_FOUND'),
        },
        detail: {
          operationId: 'deleteWebhookEndpoint',
          summary: 'Delete a webhook endpoint',
          description: 'Its deliveries go with it.',
        },
      },
    )
    .post(
      '/webhook-endpoints/:id/rotate-secret',
      async ({ user, params, headers, set }) => {
        const path = `${ENDPOINTS}/${params.id}/rotate-secret`
        const request = { userId: user.id, key: headers['idempotency-key'], method: 'POST', path, body: null }
        const answer = await withIdempotency(db, request, async (trx) => {
          const { version, ...rotated } = await rotateSecret(
            trx,
            user.id,
            params.id,
            headers['if-match'] ?? null,
          )
          return { status: 200, body: rotated, headers: { etag: etagFor(ETAG_KIND, rotated.id, version) } }
        })
        return respond(set, answer)
      },
      {
        params: EndpointParams,
        headers: ChangeHeaders,
        response: { 200: sends(WebhookEndpointWithSecret, 'ETag'), ...errorAnswers('NOT_FOUND') },
        detail: {
          operationId: 'rotateWebhookSecret',
          summary: 'Rotate the signing secret',
          description:
            'Answers the new secret. For 24 h deliveries carry two signatures, one per secret, space-separated, ' +
            'so a receiver can switch to the new secret without losing events.',
        },
      },
    )
    .get(
      '/webhook-endpoints/:id/deliveries',
      ({ user, params, query }) => listDeliveries(db, user.id, params.id, query),
      {
        params: EndpointParams,
        query: DeliveryListQuery,
        response: { 200: DeliveryList, ...errorAnswers('NOT_FOUND') },
        detail: {
          operationId: 'listWebhookDeliveries',
          summary: "An endpoint's deliveries",
          description: 'Newest first, one per event, with its attempts, last status code and error.',
        },
      },
    )
    .post(
      '/webhook-endpoints/:id/deliveries/:deliveryId/retry',
      async ({ user, params, headers, set }) => {
        const path = `${ENDPOINTS}/${params.id}/deliveries/${params.deliveryId}/retry`
        const request = { userId: user.id, key: headers['idempotency-key'], method: 'POST', path, body: null }
        const answer = await withIdempotency(db, request, async (trx) => ({
          status: 202,
          body: await retryDelivery(trx, deps.webhooks, user.id, params.id, params.deliveryId),
        }))
        return respond(set, answer)
      },
      {
        params: DeliveryParams,
        headers: IdempotencyHeaders,
        response: { 202: DeliveryRetry, ...errorAnswers('NOT_FOUND') },
        detail: {
          operationId: 'retryWebhookDelivery',
          summary: 'Deliver an event again now',
          description: 'Queues one more attempt at once, whatever the delivery’s status.',
        },
      },
    )
}
