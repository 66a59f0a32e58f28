import { sql } from 'kysely'
import { crossTenant, type Database } from '../../lib/db'

export interface IdempotencyRow {
  request_hash: string
  state: 'in_progress' | 'done'
  response_status: number | null
  response_body: unknown
  response_headers: Record<string, string> | null
  created_at: Date
}

/**
 * Claims the key in the caller's transaction: the row is uncommitted until the work commits, so a concurrent
 * duplicate blocks on it (bounded by the transaction's lock timeout) and a crash rolls the claim back with the
 * work. False when the key is already committed, by a finished request or a legacy `in_progress` row.
 */
export async function claimKey(
  trx: Database,
  userId: string,
  key: string,
  requestHash: string,
): Promise<boolean> {
  const inserted = await trx
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
    .select(['request_hash', 'state', 'response_status', 'response_body', 'response_headers', 'created_at'])
    .where('user_id', '=', userId)
    .where('key', '=', key)
    .executeTakeFirst() as Promise<IdempotencyRow | undefined>
}

/** Stores the answer: over the claim inside the work's transaction, or as a new row after it rolled back. */
export async function completeKey(
  db: Database,
  userId: string,
  key: string,
  requestHash: string,
  response: { status: number; body: unknown; headers: Record<string, string> },
): Promise<void> {
  const answer = {
    state: 'done' as const,
    response_status: response.status,
    response_body: response.body ?? null,
    response_headers: response.headers,
  }
  await db
    .insertInto('idempotency_keys')
    .values({ user_id: userId, key, request_hash: requestHash, ...answer })
    .onConflict((oc) => oc.columns(['user_id', 'key']).doUpdateSet(answer))
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
