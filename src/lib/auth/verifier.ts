import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose'

export interface VerifiedToken {
  sub: string
  email: string | null
  tokenUse: 'access' | 'id'
  /** Seconds since the epoch. */
  exp: number
}

export class TokenRejectedError extends Error {
  constructor(readonly reason: string) {
    super(reason)
    this.name = 'TokenRejectedError'
  }
}

export interface TokenVerifierOptions {
  issuer: string
  clientIds: readonly string[]
  keys: JWTVerifyGetKey
  clockToleranceSeconds?: number
}

export interface TokenVerifier {
  verify(token: string): Promise<VerifiedToken>
}

/**
 * Keys of a Cognito user pool, fetched once and kept: an unknown `kid` refetches the set, at most once per
 * cool-down, and a failed refetch leaves the known keys in use.
 */
export function remoteKeySet(jwksUrl: string, cooldownSeconds = 30): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(jwksUrl), {
    timeoutDuration: 5_000,
    cooldownDuration: cooldownSeconds * 1000,
    cacheMaxAge: Number.POSITIVE_INFINITY,
  })
}

/**
 * Verifies a Cognito user-pool token: RS256 signature from the pool's keys, exact issuer, exp/nbf,
 * `token_use` access or id, and the app client (`client_id` for access tokens, `aud` for ID tokens).
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const clients = new Set(options.clientIds)
  return {
    async verify(token) {
      let payload: JWTPayload
      try {
        ;({ payload } = await jwtVerify(token, options.keys, {
          issuer: options.issuer,
          algorithms: ['RS256'],
          clockTolerance: options.clockToleranceSeconds ?? 5,
          requiredClaims: ['sub', 'exp', 'iat'],
        }))
      } catch (error) {
        throw new TokenRejectedError(describeJoseError(error))
      }
      const tokenUse = payload['token_use']
      if (tokenUse !== 'access' && tokenUse !== 'id')
        throw new TokenRejectedError('token_use is not access or id')
      const client = tokenUse === 'access' ? payload['client_id'] : payload.aud
      const clientOk = Array.isArray(client)
        ? client.some((c) => clients.has(c))
        : typeof client === 'string' && clients.has(client)
      if (!clientOk)
        throw new TokenRejectedError(
          `${tokenUse === 'access' ? 'client_id' : 'aud'} is not an allowed client`,
        )
      if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 255) {
        throw new TokenRejectedError('sub is missing')
      }
      const email = tokenUse === 'id' && typeof payload['email'] === 'string' ? payload['email'] : null
      return { sub: payload.sub, email, tokenUse, exp: payload.exp as number }
    },
  }
}

function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired'
  if (error instanceof errors.JWTClaimValidationFailed) return `claim ${error.claim} invalid: ${error.reason}`
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature verification failed'
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key matches the token kid'
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed'
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed token'
  if (error instanceof errors.JWKSTimeout) return 'key set fetch timed out'
  if (error instanceof errors.JOSEError) return `${error.code}: ${error.message}`
  return 'key set unavailable'
}
