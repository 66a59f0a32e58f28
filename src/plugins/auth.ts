import { Elysia } from 'elysia'
import { TokenCache } from '../lib/auth/token-cache'
import { TokenRejectedError, type TokenVerifier, type VerifiedToken } from '../lib/auth/verifier'
import type { Database } from '../lib/db'
import type { Logger } from '../lib/logger'
import { AppError, type ErrorDetail } from '../shared/errors'
import { cleanText } from '../shared/text'
import { isApiPath } from './api-path'
import { type AuthenticatedUser, requestMeta } from './request-context'

export type { AuthenticatedUser }

/** Finds or creates the user behind verified claims; the app gives the profile module's function. */
export type ResolveUser = (db: Database, claims: VerifiedToken) => Promise<AuthenticatedUser>

/** The scheme name is case-insensitive (RFC 9110 §11.1); the token is three base64url parts. */
const BEARER = /^Bearer +([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*)$/i

function unauthorized(message: string, invalidToken: boolean): AppError {
  return new AppError('UNAUTHORIZED', message, {
    headers: { 'www-authenticate': invalidToken ? 'Bearer error="invalid_token"' : 'Bearer' },
  })
}

/** Claims become stored text (the user's id key and email): they follow the same rules as any input. */
function cleanClaims(claims: VerifiedToken): VerifiedToken {
  const problems: ErrorDetail[] = []
  const sub = cleanText(claims.sub, false)
  if ('problem' in sub) problems.push({ path: '/token/sub', message: sub.problem })
  const email = claims.email === null ? null : cleanText(claims.email, false)
  if (email && 'problem' in email) problems.push({ path: '/token/email', message: email.problem })
  if (problems.length > 0) {
    throw new AppError('VALIDATION_ERROR', 'The token carries text that cannot be stored', {
      details: problems,
    })
  }
  // The subject is an identifier: refused when unclean, never rewritten.
  return { ...claims, email: email && 'text' in email ? email.text : null }
}

/**
 * Every `/api/*` route needs a verified token, checked at `transform`: before schema validation and before a
 * refused body is answered, so a request without a valid token gets 401 whatever its body or query. Routes
 * get the user through `resolve`, which reads what `transform` found.
 */
export function authPlugins(deps: {
  verifier: TokenVerifier
  db: Database
  logger: Logger
  resolveUser: ResolveUser
}) {
  const verified = new TokenCache<AuthenticatedUser>()

  const authenticate = async (request: Request): Promise<AuthenticatedUser> => {
    const meta = requestMeta(request)
    if (meta.user) return meta.user
    const header = request.headers.get('authorization')
    if (!header) throw unauthorized('Missing bearer token', false)
    const match = BEARER.exec(header)
    if (!match) {
      deps.logger.warn(
        { reason: 'malformed authorization header', requestId: meta.requestId },
        'token rejected',
      )
      throw unauthorized('Malformed bearer token', true)
    }
    const token = match[1]!
    let user = verified.get(token)
    if (!user) {
      let claims: VerifiedToken
      try {
        claims = await deps.verifier.verify(token)
      } catch (error) {
        if (!(error instanceof TokenRejectedError)) throw error
        deps.logger.warn({ reason: error.reason, requestId: meta.requestId }, 'token rejected')
        throw unauthorized('Invalid or expired token', true)
      }
      user = await deps.resolveUser(deps.db, cleanClaims(claims))
      verified.set(token, user, claims.exp * 1000)
    }
    meta.userId = user.id
    meta.user = user
    return user
  }

  return {
    /** Used once by the app, before the input checks: authenticates every `/api/*` request at `transform`. */
    authenticate: new Elysia({ name: 'authenticate' }).onTransform({ as: 'global' }, async ({ request }) => {
      if (isApiPath(request.url)) await authenticate(request)
    }),
    /** Used by each module: gives its routes the `user` that `authenticate` found. */
    auth: new Elysia({ name: 'auth' }).resolve({ as: 'scoped' }, async ({ request }) => ({
      user: await authenticate(request),
    })),
  }
}

export type AuthPlugin = ReturnType<typeof authPlugins>['auth']
