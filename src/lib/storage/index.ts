import { LocalDiskStorage } from './local-disk.ts'
import { S3Storage, type S3StorageOptions } from './s3.ts'
import { loadOrCreateSecret } from './signing.ts'

export { type LinkQuery, LocalDiskStorage, type LocalDiskStorageOptions } from './local-disk.ts'
export { S3Storage, type S3StorageOptions } from './s3.ts'
export { contentDisposition, loadOrCreateSecret, SECRET_FILE } from './signing.ts'
export {
  assertValidKey,
  InvalidKeyError,
  isValidKey,
  type ObjectStorage,
  type SignedUrl,
  type SignedUrlOptions,
  type StoredObject,
} from './types.ts'

export type Storage = S3Storage | LocalDiskStorage

export interface StorageConfig {
  /** Chooses S3 when set; otherwise objects go to `<dataDir>/objects`. */
  s3?: Omit<S3StorageOptions, 'timeoutMs'> | undefined
  dataDir: string
  /** Base of the local-disk download links, e.g. `http://localhost:3000`. */
  publicBaseUrl: string
  /** Bound on each S3 call, retries included; default 5000. */
  timeoutMs?: number | undefined
}

const DEFAULT_TIMEOUT_MS = 5_000

/** S3 when a bucket is configured, else local disk with its signing key kept in `<dataDir>`. */
export async function createStorage(config: StorageConfig): Promise<Storage> {
  if (config.s3?.bucket) {
    return new S3Storage({ ...config.s3, timeoutMs: config.timeoutMs ?? DEFAULT_TIMEOUT_MS })
  }
  const secret = await loadOrCreateSecret(config.dataDir)
  return new LocalDiskStorage({ dataDir: config.dataDir, publicBaseUrl: config.publicBaseUrl, secret })
}
