import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { link, lstat, open, readdir, rm, rmdir, stat, unlink } from 'node:fs/promises'
import path from 'node:path'
import { type Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import type { S3Config } from '../../config'
import { BACKUP_PREFIX, type ParsedBackupPath, parseBackupPath } from './names'

/** A backup found where backups are kept. */
export interface StoredBackup extends ParsedBackupPath {
  /** The S3 key (`backups/…`) or the file's path. */
  location: string
}

/** Where backups are kept: a bucket under `backups/`, or a folder. */
export interface BackupStore {
  /** `s3://bucket/backups/…` or the file's path. */
  describe(relative: string): string
  exists(relative: string): Promise<boolean>
  /** Moves or uploads the finished dump `file` to `relative`. */
  save(file: string, relative: string, details: { contentType: string; sha256: string }): Promise<void>
  /** Every backup named as db:backup names them; nothing else. */
  list(): Promise<StoredBackup[]>
  remove(backup: StoredBackup): Promise<void>
  close(): void
}

/** SHA-256 of a file, hex. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

const isNotFound = (error: unknown) =>
  error instanceof S3ServiceException &&
  (error.name === 'NotFound' || error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404)

/** Parts of a multipart upload; S3 takes at most 10,000, so up to 640 GB. */
const PART_BYTES = 64 * 1024 * 1024
const PARTS_AT_ONCE = 3
/** Bound on one request (a part of 64 MB included). */
const REQUEST_TIMEOUT_MS = 10 * 60_000

export function s3Client(settings: S3Config): S3Client {
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    credentials: settings.credentials,
    maxAttempts: 3,
  })
}

const signal = () => ({ abortSignal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })

/** Backups in a bucket, under `backups/` only: nothing outside that prefix is listed, written or deleted. */
export class BucketStore implements BackupStore {
  private readonly client: S3Client
  private readonly partBytes: number

  /** `partBytes`: files above it go up in parts of that size (S3 takes parts of 5 MiB or more). */
  constructor(
    private readonly settings: S3Config,
    options: { partBytes?: number } = {},
  ) {
    this.client = s3Client(settings)
    this.partBytes = Math.max(options.partBytes ?? PART_BYTES, 5 * 1024 * 1024)
  }

  private key(relative: string): string {
    const key = `${BACKUP_PREFIX}${relative}`
    if (!key.startsWith(BACKUP_PREFIX) || relative.includes('..')) throw new Error(`not a backup key: ${key}`)
    return key
  }

  describe(relative: string): string {
    return `s3://${this.settings.bucket}/${this.key(relative)}`
  }

  async exists(relative: string): Promise<boolean> {
    try {
      await this.client.send(
        new HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.key(relative) }),
        signal(),
      )
      return true
    } catch (error) {
      if (isNotFound(error)) return false
      throw error
    }
  }

  async save(file: string, relative: string, details: { contentType: string; sha256: string }) {
    const Key = this.key(relative)
    const Bucket = this.settings.bucket
    const common = {
      Bucket,
      Key,
      ContentType: details.contentType,
      Metadata: { sha256: details.sha256 },
      ServerSideEncryption: this.settings.serverSideEncryption,
    }
    const { size } = await stat(file)
    const handle = await open(file, 'r')
    try {
      const read = async (offset: number, length: number) => {
        const buffer = new Uint8Array(length)
        let filled = 0
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled)
          if (bytesRead === 0) throw new Error(`${file} ended at ${offset + filled} bytes, expected ${size}`)
          filled += bytesRead
        }
        return buffer
      }
      const partBytes = this.partBytes
      if (size <= partBytes) {
        const body = await read(0, size)
        await this.client.send(new PutObjectCommand({ ...common, Body: body, ContentLength: size }), signal())
        return
      }
      const { UploadId } = await this.client.send(new CreateMultipartUploadCommand(common), signal())
      try {
        const count = Math.ceil(size / partBytes)
        const parts: CompletedPart[] = new Array(count)
        let next = 0
        const worker = async () => {
          for (let index = next++; index < count; index = next++) {
            const offset = index * partBytes
            const body = await read(offset, Math.min(partBytes, size - offset))
            const answer = await this.client.send(
              new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: index + 1, Body: body }),
              signal(),
            )
            // Whatever checksum the SDK sent with the part goes back in the completion, as S3 then requires.
            parts[index] = {
              PartNumber: index + 1,
              ETag: answer.ETag,
              ChecksumCRC32: answer.ChecksumCRC32,
              ChecksumCRC32C: answer.ChecksumCRC32C,
              ChecksumCRC64NVME: answer.ChecksumCRC64NVME,
              ChecksumSHA1: answer.ChecksumSHA1,
              ChecksumSHA256: answer.ChecksumSHA256,
            }
          }
        }
        await Promise.all(Array.from({ length: Math.min(PARTS_AT_ONCE, count) }, worker))
        await this.client.send(
          new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }),
          signal(),
        )
      } catch (error) {
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }), signal())
          .catch(() => {})
        throw error
      }
    } finally {
      await handle.close()
    }
  }

  async list(): Promise<StoredBackup[]> {
    const found: StoredBackup[] = []
    let ContinuationToken: string | undefined
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.settings.bucket, Prefix: BACKUP_PREFIX, ContinuationToken }),
        signal(),
      )
      for (const object of page.Contents ?? []) {
        const key = object.Key ?? ''
        if (!key.startsWith(BACKUP_PREFIX)) continue
        const parsed = parseBackupPath(key.slice(BACKUP_PREFIX.length))
        if (parsed) found.push({ ...parsed, location: key })
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (ContinuationToken)
    return found
  }

  async remove(backup: StoredBackup): Promise<void> {
    // Belt and braces: list() returns only such keys.
    if (
      !backup.location.startsWith(BACKUP_PREFIX) ||
      !parseBackupPath(backup.location.slice(BACKUP_PREFIX.length))
    ) {
      throw new Error(`refusing to delete ${backup.location}: not a backup`)
    }
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: backup.location }),
      signal(),
    )
  }

  close(): void {
    this.client.destroy()
  }
}

/** Downloads `key` of `bucket` into `file`; checks the SHA-256 db:backup stored with it, when there is one. */
export async function downloadObject(
  settings: S3Config,
  bucket: string,
  key: string,
  file: string,
): Promise<{ bytes: number }> {
  const client = s3Client(settings)
  try {
    let answer: GetObjectCommandOutput
    try {
      answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), signal())
    } catch (error) {
      if (isNotFound(error)) throw new Error(`s3://${bucket}/${key} does not exist`)
      throw error
    }
    const hash = createHash('sha256')
    let bytes = 0
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk)
        bytes += chunk.length
        done(null, chunk)
      },
    })
    await pipeline(answer.Body as Readable, hashing, createWriteStream(file, { mode: 0o600 }))
    const expected = answer.Metadata?.['sha256']
    const found = hash.digest('hex')
    if (expected && expected !== found) {
      throw new Error(`s3://${bucket}/${key} is damaged: SHA-256 ${found}, stored with ${expected}`)
    }
    return { bytes }
  } finally {
    client.destroy()
  }
}

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT'

/** Backups in a folder, as `DIR/YYYY/MM/DD/<timestamp>-<database>.dump`; other files there are left alone. */
export class FolderStore implements BackupStore {
  constructor(readonly root: string) {}

  describe(relative: string): string {
    return path.join(this.root, relative)
  }

  async exists(relative: string): Promise<boolean> {
    try {
      await lstat(this.describe(relative))
      return true
    } catch (error) {
      if (isMissing(error)) return false
      throw error
    }
  }

  /** `file` was written in the destination's folder; a hard link publishes it only if the name is free. */
  async save(file: string, relative: string): Promise<void> {
    await link(file, this.describe(relative))
    await unlink(file)
  }

  async list(): Promise<StoredBackup[]> {
    const found: StoredBackup[] = []
    const entries = async (directory: string, pattern: RegExp) => {
      try {
        return (await readdir(directory, { withFileTypes: true })).filter(
          (entry) => entry.isDirectory() && pattern.test(entry.name),
        )
      } catch (error) {
        if (isMissing(error)) return []
        throw error
      }
    }
    for (const year of await entries(this.root, /^\d{4}$/)) {
      for (const month of await entries(path.join(this.root, year.name), /^\d{2}$/)) {
        for (const day of await entries(path.join(this.root, year.name, month.name), /^\d{2}$/)) {
          const folder = path.join(this.root, year.name, month.name, day.name)
          for (const file of await readdir(folder, { withFileTypes: true })) {
            if (!file.isFile()) continue
            const relative = `${year.name}/${month.name}/${day.name}/${file.name}`
            const parsed = parseBackupPath(relative)
            if (parsed) found.push({ ...parsed, location: path.join(folder, file.name) })
          }
        }
      }
    }
    return found
  }

  async remove(backup: StoredBackup): Promise<void> {
    const relative = path.relative(this.root, backup.location).split(path.sep).join('/')
    if (relative.startsWith('..') || !parseBackupPath(relative)) {
      throw new Error(`refusing to delete ${backup.location}: not a backup`)
    }
    await rm(backup.location)
    // Empty day, month and year folders go with their last backup.
    let folder = path.dirname(backup.location)
    for (let level = 0; level < 3 && folder.startsWith(this.root) && folder !== this.root; level++) {
      try {
        await rmdir(folder)
      } catch {
        break
      }
      folder = path.dirname(folder)
    }
  }

  close(): void {}
}
