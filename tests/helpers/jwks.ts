import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose'

export const TEST_CLIENT_ID = 'test-client'
export const TEST_POOL = 'eu-west-1_TestPool'

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey']

export interface TestIssuer {
  issuer: string
  jwksUrl: string
  /** How many times the JWKS document was fetched. */
  fetches(): number
  /** Makes the JWKS endpoint answer 503 (true) or serve keys again (false). */
  setDown(down: boolean): void
  sign(claims?: Partial<JWTPayload> & Record<string, unknown>, options?: SignOptions): Promise<string>
  /** Adds a key to the published set (rotation); returns its kid. */
  rotate(): Promise<string>
  stop(): Promise<void>
}

export interface SignOptions {
  kid?: string
  expiresIn?: string | number
  tokenUse?: 'access' | 'id'
  privateKey?: PrivateKey
  issuer?: string
}

/** A Cognito-like issuer: RS256 keys served as a JWKS over HTTP on loopback, and a signer for its tokens. */
export async function startTestIssuer(): Promise<TestIssuer> {
  const keys: { kid: string; privateKey: PrivateKey; publicJwk: JWK }[] = []
  const addKey = async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
    const kid = crypto.randomUUID()
    keys.push({
      kid,
      privateKey,
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
    })
    return kid
  }
  await addKey()
  let down = false
  let fetchCount = 0
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(request) {
      const { pathname } = new URL(request.url)
      if (pathname !== `/${TEST_POOL}/.well-known/jwks.json`)
        return new Response('not found', { status: 404 })
      fetchCount++
      if (down) return new Response('unavailable', { status: 503 })
      return Response.json({ keys: keys.map((k) => k.publicJwk) })
    },
  })
  const issuer = `http://127.0.0.1:${server.port}/${TEST_POOL}`

  return {
    issuer,
    jwksUrl: `${issuer}/.well-known/jwks.json`,
    fetches: () => fetchCount,
    setDown: (value) => {
      down = value
    },
    rotate: addKey,
    async sign(claims = {}, options = {}) {
      const key = options.kid ? keys.find((k) => k.kid === options.kid) : keys[0]
      const tokenUse = options.tokenUse ?? 'access'
      const base: JWTPayload & Record<string, unknown> =
        tokenUse === 'access'
          ? { token_use: 'access', client_id: TEST_CLIENT_ID, scope: 'aws.cognito.signin.user.admin' }
          : { token_use: 'id', aud: TEST_CLIENT_ID, email: 'user@example.com' }
      return new SignJWT({ ...base, ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? key!.kid, typ: 'JWT' })
        .setIssuer(options.issuer ?? issuer)
        .setSubject(typeof claims.sub === 'string' ? claims.sub : crypto.randomUUID())
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '1h')
        .sign(options.privateKey ?? key!.privateKey)
    },
    async stop() {
      await server.stop(true)
    },
  }
}
