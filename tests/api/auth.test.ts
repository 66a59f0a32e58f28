import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { generateKeyPair, SignJWT } from 'jose'
import { createTestApp, type TestApp } from '../helpers/app'
import { TEST_CLIENT_ID } from '../helpers/jwks'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const me = (token: string) => t.request('/api/v1/me', { token })

async function expectRejected(token: string, reason: RegExp) {
  const res = await me(token)
  expect(res.status).toBe(401)
  expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
  const body = (await res.json()) as { error: { code: string } }
  expect(body.error.code).toBe('UNAUTHORIZED')
  const line = t.logs.findLast((l) => l.message === 'token rejected')
  expect(String(line?.reason)).toMatch(reason)
  expect(JSON.stringify(t.logs)).not.toContain(token)
}

describe('authentication with Cognito tokens verified against the JWKS', () => {
  test('when an access token is valid, then the user is created on first sight and answers with a profile', async () => {
    const sub = crypto.randomUUID()
    const res = await me(await t.token(sub))
    expect(res.status).toBe(200)
    const body = (await res.json()) as { id: string; profile: { invoicePrefix: string } }
    expect(body.profile.invoicePrefix).toBe('INV-')
    const again = (await (await me(await t.token(sub))).json()) as { id: string }
    expect(again.id).toBe(body.id)
  })

  test('when two first requests of a new user race, then exactly one user row is created', async () => {
    const sub = crypto.randomUUID()
    const token = await t.token(sub)
    const answers = await Promise.all(Array.from({ length: 6 }, () => me(token)))
    const ids = new Set(await Promise.all(answers.map(async (r) => ((await r.json()) as { id: string }).id)))
    expect(answers.every((r) => r.status === 200)).toBe(true)
    expect(ids.size).toBe(1)
    const rows = await t.deps.database.db
      .selectFrom('users')
      .select('id')
      .where('cognito_sub', '=', sub)
      .execute()
    expect(rows).toHaveLength(1)
  })

  test('when an ID token carries an email, then the user has it', async () => {
    const token = await t.issuer.sign({ email: 'ada@example.com' }, { tokenUse: 'id' })
    const body = (await (await me(token)).json()) as { email: string }
    expect(body.email).toBe('ada@example.com')
  })

  test('when the token has expired, then 401', async () => {
    await expectRejected(
      await t.issuer.sign({}, { expiresIn: Math.floor(Date.now() / 1000) - 60 }),
      /expired/,
    )
  })

  test('when the token is not valid yet (nbf in the future), then 401', async () => {
    await expectRejected(await t.issuer.sign({ nbf: Math.floor(Date.now() / 1000) + 600 }), /nbf/)
  })

  test('when the token comes from another pool (issuer), then 401', async () => {
    await expectRejected(
      await t.issuer.sign({}, { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other' }),
      /iss/,
    )
  })

  test('when the access token names another app client, then 401', async () => {
    await expectRejected(await t.issuer.sign({ client_id: 'someone-else' }), /client_id/)
  })

  test('when the ID token is for another audience, then 401', async () => {
    await expectRejected(await t.issuer.sign({ aud: 'someone-else' }, { tokenUse: 'id' }), /aud/)
  })

  test('when token_use is neither access nor id, then 401', async () => {
    await expectRejected(await t.issuer.sign({ token_use: 'refresh' }), /token_use/)
  })

  test('when the token is signed by a key not in the JWKS, then 401', async () => {
    const { privateKey } = await generateKeyPair('RS256')
    await expectRejected(await t.issuer.sign({}, { privateKey }), /signature/)
  })

  test('when the kid is unknown, then 401', async () => {
    const { privateKey } = await generateKeyPair('RS256')
    await expectRejected(await t.issuer.sign({}, { privateKey, kid: 'no-such-kid' }), /kid|key/)
  })

  test('when the payload was tampered with, then 401', async () => {
    const [header, , signature] = (await t.token()).split('.')
    const forged = b64url({
      sub: 'victim',
      token_use: 'access',
      client_id: TEST_CLIENT_ID,
      iss: t.issuer.issuer,
      exp: Math.floor(Date.now() / 1000) + 3600,
      iat: Math.floor(Date.now() / 1000),
    })
    await expectRejected(`${header}.${forged}.${signature}`, /signature/)
  })

  test('when alg is none, then 401', async () => {
    const claims = {
      sub: 'x',
      token_use: 'access',
      client_id: TEST_CLIENT_ID,
      iss: t.issuer.issuer,
      exp: Math.floor(Date.now() / 1000) + 3600,
      iat: Math.floor(Date.now() / 1000),
    }
    await expectRejected(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`, /malformed|alg/)
  })

  test('when the token is HS256-signed with the public key as secret, then 401', async () => {
    const jwks = (await (await fetch(t.issuer.jwksUrl)).json()) as { keys: { n: string; kid: string }[] }
    const secret = new TextEncoder().encode(JSON.stringify(jwks.keys[0]))
    const token = await new SignJWT({ token_use: 'access', client_id: TEST_CLIENT_ID })
      .setProtectedHeader({ alg: 'HS256', kid: jwks.keys[0]!.kid })
      .setIssuer(t.issuer.issuer)
      .setSubject('x')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(secret)
    await expectRejected(token, /alg/)
  })

  test('when the Authorization header is not a bearer JWT, then 401 invalid_token', async () => {
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer not-a-jwt']) {
      const res = await t.request('/api/v1/me', { headers: { authorization: header } })
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
    }
  })

  test('when the JWKS endpoint goes down, then tokens signed with already-fetched keys keep working', async () => {
    expect((await me(await t.token())).status).toBe(200)
    const fetchesBefore = t.issuer.fetches()
    t.issuer.setDown(true)
    try {
      expect((await me(await t.token())).status).toBe(200)
      expect(t.issuer.fetches()).toBe(fetchesBefore)
    } finally {
      t.issuer.setDown(false)
    }
  })
})

describe('key rotation', () => {
  test('when a token names a new kid, then the JWKS is refetched once per cool-down and the token accepted', async () => {
    const own = await createTestApp({ COGNITO_JWKS_COOLDOWN_SECONDS: '0' })
    try {
      expect((await own.request('/api/v1/me', { token: await own.token() })).status).toBe(200)
      expect(own.issuer.fetches()).toBe(1)
      const kid = await own.issuer.rotate()
      const rotated = await own.issuer.sign({}, { kid })
      expect((await own.request('/api/v1/me', { token: rotated })).status).toBe(200)
      expect(own.issuer.fetches()).toBe(2)
    } finally {
      await own.close()
    }
  })

  test('when unknown kids arrive within the cool-down, then the JWKS is not refetched for each of them', async () => {
    const own = await createTestApp({ COGNITO_JWKS_COOLDOWN_SECONDS: '60' })
    try {
      expect((await own.request('/api/v1/me', { token: await own.token() })).status).toBe(200)
      const { privateKey } = await generateKeyPair('RS256')
      for (let i = 0; i < 5; i++) {
        const forged = await own.issuer.sign({}, { privateKey, kid: `unknown-${i}` })
        expect((await own.request('/api/v1/me', { token: forged })).status).toBe(401)
      }
      expect(own.issuer.fetches()).toBe(1)
    } finally {
      await own.close()
    }
  })
})
