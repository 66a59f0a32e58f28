import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  contentDisposition,
  createStorage,
  InvalidKeyError,
  LocalDiskStorage,
  loadOrCreateSecret,
  SECRET_FILE,
} from '../../src/lib/storage/index.ts'

const BAD_KEYS = [
  '',
  '../x.pdf',
  'a/../../x.pdf',
  '/etc/passwd',
  'a//b.pdf',
  'a\\b.pdf',
  '.hidden',
  'a/./b',
  'a/',
]

let dataDir: string
let clock: Date
let storage: LocalDiskStorage
const secret = new Uint8Array(randomBytes(32))

const linkParts = (url: string) => {
  const parsed = new URL(url)
  const key = parsed.pathname.replace(/^\/files\//, '')
  return {
    key,
    query: {
      expires: parsed.searchParams.get('expires') ?? undefined,
      filename: parsed.searchParams.get('filename') ?? undefined,
      signature: parsed.searchParams.get('signature') ?? undefined,
    },
  }
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'storage-local-'))
  clock = new Date('2026-01-15T12:00:00.000Z')
  storage = new LocalDiskStorage({ dataDir, publicBaseUrl: 'http://api.test/', secret, now: () => clock })
})

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true })
})

describe('LocalDiskStorage objects', () => {
  test('when an object is put, then it is stored under objects/<key> and read back unchanged', async () => {
    const body = new Uint8Array(randomBytes(10_000))
    await storage.put('invoices/u1/a.pdf', body, 'application/pdf')

    expect(await storage.exists('invoices/u1/a.pdf')).toBe(true)
    expect(await storage.get('invoices/u1/a.pdf')).toEqual(body)
    expect(new Uint8Array(await readFile(join(dataDir, 'objects/invoices/u1/a.pdf')))).toEqual(body)
  })

  test('when an object is missing, then exists is false and get is null', async () => {
    expect(await storage.exists('invoices/none.pdf')).toBe(false)
    expect(await storage.get('invoices/none.pdf')).toBeNull()
  })

  test('when an object is overwritten, then the new bytes replace the old and no temp file remains', async () => {
    await storage.put('k/a.pdf', new TextEncoder().encode('old'), 'application/pdf')
    await storage.put('k/a.pdf', new TextEncoder().encode('new'), 'application/pdf')

    expect(new TextDecoder().decode((await storage.get('k/a.pdf'))!)).toBe('new')
    expect(await readdir(join(dataDir, 'objects/k'))).toEqual(['a.pdf'])
  })

  test('when readers race with writers, then every read sees one whole version, never a partial file', async () => {
    const size = 2 * 1024 * 1024
    const versions = [new Uint8Array(size).fill(0x61), new Uint8Array(size).fill(0x62)]
    await storage.put('race.pdf', versions[0]!, 'application/pdf')

    const reads: Uint8Array[] = []
    let writing = true
    const reader = (async () => {
      while (writing) reads.push((await storage.get('race.pdf'))!)
    })()
    for (let i = 1; i <= 20; i++) await storage.put('race.pdf', versions[i % 2]!, 'application/pdf')
    writing = false
    await reader

    expect(reads.length).toBeGreaterThan(0)
    for (const read of reads) {
      expect(read.length).toBe(size)
      expect(read.indexOf(read[0] === 0x61 ? 0x62 : 0x61)).toBe(-1)
    }
  })

  test('when the final rename fails, then put rejects and leaves no temp file behind', async () => {
    await mkdir(join(dataDir, 'objects/k/taken.pdf'), { recursive: true })

    await expect(storage.put('k/taken.pdf', new Uint8Array([1]), 'application/pdf')).rejects.toThrow()
    expect(await readdir(join(dataDir, 'objects/k'))).toEqual(['taken.pdf'])
  })

  test('when a key could escape the objects directory, then every operation refuses it', async () => {
    for (const key of BAD_KEYS) {
      await expect(storage.put(key, new Uint8Array([1]), 'application/pdf')).rejects.toBeInstanceOf(
        InvalidKeyError,
      )
      await expect(storage.get(key)).rejects.toBeInstanceOf(InvalidKeyError)
      await expect(storage.exists(key)).rejects.toBeInstanceOf(InvalidKeyError)
      await expect(
        storage.signedDownloadUrl(key, { filename: 'a.pdf', ttlSeconds: 60 }),
      ).rejects.toBeInstanceOf(InvalidKeyError)
    }
    expect(await readdir(dataDir)).toEqual([])
  })

  test('when the data directory is writable, then check passes; when it is a file, then check throws', async () => {
    await storage.check()
    expect(await readdir(join(dataDir, 'objects'))).toEqual([])

    const notADir = join(dataDir, 'plain-file')
    await writeFile(notADir, 'x')
    const broken = new LocalDiskStorage({ dataDir: notADir, publicBaseUrl: 'http://api.test', secret })
    await expect(broken.check()).rejects.toThrow()
  })
})

describe('LocalDiskStorage signed links', () => {
  test('when a link is made, then it points at the API with expires, filename and a hex signature', async () => {
    const { url, expiresAt } = await storage.signedDownloadUrl('invoices/u1/a.pdf', {
      filename: 'INV-0001.pdf',
      ttlSeconds: 900,
    })

    const parsed = new URL(url)
    expect(`${parsed.origin}${parsed.pathname}`).toBe('http://api.test/files/invoices/u1/a.pdf')
    expect(parsed.searchParams.get('expires')).toBe(String(clock.getTime() / 1000 + 900))
    expect(parsed.searchParams.get('filename')).toBe('INV-0001.pdf')
    expect(parsed.searchParams.get('signature')).toMatch(/^[0-9a-f]{64}$/)
    expect(expiresAt.getTime()).toBe(clock.getTime() + 900_000)
  })

  test('when the link is untouched and unexpired, then it verifies, up to and including its last second', async () => {
    const { url } = await storage.signedDownloadUrl('a/b.pdf', { filename: 'INV-0001.pdf', ttlSeconds: 60 })
    const { key, query } = linkParts(url)

    expect(storage.verify(key, query)).toBe(true)
    clock = new Date(clock.getTime() + 60_000)
    expect(storage.verify(key, query)).toBe(true)
    clock = new Date(clock.getTime() + 1_000)
    expect(storage.verify(key, query)).toBe(false)
  })

  test('when any part of the link is changed, then it does not verify', async () => {
    const { url } = await storage.signedDownloadUrl('a/b.pdf', { filename: 'INV-0001.pdf', ttlSeconds: 60 })
    const { key, query } = linkParts(url)
    const flipped = `${query.signature!.slice(0, -1)}${query.signature!.endsWith('0') ? '1' : '0'}`

    expect(storage.verify('a/c.pdf', query)).toBe(false)
    expect(storage.verify(key, { ...query, filename: 'INV-0002.pdf' })).toBe(false)
    expect(storage.verify(key, { ...query, expires: String(Number(query.expires) + 3600) })).toBe(false)
    expect(storage.verify(key, { ...query, expires: `0${query.expires}` })).toBe(false)
    expect(storage.verify(key, { ...query, signature: flipped })).toBe(false)
    expect(storage.verify(key, { ...query, signature: query.signature!.toUpperCase() })).toBe(false)
    expect(storage.verify(key, { ...query, signature: query.signature!.slice(0, 32) })).toBe(false)
    expect(storage.verify(key, { ...query, signature: 'zz'.repeat(32) })).toBe(false)
    expect(storage.verify(key, { ...query, signature: undefined })).toBe(false)
    expect(storage.verify('../a/b.pdf', query)).toBe(false)
  })

  test('when the link was signed with another secret, then it does not verify', async () => {
    const other = new LocalDiskStorage({
      dataDir,
      publicBaseUrl: 'http://api.test',
      secret: new Uint8Array(randomBytes(32)),
      now: () => clock,
    })
    const { url } = await other.signedDownloadUrl('a/b.pdf', { filename: 'INV-0001.pdf', ttlSeconds: 60 })
    const { key, query } = linkParts(url)

    expect(other.verify(key, query)).toBe(true)
    expect(storage.verify(key, query)).toBe(false)
  })

  test('when the lifetime is not a positive whole number of seconds up to a week, then no link is made', async () => {
    for (const ttlSeconds of [0, -1, 1.5, 604_801]) {
      await expect(
        storage.signedDownloadUrl('a/b.pdf', { filename: 'a.pdf', ttlSeconds }),
      ).rejects.toBeInstanceOf(RangeError)
    }
  })

  test('when the filename is plain ASCII, then the disposition quotes it; otherwise it adds filename*', () => {
    expect(contentDisposition('INV-0001.pdf')).toBe('attachment; filename="INV-0001.pdf"')
    expect(contentDisposition('СЧЁТ-1 "a".pdf')).toBe(
      `attachment; filename="____-1 _a_.pdf"; filename*=UTF-8''%D0%A1%D0%A7%D0%81%D0%A2-1%20%22a%22.pdf`,
    )
  })
})

describe('loadOrCreateSecret', () => {
  test('when no key file exists, then 32 random bytes are written with mode 0600 and reused later', async () => {
    const first = await loadOrCreateSecret(dataDir)
    const second = await loadOrCreateSecret(dataDir)

    expect(first.length).toBe(32)
    expect(second).toEqual(first)
    expect((await stat(join(dataDir, SECRET_FILE))).mode & 0o777).toBe(0o600)
    expect(await readdir(dataDir)).toEqual([SECRET_FILE])
  })

  test('when the key file is too short, then it refuses to use it', async () => {
    await writeFile(join(dataDir, SECRET_FILE), 'short')
    await expect(loadOrCreateSecret(dataDir)).rejects.toThrow(/expected at least 32/)
  })
})

describe('createStorage', () => {
  test('when no bucket is configured, then it answers local disk signing with the key kept in the data dir', async () => {
    const local = await createStorage({ dataDir, publicBaseUrl: 'http://api.test' })
    expect(local.kind).toBe('local')
    expect(local).toBeInstanceOf(LocalDiskStorage)
    expect(await readdir(dataDir)).toEqual([SECRET_FILE])

    const again = await createStorage({ dataDir, publicBaseUrl: 'http://api.test' })
    const { url } = await local.signedDownloadUrl('a/b.pdf', { filename: 'a.pdf', ttlSeconds: 60 })
    const { key, query } = linkParts(url)
    expect(again.kind === 'local' && again.verify(key, query)).toBe(true)
  })

  test('when a bucket is configured, then it answers S3', async () => {
    const s3 = await createStorage({ dataDir, publicBaseUrl: 'http://api.test', s3: { bucket: 'pdfs' } })
    expect(s3.kind).toBe('s3')
    expect(await readdir(dataDir)).toEqual([])
    if (s3.kind === 's3') s3.destroy()
  })
})
