import { createHash } from 'node:crypto'
import type { Database } from '../../lib/db'
import { AppError, type ErrorCode, type ErrorDetail } from '../../shared/errors'
import {
  claimKey,
  completeKey,
  deleteExpiredKeys,
  findKey,
  type IdempotencyRow,
  releaseKey,
  takeOverStaleKey,
} from './repository'

export const REPLAY_HOURS = 24
const LEASE_MS = 60_000
const WAIT_FOR_PEER_MS = 10_000
const POLL_MS = 50
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

interface ResponseTarget {
  status?: number | string
  headers: Record<string, string | number>
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

function apply<T>(target: ResponseTarget, result: WorkResult<T>): T {
  target.status = result.status
  for (const name of REPLAYED_HEADERS) {
    const value = result.headers?.[name]
    if (value !== undefined) target.headers[name] = value
  }
  return result.body
}

function replay<T>(row: IdempotencyRow, target: ResponseTarget): T {
  target.headers['idempotent-replayed'] = 'true'
  const body = row.response_body as { error?: { code: ErrorCode; message: string; details?: ErrorDetail[] } }
  if (row.response_status !== null && row.response_status >= 400 && body?.error) {
    throw new AppError(body.error.code, body.error.message, {
      details: body.error.details,
      headers: { 'idempotent-replayed': 'true' },
    })
  }
  return apply(target, {
    status: row.response_status ?? 200,
    body: row.response_body as T,
    headers: row.response_headers ?? {},
  })
}

const reused = () =>
  new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different request')

/**
 * Runs `work` at most once per (user, Idempotency-Key) within 24 h: a repeat with the same request replays the
 * stored answer, a repeat with another request is refused, and a concurrent duplicate waits for the first to
 * finish and replays it. The stored answer commits in the same transaction as the work, so a crash cannot
 * leave work done with its key unrecorded. Answers of 4xx are stored too; 5xx and unexpected failures release
 * the key so the client can retry.
 */
export async function withIdempotency<T>(
  db: Database,
  request: IdempotentRequest,
  target: ResponseTarget,
  work: (trx: Database) => Promise<WorkResult<T>>,
): Promise<T> {
  if (request.key === undefined) return apply(target, await db.transaction().execute(work))
  const key = request.key
  if (!KEY_FORMAT.test(key)) {
    throw new AppError('VALIDATION_ERROR', 'Idempotency-Key must be 1–255 printable ASCII characters', {
      details: [{ path: '/headers/idempotency-key', message: 'must be 1–255 printable ASCII characters' }],
    })
  }
  const requestHash = hashRequest(request)
  if (Math.random() < 0.01) void deleteExpiredKeys(db, REPLAY_HOURS).catch(() => {})

  const deadline = Date.now() + WAIT_FOR_PEER_MS
  for (;;) {
    if (await claimKey(db, request.userId, key, requestHash)) break
    const row = await findKey(db, request.userId, key)
    if (!row) continue
    if (row.created_at.getTime() < Date.now() - REPLAY_HOURS * 3_600_000) {
      await releaseKey(db, request.userId, key)
      continue
    }
    if (row.request_hash !== requestHash) throw reused()
    if (row.state === 'done') return replay<T>(row, target)
    if (row.locked_at.getTime() < Date.now() - LEASE_MS) {
      if (await takeOverStaleKey(db, request.userId, key, row.locked_at)) break
      continue
    }
    if (Date.now() > deadline) {
      throw new AppError('IDEMPOTENCY_KEY_REUSED', 'A request with this Idempotency-Key is still in progress')
    }
    await Bun.sleep(POLL_MS)
  }

  try {
    const result = await db.transaction().execute(async (trx) => {
      const done = await work(trx)
      await completeKey(trx, request.userId, key, {
        status: done.status,
        body: done.body,
        headers: Object.fromEntries(
          REPLAYED_HEADERS.flatMap((name) => (done.headers?.[name] ? [[name, done.headers[name]]] : [])),
        ),
      })
      return done
    })
    return apply(target, result)
  } catch (error) {
    if (error instanceof AppError && error.status < 500) {
      const body = { error: { code: error.code, message: error.message, details: error.details } }
      await completeKey(db, request.userId, key, { status: error.status, body, headers: {} })
    } else {
      await releaseKey(db, request.userId, key).catch(() => {})
    }
    throw error
  }
}

/**
 * A POST that creates a resource under `collection`: runs `create` once per Idempotency-Key and answers 201
 * with the resource, its `ETag` and its `Location`, replayed alike on a repeat.
 */
export function idempotentCreate<T extends { id: string }>(
  db: Database,
  request: { userId: string; key: string | undefined; collection: string; body: unknown },
  target: ResponseTarget,
  create: (trx: Database) => Promise<{ resource: T; etag: string }>,
): Promise<T> {
  const { collection, ...rest } = request
  return withIdempotency(db, { ...rest, method: 'POST', path: collection }, target, async (trx) => {
    const { resource, etag } = await create(trx)
    return { status: 201, body: resource, headers: { etag, location: `${collection}/${resource.id}` } }
  })
}
