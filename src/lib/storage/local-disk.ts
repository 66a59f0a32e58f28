import { randomUUID } from 'node:crypto'
import type { Dirent } from 'node:fs'
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { signLink, verifyLink } from './signing.ts'
import {
  assertValidKey,
  assertValidTtl,
  isValidKey,
  type ObjectStorage,
  type SignedUrl,
  type SignedUrlOptions,
  type StoredObject,
} from './types.ts'

export interface LocalDiskStorageOptions {
  dataDir: string
  /** Where the API is reachable from clients, e.g. `http://localhost:3000`; links point at `/files/…`. */
  publicBaseUrl: string
  /** HMAC key for download links (see `loadOrCreateSecret`). */
  secret: Uint8Array
  now?: () => Date
}

export interface LinkQuery {
  expires?: string | undefined
  filename?: string | undefined
  signature?: string | undefined
}

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT'

/**
 * Objects live under `<dataDir>/objects/<key>`. The content type is not kept: every object is served as
 * `application/pdf`, the only type the service stores.
 */
export class LocalDiskStorage implements ObjectStorage {
  readonly kind = 'local' as const
  readonly root: string
  private readonly baseUrl: string
  private readonly secret: Uint8Array
  readonly now: () => Date

  constructor(opts: LocalDiskStorageOptions) {
    if (opts.secret.length < 32) throw new Error('LocalDiskStorage needs a secret of at least 32 bytes')
    this.root = join(opts.dataDir, 'objects')
    this.baseUrl = opts.publicBaseUrl.replace(/\/+$/, '')
    this.secret = opts.secret
    this.now = opts.now ?? (() => new Date())
  }

  async put(key: string, body: Uint8Array, _contentType: string): Promise<void> {
    const path = this.pathOf(key)
    await mkdir(dirname(path), { recursive: true })
    // Temp files start with a dot, which no valid key segment does, so they can never be served.
    const temp = join(dirname(path), `.tmp-${randomUUID()}`)
    try {
      const file = await open(temp, 'wx', 0o600)
      try {
        await file.writeFile(body)
        await file.sync()
      } finally {
        await file.close()
      }
      await rename(temp, path)
    } catch (error) {
      await rm(temp, { force: true })
      throw error
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile()
    } catch (error) {
      if (isMissing(error)) return false
      throw error
    }
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(this.pathOf(key)))
    } catch (error) {
      if (isMissing(error)) return null
      throw error
    }
  }

  async signedDownloadUrl(key: string, { filename, ttlSeconds }: SignedUrlOptions): Promise<SignedUrl> {
    assertValidKey(key)
    assertValidTtl(ttlSeconds)
    const expiresAt = Math.floor(this.now().getTime() / 1000) + ttlSeconds
    const expires = String(expiresAt)
    const signature = signLink(this.secret, { key, expires, filename })
    const query = new URLSearchParams({ expires, filename, signature })
    const path = key.split('/').map(encodeURIComponent).join('/')
    return { url: `${this.baseUrl}/files/${path}?${query}`, expiresAt: new Date(expiresAt * 1000) }
  }

  /** True only when the link for `key` is well formed, unexpired and signed with this storage's secret. */
  verify(key: string, query: LinkQuery): boolean {
    const { expires, filename, signature } = query
    if (expires === undefined || filename === undefined || signature === undefined) return false
    const nowSeconds = Math.floor(this.now().getTime() / 1000)
    return verifyLink(this.secret, { key, expires, filename, signature }, nowSeconds)
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true })
    const probe = join(this.root, `.probe-${randomUUID()}`)
    const file = await open(probe, 'wx', 0o600)
    try {
      await file.writeFile('ok')
    } finally {
      await file.close()
      await rm(probe, { force: true })
    }
  }

  /**
   * Walks the folder the prefix names (`invoices/` walks `<root>/invoices`; `inv` walks the root and filters),
   * folder by folder, names sorted. Symbolic links and names that are no valid key segment (temp files, probes)
   * are skipped; a file removed while the walk passes is left out.
   */
  async *list(prefix: string): AsyncIterable<StoredObject> {
    const folder = prefix.slice(0, prefix.lastIndexOf('/') + 1)
    if (folder !== '') assertValidKey(folder.slice(0, -1))
    yield* this.walk(folder, prefix)
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key))
    } catch (error) {
      if (!isMissing(error)) throw error
    }
  }

  private async *walk(folder: string, prefix: string): AsyncIterable<StoredObject> {
    let entries: Dirent[]
    try {
      entries = await readdir(join(this.root, folder), { withFileTypes: true })
    } catch (error) {
      if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return
      throw error
    }
    const names = entries.filter((e) => isValidKey(e.name)).sort((a, b) => (a.name < b.name ? -1 : 1))
    for (const entry of names) {
      const key = `${folder}${entry.name}`
      if (entry.isDirectory()) {
        if (`${key}/`.startsWith(prefix)) yield* this.walk(`${key}/`, prefix)
      } else if (entry.isFile() && key.startsWith(prefix)) {
        try {
          const info = await stat(join(this.root, key))
          yield { key, size: info.size, lastModified: info.mtime }
        } catch (error) {
          if (!isMissing(error)) throw error
        }
      }
    }
  }

  private pathOf(key: string): string {
    assertValidKey(key)
    return join(this.root, key)
  }
}
