import { type Selectable, sql, type Updateable } from 'kysely'
import type { DeliveryStatus, WebhookDeliveriesTable, WebhookEndpointsTable } from '../../../db/schema'
import type { Database, Transaction } from '../../lib/db'
import type { EmbeddedInsert } from '../../lib/jobs'
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
 * type, and the first attempt's job of each delivery (`deliveryJobs`, pg-boss's insert embedded): one round trip
 * in the change's transaction, whatever the number of endpoints. Listening workers are woken at commit when
 * there is a delivery.
 */
export async function insertEventWithDeliveries(
  trx: Transaction,
  userId: string,
  type: EventType,
  object: unknown,
  deliveryJobs: EmbeddedInsert,
): Promise<{ eventId: string; deliveryIds: string[] }> {
  const jobs = sql`(select json_agg(json_build_object('data',
                     json_build_object('userId', ${userId}::text, 'deliveryId', d.id, 'attempt', 0)))
                      from deliveries d)`
  const { rows } = await sql<{ event_id: string; delivery_ids: string[]; woken: unknown }>`
    with event as (
      insert into events (user_id, type, data) values (${userId}, ${type}, ${{ object } as unknown as string}::jsonb)
      returning id
    ), deliveries as (
      insert into webhook_deliveries (user_id, endpoint_id, event_id, next_attempt_at)
      select ${userId}, e.id, (select id from event), now()
        from webhook_endpoints e
       where e.user_id = ${userId} and e.enabled and (${type} = any(e.events) or '*' = any(e.events))
      returning id
    ), jobs as (
      ${deliveryJobs.insert(jobs)}
    ), ids as (
      select coalesce(array_agg(id), '{}') as delivery_ids from deliveries
    )
    select (select id from event) as event_id, delivery_ids,
           case when cardinality(delivery_ids) > 0 then ${deliveryJobs.notify} end as woken
      from ids`.execute(trx)
  const row = rows[0]!
  return { eventId: row.event_id, deliveryIds: row.delivery_ids }
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

const endpointRow = (db: Database, userId: string, id: string) =>
  db.selectFrom('webhook_endpoints').selectAll().where('user_id', '=', userId).where('id', '=', id)

export async function findEndpoint(
  db: Database,
  userId: string,
  id: string,
): Promise<EndpointRow | undefined> {
  return endpointRow(db, userId, id).executeTakeFirst()
}

/** Locks the row until the transaction ends, for read-check-write sequences. */
export async function lockEndpointRow(
  trx: Transaction,
  userId: string,
  id: string,
): Promise<EndpointRow | undefined> {
  return endpointRow(trx, userId, id).forUpdate().executeTakeFirst()
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

/** The endpoint as an attempt needs it. */
export type DeliveryEndpoint = Pick<
  EndpointRow,
  'id' | 'url' | 'enabled' | 'secret' | 'previous_secret' | 'previous_secret_expires_at'
>

/** What a delivery attempt needs: its endpoint and its event. */
export interface DeliveryWork {
  endpoint: DeliveryEndpoint
  event: EventRecord
}

/**
 * Claims attempt `attempt + 1` of a delivery for job `jobId`: only while the delivery waits for that attempt, or
 * when the same job claimed it before (a job retried after its process died tries again: at least once). A
 * second job for the same attempt (a manual retry racing a scheduled one) finds nothing to claim. The claim
 * reads the endpoint and the event in the same statement: one round trip per attempt.
 */
export async function claimAttempt(
  db: Database,
  userId: string,
  deliveryId: string,
  attempt: number,
  jobId: string,
): Promise<DeliveryWork | undefined> {
  const { rows } = await sql<
    DeliveryEndpoint & {
      event_seq: string
      event_id: string
      event_type: string
      event_created_at: Date
      event_data: { object: unknown }
    }
  >`
    with claimed as (
      update webhook_deliveries
         set attempts = ${attempt + 1}, last_attempt_at = now(), attempt_job = ${jobId}
       where user_id = ${userId} and id = ${deliveryId} and status in ('pending', 'retrying')
         and (attempts = ${attempt} or (attempts = ${attempt + 1} and attempt_job = ${jobId}))
      returning endpoint_id, event_id
    )
    select w.id, w.url, w.enabled, w.secret, w.previous_secret, w.previous_secret_expires_at,
           e.seq as event_seq, e.id as event_id, e.type as event_type, e.created_at as event_created_at,
           e.data as event_data
      from claimed c
      join webhook_endpoints w on w.user_id = ${userId} and w.id = c.endpoint_id
      join events e on e.user_id = ${userId} and e.id = c.event_id`.execute(db)
  const row = rows[0]
  if (!row) return undefined
  return {
    endpoint: {
      id: row.id,
      url: row.url,
      enabled: row.enabled,
      secret: row.secret,
      previous_secret: row.previous_secret,
      previous_secret_expires_at: row.previous_secret_expires_at,
    },
    event: toEvent({
      seq: row.event_seq,
      id: row.event_id,
      user_id: userId,
      type: row.event_type,
      created_at: row.event_created_at,
      data: row.event_data,
    }),
  }
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
