import { Type } from '@sinclair/typebox'
import { t } from 'elysia'
import '../../shared/formats'
import {
  literals,
  NextCursor,
  Nullable,
  named,
  OptionalNullable,
  PageCursor,
  PageLimit,
  Text,
} from '../../shared/schemas'

/** API.md "Webhooks": every event type and the change that writes it. */
export const EVENT_TYPES = [
  'customer.created',
  'customer.updated',
  'customer.deleted',
  'invoice.created',
  'invoice.updated',
  'invoice.deleted',
  'invoice.sent',
  'invoice.partially_paid',
  'invoice.paid',
  'invoice.voided',
  'invoice.credited',
  'invoice.emailed',
  'invoice.email_failed',
  'invoice.overdue',
  'payment.created',
  'credit_note.created',
] as const
export type EventType = (typeof EVENT_TYPES)[number]

export const MAX_ENDPOINTS = 16
export const DELIVERY_STATUSES = ['pending', 'succeeded', 'retrying', 'failed'] as const

export const Event = named(
  'Event',
  t.Object(
    {
      id: t.String({ format: 'uuid', description: 'Also the `webhook-id` of its deliveries' }),
      type: literals(EVENT_TYPES),
      createdAt: t.String({ format: 'date-time' }),
      data: t.Object(
        {
          object: t.Record(t.String(), t.Unknown(), {
            description:
              'The resource exactly as the API answered it at the change; a deletion adds `"deleted": true`',
          }),
        },
        { additionalProperties: false },
      ),
    },
    { description: 'A change, written in the same transaction as the change itself' },
  ),
)
export type Event = typeof Event.static

export const EventList = named(
  'EventList',
  t.Object({
    data: t.Array(Event),
    nextCursor: NextCursor(),
  }),
)

export const EventListQuery = t.Object(
  {
    type: t.Optional(literals(EVENT_TYPES, { description: 'Only events of this type' })),
    limit: PageLimit,
    cursor: PageCursor,
  },
  { additionalProperties: false },
)
export type EventListQuery = typeof EventListQuery.static

const EventTypes = t.Array(literals([...EVENT_TYPES, '*']), {
  minItems: 1,
  maxItems: EVENT_TYPES.length + 1,
  uniqueItems: true,
  description: 'The event types to deliver, or `["*"]` for all of them',
})

const EndpointUrl = t.String({
  minLength: 1,
  maxLength: 2048,
  format: 'http-url',
  description:
    'An http(s) URL without credentials or fragment; `https://` in production; must not resolve to loopback, ' +
    'private, link-local or metadata addresses',
  examples: ['https://hooks.example.com/invoices'],
})

export const WebhookEndpoint = named(
  'WebhookEndpoint',
  t.Object({
    id: t.String({ format: 'uuid' }),
    url: t.String(),
    events: t.Array(t.String()),
    description: Nullable(t.String()),
    enabled: t.Boolean({ description: 'False once disabled by hand or by a `410 Gone` answer' }),
    createdAt: t.String({ format: 'date-time' }),
  }),
)
export type WebhookEndpoint = typeof WebhookEndpoint.static

export const WebhookEndpointWithSecret = named(
  'WebhookEndpointWithSecret',
  t.Object({
    id: t.String({ format: 'uuid' }),
    url: t.String(),
    events: t.Array(t.String()),
    description: Nullable(t.String()),
    enabled: t.Boolean(),
    createdAt: t.String({ format: 'date-time' }),
    secret: t.String({
      description: '`whsec_` + base64 of 32 random bytes; shown only here and on rotation',
      examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    }),
  }),
)
export type WebhookEndpointWithSecret = typeof WebhookEndpointWithSecret.static

export const WebhookEndpointCreate = named(
  'WebhookEndpointCreate',
  t.Object(
    {
      url: EndpointUrl,
      events: EventTypes,
      description: OptionalNullable(Text(500)),
      enabled: t.Optional(t.Boolean()),
    },
    {
      additionalProperties: false,
      examples: [
        { url: 'https://hooks.example.com/invoices', events: ['invoice.paid', 'credit_note.created'] },
      ],
    },
  ),
)
export type WebhookEndpointCreate = typeof WebhookEndpointCreate.static

export const WebhookEndpointPatch = named(
  'WebhookEndpointPatch',
  t.Object(
    {
      url: t.Optional(EndpointUrl),
      events: t.Optional(EventTypes),
      description: OptionalNullable(Text(500)),
      enabled: t.Optional(t.Boolean({ description: 'True enables an endpoint again, also after a 410' })),
    },
    { additionalProperties: false, minProperties: 1, examples: [{ enabled: false }] },
  ),
)
export type WebhookEndpointPatch = typeof WebhookEndpointPatch.static

export const WebhookEndpointList = named(
  'WebhookEndpointList',
  t.Object({
    data: t.Array(WebhookEndpoint),
    nextCursor: NextCursor(),
  }),
)

export const WebhookEndpointListQuery = t.Object(
  { limit: PageLimit, cursor: PageCursor },
  { additionalProperties: false },
)
export type WebhookEndpointListQuery = typeof WebhookEndpointListQuery.static

export const Delivery = named(
  'WebhookDelivery',
  t.Object({
    id: t.String({ format: 'uuid' }),
    eventId: t.String({ format: 'uuid' }),
    eventType: literals(EVENT_TYPES),
    status: literals(DELIVERY_STATUSES),
    attempts: Type.Integer({ minimum: 0 }),
    lastAttemptAt: Nullable(t.String({ format: 'date-time' })),
    nextAttemptAt: Nullable(t.String({ format: 'date-time' })),
    lastStatusCode: Nullable(Type.Integer()),
    lastError: Nullable(t.String()),
  }),
)
export type Delivery = typeof Delivery.static

export const DeliveryList = named(
  'WebhookDeliveryList',
  t.Object({
    data: t.Array(Delivery),
    nextCursor: NextCursor(),
  }),
)

export const DeliveryListQuery = t.Object(
  { limit: PageLimit, cursor: PageCursor },
  { additionalProperties: false },
)
export type DeliveryListQuery = typeof DeliveryListQuery.static

export const EndpointParams = t.Object({
  id: t.String({ format: 'uuid', description: "The webhook endpoint's id" }),
})
export const DeliveryParams = t.Object({
  id: t.String({ format: 'uuid', description: "The webhook endpoint's id" }),
  deliveryId: t.String({ format: 'uuid', description: "The delivery's id" }),
})

export const DeliveryRetry = named(
  'WebhookDeliveryRetry',
  t.Object({ id: t.String({ format: 'uuid' }), status: literals(DELIVERY_STATUSES) }),
)
