import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose'

export const DEV_ISSUER = 'http://localhost/dev-issuer'
export const DEV_CLIENT_ID = 'invoice-api-dev'
const KEY_FILE = 'dev-issuer-key.json'

interface StoredKey {
  privateJwk: JWK
  publicJwk: JWK
}

/**
 * The development stand-in for a Cognito user pool: an RS256 key pair kept in DATA_DIR. Tokens it signs
 * go through the same verifier as Cognito's; only the key source differs (a local JWKS instead of a remote one).
 */
export async function loadOrCreateDevKey(dataDir: string): Promise<StoredKey> {
  const file = path.join(dataDir, KEY_FILE)
  const existing = readKey(file)
  if (existing) return existing
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const kid = crypto.randomUUID()
  const stored: StoredKey = {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
  }
  mkdirSync(dataDir, { recursive: true })
  try {
    writeFileSync(file, JSON.stringify(stored), { mode: 0o600, flag: 'wx' })
    return stored
  } catch (error) {
    // Another process created the key first: use theirs.
    const theirs = (error as NodeJS.ErrnoException).code === 'EEXIST' ? readKey(file) : undefined
    if (theirs) return theirs
    throw error
  }
}

function readKey(file: string): StoredKey | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StoredKey
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

export async function devKeySet(dataDir: string) {
  const { publicJwk } = await loadOrCreateDevKey(dataDir)
  return createLocalJWKSet({ keys: [publicJwk] })
}

/** An ID token as Cognito would issue it; `sub` is stable per email so a developer keeps their data. */
export async function signDevToken(dataDir: string, email: string, ttlSeconds = 12 * 3600): Promise<string> {
  const { privateJwk } = await loadOrCreateDevKey(dataDir)
  const key = await importJWK(privateJwk, 'RS256')
  const sub = await stableSub(email)
  return new SignJWT({ token_use: 'id', email, email_verified: true, 'cognito:username': email })
    .setProtectedHeader({ alg: 'RS256', kid: privateJwk.kid!, typ: 'JWT' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_CLIENT_ID)
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(key)
}

export async function stableSub(email: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(email.toLowerCase())),
  )
  const hex = Array.from(digest.slice(0, 16), (b) => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}
