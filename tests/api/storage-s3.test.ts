import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { InvalidKeyError, S3Storage } from '../../src/lib/storage/index.ts'
import { type S3rverHandle, startS3rver } from '../helpers/s3rver.ts'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const newKey = () => `invoices/${randomUUID()}/${randomUUID()}.pdf`
const pdfBytes = () => new Uint8Array(Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(4096)]))

let s3: S3rverHandle
let storage: S3Storage

beforeAll(async () => {
  s3 = await startS3rver()
  storage = new S3Storage({ ...s3.s3Options, timeoutMs: 2_000 })
})

afterAll(async () => {
  storage.destroy()
  await s3.close()
})

describe('S3Storage against s3rver', () => {
  test('when an object is put, then exists is true and get answers the same bytes', async () => {
    const key = newKey()
    const body = pdfBytes()
    await storage.put(key, body, 'application/pdf')

    expect(await storage.exists(key)).toBe(true)
    const read = await storage.get(key)
    expect(read).not.toBeNull()
    expect(sha256(read!)).toBe(sha256(body))
  })

  test('when an object was never put, then exists is false and get is null', async () => {
    const key = newKey()
    expect(await storage.exists(key)).toBe(false)
    expect(await storage.get(key)).toBeNull()
  })

  test('when an object is put, then the bucket records the given content type', async () => {
    const key = newKey()
    await storage.put(key, pdfBytes(), 'application/pdf')
    const client = new S3Client({ ...s3.s3Options })
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }))
      expect(head.ContentType).toBe('application/pdf')
    } finally {
      client.destroy()
    }
  })

  test('when the presigned link is fetched, then it downloads the same bytes as an attachment', async () => {
    const key = newKey()
    const body = pdfBytes()
    await storage.put(key, body, 'application/pdf')
    const before = Date.now()

    const { url, expiresAt } = await storage.signedDownloadUrl(key, {
      filename: 'INV-0001.pdf',
      ttlSeconds: 900,
    })

    expect(expiresAt.getTime()).toBeGreaterThan(before + 899_000)
    expect(expiresAt.getTime()).toBeLessThanOrEqual(before + 900_000)
    const response = await fetch(url)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/pdf')
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="INV-0001.pdf"')
    expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(sha256(body))
  })

  test('when the presigned link has expired, then the bucket refuses it', async () => {
    const key = newKey()
    await storage.put(key, pdfBytes(), 'application/pdf')
    const { url } = await storage.signedDownloadUrl(key, { filename: 'INV-0002.pdf', ttlSeconds: 1 })

    await Bun.sleep(1_500)

    const response = await fetch(url)
    expect(response.status).toBe(403)
    expect(await response.text()).toContain('Request has expired')
  })

  test('when a key tries to leave its prefix, then put refuses it before any request', async () => {
    await expect(storage.put('../outside.pdf', pdfBytes(), 'application/pdf')).rejects.toBeInstanceOf(
      InvalidKeyError,
    )
    await expect(storage.put('/absolute.pdf', pdfBytes(), 'application/pdf')).rejects.toBeInstanceOf(
      InvalidKeyError,
    )
  })

  test('when the bucket does not exist, then check throws', async () => {
    const missing = new S3Storage({ ...s3.s3Options, bucket: 'no-such-bucket', timeoutMs: 2_000 })
    try {
      await expect(missing.check()).rejects.toThrow()
    } finally {
      missing.destroy()
    }
  })

  test('when s3rver stops, then check and put fail fast, and both recover after a restart', async () => {
    const key = newKey()
    const body = pdfBytes()
    await storage.put(key, body, 'application/pdf')
    await storage.check()

    await s3.stop()
    try {
      await expect(storage.check()).rejects.toThrow()
      const started = Date.now()
      await expect(storage.put(newKey(), body, 'application/pdf')).rejects.toThrow()
      expect(Date.now() - started).toBeLessThan(2_500)
    } finally {
      await s3.restart()
    }

    await storage.check()
    expect(sha256((await storage.get(key))!)).toBe(sha256(body))
  })
})

describe('S3Storage against a server that accepts connections and never answers', () => {
  let hung: Server
  const sockets = new Set<Socket>()
  let endpoint: string

  beforeAll(async () => {
    hung = createServer((socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    })
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve))
    endpoint = `http://127.0.0.1:${(hung.address() as { port: number }).port}`
  })

  afterAll(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => hung.close(resolve))
  })

  test('when put and check hang, then each rejects once its timeout has passed, not minutes later', async () => {
    const stuck = new S3Storage({ ...s3.s3Options, endpoint, timeoutMs: 500 })
    const timed = async (call: () => Promise<unknown>) => {
      const started = Date.now()
      await expect(call()).rejects.toThrow()
      return Date.now() - started
    }
    try {
      for (const elapsed of [
        await timed(() => stuck.put(newKey(), pdfBytes(), 'application/pdf')),
        await timed(() => stuck.check()),
      ]) {
        expect(elapsed).toBeGreaterThanOrEqual(400)
        expect(elapsed).toBeLessThan(1_500)
      }
    } finally {
      stuck.destroy()
    }
  })
})
