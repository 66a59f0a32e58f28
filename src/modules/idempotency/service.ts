import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import type { Database, Transaction } from '../../lib/db'
import { AppError, type ErrorCode, type ErrorDetail } from '../../shared/errors'
import {
  claimKey,
  completeKey,
  deleteExpiredKeys,
  findKey,
  type IdempotencyRow,
  releaseKey,
} from './repository'

export const REPLAY_HOURS = 24
const KEY_FORMAT = /^[\x20-\x7E]{1,255}$/
const REPLAYED_HEADERS = ['location', 'etag'] as const

export interface IdempotentRequest {
  userId: string
  key: string | undefined
  method: string
  path: string
  body: unknown
}

export interface WorkResult<T> {
  status: number
  body: T
  headers?: Record<string, string>
}

/** What the controller answers: the work's status, body and headers, marked when it is a replay. */
export interface Answer<T> {
  status: number
  body: T
  headers: Record<string, string>
}

/** Elysia's `set`: where a controller puts an answer's status and headers. */
interface ResponseTarget {
  status?: number | string
  headers: Record<string, string | number>
}

/** Puts an answer's status and headers on the response and gives its body to return. */
export function respond<T>(target: ResponseTarget, answer: Answer<T>): T {
  target.status = answer.status
  Object.assign(target.headers, answer.headers)
  return answer.body
}

/** The same JSON value serialises the same way whatever the order of its keys. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value ?? null)
}

const hashRequest = (request: IdempotentRequest) =>
  createHash('sha256')
    .update(`${request.method} ${request.path}\n${canonicalJson(request.body)}`)
    .digest('hex')

function answer<T>(result: WorkResult<T>, extra: Record<string, string> = {}): Answer<T> {
  const headers: Record<string, string> = { ...extra }
  for (const name of REPLAYED_HEADERS) {
    const value = result.headers?.[name]
    if (value !== undefined) headers[name] = value
  }
  return { status: result.status, body: result.body, headers }
}

function replay<T>(row: IdempotencyRow): Answer<T> {
  const body = row.response_body as { error?: { code: ErrorCode; message: string; details?: ErrorDetail[] } }
  if (row.response_status !== null && row.response_status >= 400 && body?.error) {
    throw new AppError(body.error.code, body.error.message, {
      details: body.error.details,
      headers: { 'idempotent-replayed': 'true' },
    })
  }
  return answer(
    {
      status: row.response_status ?? 200,
      body: row.response_body as T,
      headers: row.response_headers ?? {},
    },
    { 'idempotent-replayed': 'true' },
  )
}

const reused = () =>
  new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different request')

/** Serialised once, for storing and replaying a refused request's answer. */
const errorAnswer = (error: AppError) => ({
  status: error.status,
  body: { error: { code: error.code, message: error.message, details: error.details } },
  headers: {},
})

/** Lock waits that ended without the holder finishing: its request is still running. */
const STILL_RUNNING_CODES = new Set(['55P03', '57014'])

const stillInProgress = () =>
  new AppError('IDEMPOTENCY_KEY_REUSED', 'A request with this Idempotency-Key is still in progress')

/** How often a key that vanished or expired between two statements is claimed again before giving up. */
const MAX_CLAIM_ATTEMPTS = 3

/**
 * Runs `work` at most once per (user, Idempotency-Key) within 24 h: a repeat with the same request replays the
 * stored answer, a repeat with another request is refused, and a concurrent duplicate waits for the first to
 * finish and replays it.
 *
 * The key is claimed by inserting its row in the work's own transaction, so no lease is needed: a duplicate
 * blocks on the uncommitted row until the first commits (then replays it) or rolls back (then claims it), and
 * a process that dies mid-request loses its connection, which rolls the claim back with the work: the retry
 * runs at once. The wait is bounded by the server's statement timeout, answered as "still in progress".
 * Answers of 4xx are stored too (the work is rolled back to a savepoint and the answer committed with the
 * claim); 5xx and unexpected failures roll everything back so the client can retry.
 */
export async function withIdempotency<T>(
  db: Database,
  request: IdempotentRequest,
  work: (trx: Transaction) => Promise<WorkResult<T>>,
): Promise<Answer<T>> {
  if (request.key === undefined) return answer(await db.transaction().execute(work))
  const key = request.key
  if (!KEY_FORMAT.test(key)) {
    throw new AppError('VALIDATION_ERROR', 'Idempotency-Key must be 1–255 printable ASCII characters', {
      details: [{ path: '/headers/idempotency-key', message: 'must be 1–255 printable ASCII characters' }],
    })
  }
  const requestHash = hashRequest(request)
  if (Math.random() < 0.01) void deleteExpiredKeys(db, REPLAY_HOURS).catch(() => {})

  for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
    let outcome: { done: WorkResult<T> } | { refused: AppError } | undefined
    try {
      outcome = await db.transaction().execute(async (trx) => {
        if (!(await claimKey(trx, request.userId, key, requestHash))) return undefined
        await sql`savepoint idempotent_work`.execute(trx)
        try {
          const done = await work(trx)
          await completeKey(trx, request.userId, key, requestHash, {
            status: done.status,
            body: done.body,
            headers: Object.fromEntries(
              REPLAYED_HEADERS.flatMap((name) => (done.headers?.[name] ? [[name, done.headers[name]]] : [])),
            ),
          })
          return { done }
        } catch (error) {
          if (!(error instanceof AppError && error.status < 500)) throw error
          await sql`rollback to savepoint idempotent_work`.execute(trx)
          await completeKey(trx, request.userId, key, requestHash, errorAnswer(error))
          return { refused: error }
        }
      })
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code
      if (typeof code === 'string' && STILL_RUNNING_CODES.has(code)) throw stillInProgress()
      throw error
    }
    if (outcome && 'done' in outcome) return answer(outcome.done)
    if (outcome) throw outcome.refused

    const row = await findKey(db, request.userId, key)
    if (!row) continue
    if (row.created_at.getTime() < Date.now() - REPLAY_HOURS * 3_600_000) {
      await releaseKey(db, request.userId, key)
      continue
    }
    if (row.state !== 'done') {
      // A committed claim without an answer was left by a release that leased keys outside the work's
      // transaction; nothing can be working on it any more.
      await releaseKey(db, request.userId, key)
      continue
    }
    if (row.request_hash !== requestHash) throw reused()
    return replay<T>(row)
  }
  throw stillInProgress()
}

/**
 * A POST that creates a resource under `collection`: runs `create` once per Idempotency-Key and answers 201
 * with the resource, its `ETag` and its `Location`, replayed alike on a repeat.
 */
export function idempotentCreate<T extends { id: string }>(
  db: Database,
  request: { userId: string; key: string | undefined; collection: string; body: unknown },
  create: (trx: Transaction) => Promise<{ resource: T; etag: string }>,
): Promise<Answer<T>> {
  const { collection, ...rest } = request
  return withIdempotency(db, { ...rest, method: 'POST', path: collection }, async (trx) => {
    const { resource, etag } = await create(trx)
    return { status: 201, body: resource, headers: { etag, location: `${collection}/${resource.id}` } }
  })
}
