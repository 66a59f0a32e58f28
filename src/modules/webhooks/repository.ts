import { type Selectable, sql, type Updateable } from 'kysely'
import type { DeliveryStatus, WebhookDeliveriesTable, WebhookEndpointsTable } from '../../../db/schema'
import type { Database, Transaction } from '../../lib/db'
import { parseMinorUnits } from '../../shared/money'
import type { EventType } from './model'

export interface EventRecord {
  seq: number
  id: string
  userId: string
  type: EventType
  createdAt: Date
  object: Record<string, unknown>
}

export type EndpointRow = Selectable<WebhookEndpointsTable>
export type DeliveryRow = Selectable<WebhookDeliveriesTable>

const toEvent = (row: {
  seq: string
  id: string
  user_id: string
  type: string
  created_at: Date
  data: { object: unknown }
}): EventRecord => ({
  seq: parseMinorUnits(row.seq),
  id: row.id,
  userId: row.user_id,
  type: row.type as EventType,
  createdAt: row.created_at,
  object: row.data.object as Record<string, unknown>,
})

/**
 * The event and, in the same statement, a delivery for every enabled endpoint of the user that listens to its
 * type: one round trip in the change's transaction. Answers the new deliveries' ids, to queue their jobs.
 */
export async function insertEventWithDeliveries(
  trx: Transaction,
  userId: string,
  type: EventType,
  object: unknown,
): Promise<{ eventId: string; deliveryIds: string[] }> {
  const { rows } = await sql<{ event_id: string; delivery_id: string | null }>`
    with event as (
      insert into events (user_id, type, data) values (${userId}, ${type}, ${{ object } as unknown as string}::jsonb)
      returning id
    ), deliveries as (
      insert into webhook_deliveries (user_id, endpoint_id, event_id, next_attempt_at)
      select ${userId}, e.id, (select id from event), now()
        from webhook_endpoints e
       where e.user_id = ${userId} and e.enabled and (${type} = any(e.events) or '*' = any(e.events))
      returning id
    )
    select (select id from event) as event_id, d.id as delivery_id
      from (select 1) one left join deliveries d on true`.execute(trx)
  return {
    eventId: rows[0]!.event_id,
    deliveryIds: rows.flatMap((row) => (row.delivery_id ? [row.delivery_id] : [])),
  }
}

export async function listEvents(
  db: Database,
  userId: string,
  options: { take: number; type: EventType | undefined; beforeSeq: number | undefined; since: Date },
): Promise<EventRecord[]> {
  const rows = await db
    .selectFrom('events')
    .selectAll()
    .where('user_id', '=', userId)
    .where('created_at', '>=', options.since)
    .$if(options.type !== undefined, (qb) => qb.where('type', '=', options.type!))
    .$if(options.beforeSeq !== undefined, (qb) => qb.where('seq', '<', String(options.beforeSeq!)))
    .orderBy('seq', 'desc')
    .limit(options.take)
    .execute()
  return rows.map(toEvent)
}

export async function findEvent(db: Database, userId: string, id: string): Promise<EventRecord | undefined> {
  const row = await db
    .selectFrom('events')
    .selectAll()
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .executeTakeFirst()
  return row && toEvent(row)
}

// ------------------------------------------------------------------------------------------------------------
// Endpoints

export async function countEndpoints(trx: Transaction, userId: string): Promise<number> {
  // Serialises the creations of one user, so that two at once cannot both be the sixteenth.
  await sql`select pg_advisory_xact_lock(hashtextextended('webhook-endpoints:' || ${userId}, 0))`.execute(trx)
  const row = await trx
    .selectFrom('webhook_endpoints')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

export async function insertEndpoint(
  trx: Transaction,
  values: {
    user_id: string
    url: string
    events: string[]
    description: string | null
    enabled: boolean
    secret: string
  },
): Promise<EndpointRow> {
  return trx.insertInto('webhook_endpoints').values(values).returningAll().executeTakeFirstOrThrow()
}

export async function listEndpoints(
  db: Database,
  userId: string,
  options: { take: number; after: readonly [createdAt: string, id: string] | undefined },
): Promise<(EndpointRow & { created_at_key: string })[]> {
  const after = options.after
  return db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .select(
      sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
        'created_at_key',
      ),
    )
    .where('user_id', '=', userId)
    .$if(after !== undefined, (qb) =>
      qb.where(
        sql<boolean>`(created_at, id) < (cast(${after![0]} as timestamptz), cast(${after![1]} as uuid))`,
      ),
    )
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(options.take)
    .execute()
}

export async function findEndpoint(
  db: Database,
  userId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<EndpointRow | undefined> {
  const query = db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('user_id', '=', userId)
    .where('id', '=', id)
  return (options.lock ? query.forUpdate() : query).executeTakeFirst()
}

export async function updateEndpoint(
  db: Database,
  userId: string,
  id: string,
  values: Updateable<WebhookEndpointsTable>,
): Promise<EndpointRow> {
  return db
    .updateTable('webhook_endpoints')
    .set({ version: sql<number>`version + 1`, updated_at: sql<Date>`now()`, ...values })
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function deleteEndpoint(trx: Transaction, userId: string, id: string): Promise<boolean> {
  const result = await trx
    .deleteFrom('webhook_endpoints')
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .executeTakeFirst()
  return result.numDeletedRows > 0n
}

// ------------------------------------------------------------------------------------------------------------
// Deliveries

export interface DeliveryView extends DeliveryRow {
  event_type: EventType
}

export async function listDeliveries(
  db: Database,
  userId: string,
  endpointId: string,
  options: { take: number; after: readonly [createdAt: string, id: string] | undefined },
): Promise<(DeliveryView & { created_at_key: string })[]> {
  const after = options.after
  const rows = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('events as e', 'e.id', 'd.event_id')
    .selectAll('d')
    .select('e.type as event_type')
    .select(
      sql<string>`to_char(d.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
        'created_at_key',
      ),
    )
    .where('d.user_id', '=', userId)
    .where('d.endpoint_id', '=', endpointId)
    .$if(after !== undefined, (qb) =>
      qb.where(
        sql<boolean>`(d.created_at, d.id) < (cast(${after![0]} as timestamptz), cast(${after![1]} as uuid))`,
      ),
    )
    .orderBy('d.created_at', 'desc')
    .orderBy('d.id', 'desc')
    .limit(options.take)
    .execute()
  return rows as (DeliveryView & { created_at_key: string })[]
}

export async function findDelivery(
  db: Database,
  userId: string,
  endpointId: string,
  id: string,
): Promise<DeliveryView | undefined> {
  const row = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('events as e', 'e.id', 'd.event_id')
    .selectAll('d')
    .select('e.type as event_type')
    .where('d.user_id', '=', userId)
    .where('d.endpoint_id', '=', endpointId)
    .where('d.id', '=', id)
    .executeTakeFirst()
  return row as DeliveryView | undefined
}

/** What a delivery attempt needs: the delivery as claimed, its endpoint and its event. */
export interface DeliveryWork {
  delivery: DeliveryRow
  endpoint: EndpointRow
  event: EventRecord
}

/**
 * Claims attempt `attempt + 1` of a delivery for job `jobId`: only while the delivery waits for that attempt, or
 * when the same job claimed it before (a job retried after its process died tries again: at least once). A
 * second job for the same attempt (a manual retry racing a scheduled one) finds nothing to claim.
 */
export async function claimAttempt(
  db: Database,
  userId: string,
  deliveryId: string,
  attempt: number,
  jobId: string,
): Promise<DeliveryWork | undefined> {
  const delivery = await db
    .updateTable('webhook_deliveries')
    .set({ attempts: attempt + 1, last_attempt_at: sql<Date>`now()`, attempt_job: jobId })
    .where('user_id', '=', userId)
    .where('id', '=', deliveryId)
    .where('status', 'in', ['pending', 'retrying'])
    .where((eb) =>
      eb.or([
        eb('attempts', '=', attempt),
        eb.and([eb('attempts', '=', attempt + 1), eb('attempt_job', '=', jobId)]),
      ]),
    )
    .returningAll()
    .executeTakeFirst()
  if (!delivery) return undefined
  const [endpoint, event] = await Promise.all([
    findEndpoint(db, userId, delivery.endpoint_id),
    findEvent(db, userId, delivery.event_id),
  ])
  if (!endpoint || !event) return undefined
  return { delivery, endpoint, event }
}

export async function updateDelivery(
  db: Database,
  userId: string,
  id: string,
  values: Updateable<WebhookDeliveriesTable>,
): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set(values)
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .execute()
}

export async function deleteEventsBefore(db: Database, before: Date): Promise<number> {
  const result = await db.deleteFrom('events').where('created_at', '<', before).executeTakeFirst()
  return Number(result.numDeletedRows)
}

export type { DeliveryStatus }
