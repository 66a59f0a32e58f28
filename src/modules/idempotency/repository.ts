import { sql } from 'kysely'
import { crossTenant, type Database } from '../../lib/db'

export interface IdempotencyRow {
  request_hash: string
  state: 'in_progress' | 'done'
  response_status: number | null
  response_body: unknown
  response_headers: Record<string, string> | null
  locked_at: Date
  created_at: Date
}

/** Claims the key for this request; undefined when another request holds or held it. */
export async function claimKey(
  db: Database,
  userId: string,
  key: string,
  requestHash: string,
): Promise<boolean> {
  const inserted = await db
    .insertInto('idempotency_keys')
    .values({ user_id: userId, key, request_hash: requestHash, state: 'in_progress' })
    .onConflict((oc) => oc.columns(['user_id', 'key']).doNothing())
    .returning('key')
    .executeTakeFirst()
  return inserted !== undefined
}

export async function findKey(
  db: Database,
  userId: string,
  key: string,
): Promise<IdempotencyRow | undefined> {
  return db
    .selectFrom('idempotency_keys')
    .select([
      'request_hash',
      'state',
      'response_status',
      'response_body',
      'response_headers',
      'locked_at',
      'created_at',
    ])
    .where('user_id', '=', userId)
    .where('key', '=', key)
    .executeTakeFirst() as Promise<IdempotencyRow | undefined>
}

/** Takes over a key whose holder's lease ran out (it crashed or hung); true when this caller won. */
export async function takeOverStaleKey(
  db: Database,
  userId: string,
  key: string,
  lockedAt: Date,
): Promise<boolean> {
  const taken = await db
    .updateTable('idempotency_keys')
    .set({ locked_at: sql`now()` })
    .where('user_id', '=', userId)
    .where('key', '=', key)
    .where('state', '=', 'in_progress')
    .where('locked_at', '=', lockedAt)
    .returning('key')
    .executeTakeFirst()
  return taken !== undefined
}

export async function completeKey(
  db: Database,
  userId: string,
  key: string,
  response: { status: number; body: unknown; headers: Record<string, string> },
): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({
      state: 'done',
      response_status: response.status,
      response_body: response.body ?? null,
      response_headers: response.headers,
    })
    .where('user_id', '=', userId)
    .where('key', '=', key)
    .execute()
}

export async function releaseKey(db: Database, userId: string, key: string): Promise<void> {
  await db.deleteFrom('idempotency_keys').where('user_id', '=', userId).where('key', '=', key).execute()
}

/** Housekeeping across every user's keys. */
export async function deleteExpiredKeys(db: Database, olderThanHours: number): Promise<void> {
  await crossTenant(db)
    .deleteFrom('idempotency_keys')
    .where('created_at', '<', sql<Date>`now() - make_interval(hours => ${olderThanHours})`)
    .execute()
}
