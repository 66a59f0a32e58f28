import { Elysia } from 'elysia'
import type { AppError } from '../shared/errors'

/** The user a verified token names, as every route sees it. */
export interface AuthenticatedUser {
  id: string
  sub: string
  email: string | null
}

export interface RequestMeta {
  requestId: string
  startedAt: number
  userId: string | undefined
  /** Set once the request's token is verified. */
  user?: AuthenticatedUser
  /** Why the body parser refused the body; answered after authentication, which comes first. */
  bodyError?: AppError
}

const metas = new WeakMap<Request, RequestMeta>()
const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{8,128}$/

/** Per-request facts that every later hook (errors, logs, auth) reads, even when parsing failed. */
export function requestMeta(request: Request): RequestMeta {
  let meta = metas.get(request)
  if (!meta) {
    meta = { requestId: crypto.randomUUID(), startedAt: performance.now(), userId: undefined }
    metas.set(request, meta)
  }
  return meta
}

export const requestContext = new Elysia({ name: 'request-context' }).onRequest(({ request, set }) => {
  const meta = requestMeta(request)
  const incoming = request.headers.get('x-request-id')
  if (incoming && WELL_FORMED_ID.test(incoming)) meta.requestId = incoming
  set.headers['x-request-id'] = meta.requestId
})
