import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { contentDisposition } from './signing.ts'
import {
  assertValidKey,
  assertValidTtl,
  type ObjectStorage,
  type SignedUrl,
  type SignedUrlOptions,
  type StoredObject,
} from './types.ts'

export interface S3StorageOptions {
  bucket: string
  endpoint?: string | undefined
  forcePathStyle?: boolean | undefined
  /** Defaults to `us-east-1`. */
  region?: string | undefined
  /** Defaults to the SDK's provider chain (environment, shared files, instance role). */
  credentials?:
    | { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined }
    | undefined
  serverSideEncryption?: 'AES256' | 'aws:kms' | undefined
  /** Upper bound for one call, retries included. */
  timeoutMs: number
  /** Attempts per call, first one included; 1–3, default 2. */
  maxAttempts?: number | undefined
  /** Keys per ListObjectsV2 page; 1–1,000, default 1,000. */
  listPageSize?: number | undefined
}

const LIST_PAGE_SIZE = 1000

const isNotFound = (error: unknown) =>
  error instanceof S3ServiceException &&
  (error.name === 'NotFound' || error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404)

export class S3Storage implements ObjectStorage {
  readonly kind = 's3' as const
  readonly bucket: string
  private readonly client: S3Client
  private readonly timeoutMs: number
  private readonly serverSideEncryption: 'AES256' | 'aws:kms' | undefined
  private readonly listPageSize: number

  constructor(opts: S3StorageOptions) {
    const maxAttempts = Math.min(Math.max(opts.maxAttempts ?? 2, 1), 3)
    const attemptMs = Math.ceil(opts.timeoutMs / maxAttempts)
    this.bucket = opts.bucket
    this.timeoutMs = opts.timeoutMs
    this.serverSideEncryption = opts.serverSideEncryption
    this.listPageSize = Math.min(Math.max(opts.listPageSize ?? LIST_PAGE_SIZE, 1), LIST_PAGE_SIZE)
    this.client = new S3Client({
      region: opts.region ?? 'us-east-1',
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle ?? false,
      credentials: opts.credentials,
      maxAttempts,
      // Each attempt gets its share of the budget, so a retry still fits; the AbortSignal passed to every
      // `send` bounds the whole call. Without throwOnRequestTimeout the handler only logs a warning.
      requestHandler: {
        connectionTimeout: attemptMs,
        requestTimeout: attemptMs,
        throwOnRequestTimeout: true,
      },
    })
  }

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    assertValidKey(key)
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      Body: body,
      ContentType: contentType,
      ContentLength: body.byteLength,
      ServerSideEncryption: this.serverSideEncryption,
    })
    await this.client.send(command, this.options())
  }

  async exists(key: string): Promise<boolean> {
    assertValidKey(key)
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), this.options())
      return true
    } catch (error) {
      if (isNotFound(error)) return false
      throw error
    }
  }

  async get(key: string): Promise<Uint8Array | null> {
    assertValidKey(key)
    try {
      const command = new GetObjectCommand({ Bucket: this.bucket, Key: key })
      const out = await this.client.send(command, this.options())
      if (!out.Body) return new Uint8Array()
      return await out.Body.transformToByteArray()
    } catch (error) {
      if (isNotFound(error)) return null
      throw error
    }
  }

  async signedDownloadUrl(key: string, { filename, ttlSeconds }: SignedUrlOptions): Promise<SignedUrl> {
    assertValidKey(key)
    assertValidTtl(ttlSeconds)
    // Whole seconds, because X-Amz-Date has no fraction: the link then expires exactly at `expiresAt`.
    const signingDate = new Date(Math.floor(Date.now() / 1000) * 1000)
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentDisposition: contentDisposition(filename),
      ResponseContentType: 'application/pdf',
    })
    const url = await getSignedUrl(this.client, command, { expiresIn: ttlSeconds, signingDate })
    return { url, expiresAt: new Date(signingDate.getTime() + ttlSeconds * 1000) }
  }

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), this.options())
  }

  /** ListObjectsV2, a page of up to `listPageSize` keys per request (each bounded like any call), in key order. */
  async *list(prefix: string): AsyncIterable<StoredObject> {
    let token: string | undefined
    do {
      const command = new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: prefix,
        MaxKeys: this.listPageSize,
        ContinuationToken: token,
      })
      const page = await this.client.send(command, this.options())
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue
        yield { key: object.Key, size: object.Size ?? 0, lastModified: object.LastModified ?? new Date() }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key)
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), this.options())
    } catch (error) {
      if (!isNotFound(error)) throw error
    }
  }

  /** Closes pooled connections; call on shutdown. */
  destroy(): void {
    this.client.destroy()
  }

  private options() {
    return { abortSignal: AbortSignal.timeout(this.timeoutMs) }
  }
}
