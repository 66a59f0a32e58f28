import { Elysia, ValidationError } from 'elysia'
import type { Logger } from '../lib/logger'
import { AppError, type ErrorCode, type ErrorDetail, errorBody } from '../shared/errors'
import { requestMeta } from './request-context'

export const BODY_LIMIT_BYTES = 1024 * 1024

export interface RouteLike {
  method: string
  path: string
}

/** Connection-level failures of postgres.js and server states that mean "the database cannot be reached". */
const DATABASE_DOWN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  '57P01',
  '57P02',
  '57P03',
  '53300',
])

export function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && DATABASE_DOWN_CODES.has(code)
}

type Issue = ValidationError['all'][number]
const depth = (issues: Issue[]) =>
  Math.max(0, ...issues.map((i) => ('path' in i ? i.path.split('/').length : 0)))

/**
 * A value that fails a union (e.g. a nullable object) reports "should be one of object, null" at the union;
 * the variant whose errors reach deepest says what is actually wrong (`/address/country`), so report those.
 */
function specific(issue: Issue): Issue[] {
  const variants = ('errors' in issue && Array.isArray(issue.errors) ? issue.errors : []).map(
    (it) => [...it] as Issue[],
  )
  const best = variants.filter((v) => v.length > 0).sort((a, b) => depth(b) - depth(a))[0]
  if (!best || depth(best) <= depth([issue])) return [issue]
  return best.flatMap(specific)
}

/** Paths and messages name client field names and values: an answer never echoes a large one back. */
const MAX_PATH = 200
const MAX_MESSAGE = 300
const shorten = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text)

function validationDetails(error: ValidationError): ErrorDetail[] {
  const where = error.type === 'body' ? '' : `/${error.type}`
  const seen = new Set<string>()
  const details: ErrorDetail[] = []
  for (const issue of error.all.flatMap(specific)) {
    const path = shorten(`${where}${'path' in issue ? issue.path : ''}` || '/', MAX_PATH)
    const message = shorten(String(('summary' in issue && issue.summary) || issue.message), MAX_MESSAGE)
    const key = `${path}\0${message}`
    if (seen.has(key)) continue
    seen.add(key)
    details.push({ path, message: String(message) })
    if (details.length >= 50) break
  }
  return details
}

/**
 * The body, or undefined as soon as it passes `limit` bytes: a chunked body declares no length, and the server
 * accepts bodies far over the limit so that this answer, not Bun's, refuses them.
 */
async function readAtMost(request: Request, limit: number): Promise<Uint8Array | undefined> {
  if (!request.body) return new Uint8Array(0)
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of request.body) {
    size += chunk.byteLength
    if (size > limit) return undefined
    chunks.push(chunk)
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)
}

function toPattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((part) =>
      part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/')
  return new RegExp(`^${source}/?$`)
}

/**
 * Paths served as HTML pages for people (the hosted document pages): their errors are HTML pages too, with the
 * pages' headers, unless the client asks for JSON. Given by the app, so that this plugin imports no module.
 */
export interface HtmlErrorPages {
  owns(url: string): boolean
  /** Headers of every answer under these paths, errors included. */
  headers: Readonly<Record<string, string>>
  wantsJson(request: Request): boolean
  render(status: number): string
}

/**
 * Reads JSON bodies itself so that every failure gets the envelope: 415 for other media types, 413 over
 * the limit, 400 MALFORMED_JSON. Maps framework errors (validation, unknown routes) to the codes of API.md,
 * a known path with another method to 405, and everything unexpected to a 500 without its stack.
 */
export function errorHandler(deps: {
  logger: Logger
  routes: () => readonly RouteLike[]
  pages?: HtmlErrorPages
}) {
  let patterns: { pattern: RegExp; method: string }[] | undefined
  const allowedMethods = (pathname: string): string[] => {
    patterns ??= deps
      .routes()
      .filter((r) => r.method !== 'ALL')
      .map((r) => ({ pattern: toPattern(r.path), method: r.method.toUpperCase() }))
    return [...new Set(patterns.filter((p) => p.pattern.test(pathname)).map((p) => p.method))]
  }

  return new Elysia({ name: 'errors' })
    .onParse({ as: 'global' }, async ({ request, contentType }) => {
      // A refused body is answered by the input plugin after authentication: a client without a valid token
      // gets 401 whatever it sent. Until then the body is an empty object.
      const refuse = (error: AppError) => {
        requestMeta(request).bodyError = error
        return {}
      }
      const tooLarge = () => refuse(new AppError('PAYLOAD_TOO_LARGE', 'Request body exceeds 1 MiB'))
      const declared = Number(request.headers.get('content-length') ?? '0')
      if (declared > BODY_LIMIT_BYTES) return tooLarge()
      const bytes = await readAtMost(request, BODY_LIMIT_BYTES)
      if (bytes === undefined) return tooLarge()
      const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
      if (bytes.byteLength === 0 && mediaType === '') return null
      if (mediaType !== 'application/json' && !/^application\/[\w.+-]+\+json$/.test(mediaType)) {
        return refuse(new AppError('UNSUPPORTED_MEDIA_TYPE', 'Request body must be application/json'))
      }
      try {
        return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
      } catch {
        return refuse(new AppError('MALFORMED_JSON', 'Request body is not valid JSON'))
      }
    })
    .onError({ as: 'global' }, ({ code, error: raised, request, set }) => {
      // Errors thrown by the body parser arrive wrapped in Elysia's ParseError.
      const cause = (raised as { cause?: unknown }).cause
      const error = code === 'PARSE' && cause instanceof AppError ? cause : raised
      const meta = requestMeta(request)
      const reply = (
        status: number,
        errorCode: ErrorCode,
        message: string,
        details?: ErrorDetail[],
        headers?: Record<string, string>,
      ) => {
        set.status = status
        if (headers) Object.assign(set.headers, headers)
        const pages = deps.pages?.owns(request.url) ? deps.pages : undefined
        if (pages) {
          Object.assign(set.headers, pages.headers)
          if (!pages.wantsJson(request)) {
            set.headers['content-type'] = 'text/html; charset=utf-8'
            return pages.render(status)
          }
        }
        set.headers['content-type'] = 'application/json; charset=utf-8'
        return errorBody(errorCode, message, meta.requestId, details)
      }

      if (error instanceof AppError) {
        if (error.status >= 500) {
          deps.logger.error(
            {
              err: error.cause ?? error,
              code: error.code,
              requestId: meta.requestId,
              userId: meta.userId,
              ...error.context,
            },
            error.message,
          )
        }
        return reply(error.status, error.code, error.message, error.details, error.headers)
      }
      if (error instanceof ValidationError) {
        if (error.type === 'response') {
          deps.logger.error(
            { code: 'INTERNAL_ERROR', requestId: meta.requestId, details: validationDetails(error) },
            'response does not match its schema',
          )
          return reply(500, 'INTERNAL_ERROR', 'Internal server error')
        }
        return reply(400, 'VALIDATION_ERROR', 'Request validation failed', validationDetails(error))
      }
      if (code === 'PARSE') return reply(400, 'MALFORMED_JSON', 'Request body is not valid JSON')
      if (code === 'NOT_FOUND') {
        const pathname = new URL(request.url).pathname
        const allowed = allowedMethods(pathname)
        if (allowed.length > 0 && !allowed.includes(request.method)) {
          return reply(
            405,
            'METHOD_NOT_ALLOWED',
            `${request.method} is not allowed on ${pathname}`,
            undefined,
            {
              allow: allowed.join(', '),
            },
          )
        }
        return reply(404, 'NOT_FOUND', `No route for ${request.method} ${pathname}`)
      }
      if (isDatabaseUnavailable(error)) {
        // A wait for a pooled connection (every one busy, or reconnecting) reads differently in the logs from a
        // database that refuses or drops connections: `grep "connection pool"` finds the former.
        const poolWait = (error as { poolWait?: boolean }).poolWait === true
        deps.logger.error(
          { err: error, code: 'SERVICE_UNAVAILABLE', requestId: meta.requestId },
          poolWait ? 'database unavailable: no connection from the connection pool' : 'database unavailable',
        )
        return reply(503, 'SERVICE_UNAVAILABLE', 'The database cannot be reached; retry shortly', undefined, {
          'retry-after': '5',
        })
      }
      deps.logger.error(
        { err: error, code: 'INTERNAL_ERROR', requestId: meta.requestId, userId: meta.userId },
        'unhandled error',
      )
      return reply(500, 'INTERNAL_ERROR', 'Internal server error')
    })
}
