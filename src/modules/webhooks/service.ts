import { randomBytes } from 'node:crypto'
import type { Database, Transaction } from '../../lib/db'
import type { JobQueue } from '../../lib/jobs'
import { AppError, notFound } from '../../shared/errors'
import { expectedVersion } from '../../shared/etag'
import { decodeCursor, keys, type Page, pageSize, toPage } from '../../shared/pagination'
import type {
  Delivery,
  DeliveryListQuery,
  Event,
  EventListQuery,
  WebhookEndpoint,
  WebhookEndpointCreate,
  WebhookEndpointListQuery,
  WebhookEndpointPatch,
  WebhookEndpointWithSecret,
} from './model'
import { MAX_ENDPOINTS } from './model'
import { DELIVER_JOB, type DeliverJob } from './outbox'
import {
  countEndpoints,
  type DeliveryView,
  deleteEndpoint as deleteRow,
  type EndpointRow,
  type EventRecord,
  findDelivery,
  findEndpoint,
  insertEndpoint,
  listDeliveries as listDeliveryRows,
  listEndpoints as listEndpointRows,
  listEvents as listEventRows,
  lockEndpointRow,
  updateDelivery,
  updateEndpoint,
} from './repository'
import { resolveSafely, UnsafeUrlError } from './ssrf'

export const ETAG_KIND = 'webhook-endpoint'
/** API.md: the event log covers 30 days. */
export const EVENT_RETENTION_DAYS = 30
/** A rotated secret keeps signing beside the new one this long. */
const PREVIOUS_SECRET_HOURS = 24

export interface WebhookDeps {
  jobs: Pick<JobQueue, 'send'>
  isProduction: boolean
  allowPrivateNetworks: boolean
}

export const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`

export function toEndpoint(row: EndpointRow): WebhookEndpoint & { version: number } {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    description: row.description,
    enabled: row.enabled,
    createdAt: row.created_at.toISOString(),
    version: row.version,
  }
}

export function toEvent(record: EventRecord): Event {
  return {
    id: record.id,
    type: record.type,
    createdAt: record.createdAt.toISOString(),
    data: { object: record.object },
  }
}

const iso = (value: Date | null) => (value === null ? null : value.toISOString())

function toDelivery(row: DeliveryView): Delivery {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    attempts: row.attempts,
    lastAttemptAt: iso(row.last_attempt_at),
    nextAttemptAt: iso(row.next_attempt_at),
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
  }
}

/** The URL checked now as it will be at every delivery: https in production, no private destinations. */
async function checkUrl(deps: WebhookDeps, value: string): Promise<string> {
  try {
    await resolveSafely(new URL(value), {
      allowPrivate: deps.allowPrivateNetworks,
      requireHttps: deps.isProduction,
    })
  } catch (error) {
    const message = error instanceof UnsafeUrlError ? error.message : 'is not a URL'
    throw new AppError('VALIDATION_ERROR', 'Request validation failed', {
      details: [{ path: '/url', message }],
    })
  }
  return value
}

/** `["*"]` stands alone: listed with other types it would hide a typo in them. */
function eventsOf(events: readonly string[]): string[] {
  if (events.includes('*') && events.length > 1) {
    throw new AppError('VALIDATION_ERROR', 'Request validation failed', {
      details: [{ path: '/events', message: '"*" cannot be combined with other event types' }],
    })
  }
  return [...events]
}

export async function createEndpoint(
  trx: Transaction,
  deps: WebhookDeps,
  userId: string,
  body: WebhookEndpointCreate,
): Promise<WebhookEndpointWithSecret & { version: number }> {
  const events = eventsOf(body.events)
  const url = await checkUrl(deps, body.url)
  if ((await countEndpoints(trx, userId)) >= MAX_ENDPOINTS) {
    throw new AppError('LIMIT_EXCEEDED', `At most ${MAX_ENDPOINTS} webhook endpoints per user`)
  }
  const row = await insertEndpoint(trx, {
    user_id: userId,
    url,
    events,
    description: body.description?.trim() || null,
    enabled: body.enabled ?? true,
    secret: newSecret(),
  })
  return { ...toEndpoint(row), secret: row.secret }
}

const ENDPOINT_SORT = 'webhook-endpoints:-createdAt'

export async function listEndpoints(
  db: Database,
  userId: string,
  query: WebhookEndpointListQuery,
): Promise<Page<WebhookEndpoint>> {
  const limit = pageSize(query.limit)
  const after =
    query.cursor === undefined
      ? undefined
      : decodeCursor(query.cursor, ENDPOINT_SORT, [keys.timestamp, keys.uuid])
  const rows = await listEndpointRows(db, userId, { take: limit + 1, after })
  return toPage(
    rows,
    limit,
    ENDPOINT_SORT,
    (row) => [row.created_at_key, row.id],
    (row) => toPublic(toEndpoint(row)),
  )
}

const toPublic = ({ version: _, ...endpoint }: WebhookEndpoint & { version: number }): WebhookEndpoint =>
  endpoint

export async function getEndpoint(db: Database, userId: string, id: string) {
  const row = await findEndpoint(db, userId, id)
  if (!row) throw notFound('Webhook endpoint')
  return toEndpoint(row)
}

async function lockEndpoint(trx: Transaction, userId: string, id: string, ifMatch: string | null) {
  const row = await lockEndpointRow(trx, userId, id)
  if (!row) throw notFound('Webhook endpoint')
  expectedVersion(ifMatch, ETAG_KIND, row.id, row.version)
  return row
}

export async function updateEndpointSettings(
  trx: Transaction,
  deps: WebhookDeps,
  userId: string,
  id: string,
  patch: WebhookEndpointPatch,
  ifMatch: string | null,
) {
  await lockEndpoint(trx, userId, id, ifMatch)
  const row = await updateEndpoint(trx, userId, id, {
    ...(patch.url !== undefined ? { url: await checkUrl(deps, patch.url) } : {}),
    ...(patch.events !== undefined ? { events: eventsOf(patch.events) } : {}),
    ...(patch.description !== undefined ? { description: patch.description?.trim() || null } : {}),
    ...(patch.enabled !== undefined ? { enabled: patch.enabled, disabled_reason: null } : {}),
  })
  return toEndpoint(row)
}

export async function deleteEndpoint(trx: Transaction, userId: string, id: string, ifMatch: string | null) {
  await lockEndpoint(trx, userId, id, ifMatch)
  await deleteRow(trx, userId, id)
}

/** A new secret; the old one keeps signing beside it for 24 h, so receivers can switch without losing events. */
export async function rotateSecret(trx: Transaction, userId: string, id: string, ifMatch: string | null) {
  const row = await lockEndpoint(trx, userId, id, ifMatch)
  const updated = await updateEndpoint(trx, userId, id, {
    secret: newSecret(),
    previous_secret: row.secret,
    previous_secret_expires_at: new Date(Date.now() + PREVIOUS_SECRET_HOURS * 3_600_000),
  })
  return { ...toEndpoint(updated), secret: updated.secret }
}

const DELIVERY_SORT = 'webhook-deliveries:-createdAt'

export async function listDeliveries(
  db: Database,
  userId: string,
  endpointId: string,
  query: DeliveryListQuery,
): Promise<Page<Delivery>> {
  if (!(await findEndpoint(db, userId, endpointId))) throw notFound('Webhook endpoint')
  const limit = pageSize(query.limit)
  const after =
    query.cursor === undefined
      ? undefined
      : decodeCursor(query.cursor, DELIVERY_SORT, [keys.timestamp, keys.uuid])
  const rows = await listDeliveryRows(db, userId, endpointId, { take: limit + 1, after })
  return toPage(rows, limit, DELIVERY_SORT, (row) => [row.created_at_key, row.id], toDelivery)
}

/**
 * Delivers the event again now: the delivery waits for one more attempt, queued at once. Its `attempts` keep
 * counting, so a manual retry racing a scheduled one makes one attempt, not two.
 */
export async function retryDelivery(
  trx: Transaction,
  deps: WebhookDeps,
  userId: string,
  endpointId: string,
  deliveryId: string,
) {
  const delivery = await findDelivery(trx, userId, endpointId, deliveryId)
  if (!delivery) throw notFound('Delivery')
  await updateDelivery(trx, userId, deliveryId, { status: 'pending', next_attempt_at: new Date() })
  await deps.jobs.send(trx, DELIVER_JOB, {
    userId,
    deliveryId,
    attempt: delivery.attempts,
  } satisfies DeliverJob)
  return { id: deliveryId, status: 'pending' as const }
}

const EVENT_SORT = 'events:-seq'

export async function listEvents(db: Database, userId: string, query: EventListQuery): Promise<Page<Event>> {
  const limit = pageSize(query.limit)
  const after =
    query.cursor === undefined ? undefined : decodeCursor(query.cursor, EVENT_SORT, [keys.integer])
  const rows = await listEventRows(db, userId, {
    take: limit + 1,
    type: query.type,
    beforeSeq: after?.[0],
    since: new Date(Date.now() - EVENT_RETENTION_DAYS * 86_400_000),
  })
  return toPage(rows, limit, EVENT_SORT, (row) => [row.seq], toEvent)
}
