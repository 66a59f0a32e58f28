import { Elysia } from 'elysia'
import { TokenCache } from '../lib/auth/token-cache'
import { TokenRejectedError, type TokenVerifier, type VerifiedToken } from '../lib/auth/verifier'
import type { Database } from '../lib/db'
import type { Logger } from '../lib/logger'
import { type AuthenticatedUser, resolveUser } from '../modules/me/service'
import { AppError } from '../shared/errors'
import { requestMeta } from './request-context'

const BEARER = /^Bearer +([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*)$/

function unauthorized(message: string, invalidToken: boolean): AppError {
  return new AppError('UNAUTHORIZED', message, {
    headers: { 'www-authenticate': invalidToken ? 'Bearer error="invalid_token"' : 'Bearer' },
  })
}

/** Gives every route of the module that uses it a verified `user`; 401 before any handler runs otherwise. */
export function authPlugin(deps: { verifier: TokenVerifier; db: Database; logger: Logger }) {
  const verified = new TokenCache<AuthenticatedUser>()
  return new Elysia({ name: 'auth' }).resolve({ as: 'scoped' }, async ({ request }) => {
    const header = request.headers.get('authorization')
    if (!header) throw unauthorized('Missing bearer token', false)
    const match = BEARER.exec(header)
    if (!match) {
      deps.logger.warn(
        { reason: 'malformed authorization header', requestId: requestMeta(request).requestId },
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
        deps.logger.warn(
          { reason: error.reason, requestId: requestMeta(request).requestId },
          'token rejected',
        )
        throw unauthorized('Invalid or expired token', true)
      }
      user = await resolveUser(deps.db, claims)
      verified.set(token, user, claims.exp * 1000)
    }
    requestMeta(request).userId = user.id
    return { user }
  })
}

export type AuthPlugin = ReturnType<typeof authPlugin>
