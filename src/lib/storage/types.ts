export interface SignedUrl {
  url: string
  expiresAt: Date
}

export interface SignedUrlOptions {
  /** The name the browser saves the download as, e.g. `INV-0001.pdf`. */
  filename: string
  ttlSeconds: number
}

/** One object as a listing gives it. */
export interface StoredObject {
  key: string
  /** Bytes. */
  size: number
  lastModified: Date
}

export interface ObjectStorage {
  readonly kind: 's3' | 'local'
  put(key: string, body: Uint8Array, contentType: string): Promise<void>
  /** False when the object is missing; throws when the store cannot be reached. */
  exists(key: string): Promise<boolean>
  /** Null when the object is missing. */
  get(key: string): Promise<Uint8Array | null>
  signedDownloadUrl(key: string, opts: SignedUrlOptions): Promise<SignedUrl>
  /** Readiness probe: resolves when the store can be written to, throws otherwise. */
  check(): Promise<void>
  /**
   * Every object whose key starts with `prefix` (e.g. `invoices/`), fetched page by page as it is iterated;
   * objects written or removed meanwhile may or may not appear. Keys this store would not accept (see
   * `isValidKey`) are included where the store holds any (S3); local temp files are not.
   */
  list(prefix: string): AsyncIterable<StoredObject>
  /** Removes the object; a missing one is no error. */
  delete(key: string): Promise<void>
}

const KEY_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const MAX_KEY_LENGTH = 512

/**
 * Keys are `/`-separated segments of `[A-Za-z0-9._-]` that do not start with a dot: no absolute paths,
 * no `.`/`..`, no empty segments, nothing a file system or a URL would reinterpret.
 */
export function isValidKey(key: string): boolean {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) return false
  return key.split('/').every((segment) => KEY_SEGMENT.test(segment))
}

export function assertValidKey(key: string): void {
  if (!isValidKey(key)) throw new InvalidKeyError(key)
}

export class InvalidKeyError extends Error {
  constructor(key: string) {
    super(`Invalid object key: ${JSON.stringify(key.slice(0, 100))}`)
    this.name = 'InvalidKeyError'
  }
}

export function assertValidTtl(ttlSeconds: number): void {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 604_800) {
    throw new RangeError(`ttlSeconds must be an integer from 1 to 604800, got ${ttlSeconds}`)
  }
}
