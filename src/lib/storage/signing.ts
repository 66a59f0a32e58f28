import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isValidKey } from './types.ts'

export const SECRET_FILE = 'storage-signing.key'
const SECRET_BYTES = 32
const SIGNATURE = /^[0-9a-f]{64}$/
const EXPIRES = /^[1-9][0-9]{0,11}$/

export interface LinkParams {
  key: string
  /** Unix seconds, exactly as it appears in the link. */
  expires: string
  filename: string
}

/** Hex HMAC-SHA256 over the key, the expiry and the filename; keys and expiries cannot hold a newline. */
export function signLink(secret: Uint8Array, { key, expires, filename }: LinkParams): string {
  return createHmac('sha256', secret).update(`${key}\n${expires}\n${filename}`).digest('hex')
}

/** True only for a well-formed, unexpired link whose signature matches; compares in constant time. */
export function verifyLink(
  secret: Uint8Array,
  params: LinkParams & { signature: string },
  nowSeconds: number,
): boolean {
  const { key, expires, filename, signature } = params
  if (!isValidKey(key) || !EXPIRES.test(expires) || !SIGNATURE.test(signature)) return false
  if (filename.length === 0 || filename.length > 255) return false
  if (Number(expires) < nowSeconds) return false
  const expected = Buffer.from(signLink(secret, { key, expires, filename }), 'hex')
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'))
}

const PLAIN_FILENAME = /^[\x20-\x7e]+$/

/** `attachment; filename="…"`, with an RFC 6266 `filename*` when the name is not plain ASCII. */
export function contentDisposition(filename: string): string {
  if (PLAIN_FILENAME.test(filename) && !/["\\]/.test(filename)) return `attachment; filename="${filename}"`
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, '_')
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`
}

/** Reads `<dataDir>/storage-signing.key`, creating it (32 random bytes, mode 0600) on first use. */
export async function loadOrCreateSecret(dataDir: string): Promise<Uint8Array> {
  const path = join(dataDir, SECRET_FILE)
  await mkdir(dataDir, { recursive: true })
  // Written aside and hard-linked into place, so a concurrent reader never sees a partial key.
  const temp = `${path}.${randomUUID()}.tmp`
  await writeFile(temp, randomBytes(SECRET_BYTES), { flag: 'wx', mode: 0o600 })
  try {
    await link(temp, path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  } finally {
    await rm(temp, { force: true })
  }
  const secret = new Uint8Array(await readFile(path))
  if (secret.length < SECRET_BYTES) {
    throw new Error(`${path} holds ${secret.length} bytes; expected at least ${SECRET_BYTES}`)
  }
  return secret
}
