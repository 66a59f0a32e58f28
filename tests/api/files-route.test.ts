import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Elysia } from 'elysia'
import { LocalDiskStorage } from '../../src/lib/storage/index.ts'
import { filesModule } from '../../src/modules/files/index.ts'
import { AppError } from '../../src/shared/errors.ts'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

let dataDir: string
let clock: Date
let storage: LocalDiskStorage
let app: { handle(request: Request): Promise<Response> }
const body = new Uint8Array(Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(2048)]))

const get = (url: string) => {
  const { pathname, search } = new URL(url)
  return app.handle(new Request(`http://localhost${pathname}${search}`))
}
const linkFor = async (key: string, filename = 'INV-0001.pdf', ttlSeconds = 900) =>
  (await storage.signedDownloadUrl(key, { filename, ttlSeconds })).url
const withParam = (url: string, name: string, value: string) => {
  const parsed = new URL(url)
  parsed.searchParams.set(name, value)
  return parsed.toString()
}
const expectForbidden = async (response: Response) => {
  expect(response.status).toBe(403)
  expect(await response.json()).toMatchObject({ error: { code: 'FORBIDDEN' } })
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'files-route-'))
  clock = new Date('2026-01-15T12:00:00.000Z')
  storage = new LocalDiskStorage({
    dataDir,
    publicBaseUrl: 'http://localhost',
    secret: new Uint8Array(randomBytes(32)),
    now: () => clock,
  })
  await storage.put('invoices/u1/doc.pdf', body, 'application/pdf')
  await storage.put('invoices/u2/other.pdf', new TextEncoder().encode('someone else'), 'application/pdf')
  app = new Elysia()
    .onError(({ error, set }) => {
      if (!(error instanceof AppError)) return
      set.status = error.status
      return { error: { code: error.code, message: error.message } }
    })
    .use(filesModule(storage))
})

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true })
})

describe('GET /files/*', () => {
  test('when the link is valid, then it answers the bytes as a private PDF attachment', async () => {
    const response = await get(await linkFor('invoices/u1/doc.pdf', 'INV-0001.pdf', 900))

    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/pdf')
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="INV-0001.pdf"')
    expect(response.headers.get('cache-control')).toBe('private, max-age=900')
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(body)
  })

  test('when the signature, filename or expiry is tampered with, then it answers 403', async () => {
    const url = await linkFor('invoices/u1/doc.pdf')
    const signature = new URL(url).searchParams.get('signature')!
    const flipped = `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`

    await expectForbidden(await get(withParam(url, 'signature', flipped)))
    await expectForbidden(await get(withParam(url, 'filename', 'evil.pdf')))
    await expectForbidden(await get(withParam(url, 'expires', String(clock.getTime() / 1000 + 86_400))))
  })

  test("when a valid signature is replayed on another key, then it answers 403 and not that key's bytes", async () => {
    const url = await linkFor('invoices/u1/doc.pdf')
    const response = await get(url.replace('invoices/u1/doc.pdf', 'invoices/u2/other.pdf'))

    await expectForbidden(response)
  })

  test('when the link is malformed or tries to leave the objects directory, then it answers 403', async () => {
    const url = await linkFor('invoices/u1/doc.pdf')
    const { search } = new URL(url)

    await expectForbidden(await get('http://localhost/files/invoices/u1/doc.pdf'))
    await expectForbidden(await get(withParam(url, 'expires', 'soon')))
    await expectForbidden(
      await get(`http://localhost/files/invoices%2F..%2F..%2Fstorage-signing.key${search}`),
    )
    await expectForbidden(await get(`http://localhost/files/${search}`))
  })

  test('when the link has expired, then it answers 403', async () => {
    const url = await linkFor('invoices/u1/doc.pdf', 'INV-0001.pdf', 60)
    clock = new Date(clock.getTime() + 61_000)
    try {
      await expectForbidden(await get(url))
    } finally {
      clock = new Date('2026-01-15T12:00:00.000Z')
    }
  })

  test('when the signature is valid but the object is missing, then it answers 404', async () => {
    const response = await get(await linkFor('invoices/u1/gone.pdf'))

    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ error: { code: 'NOT_FOUND' } })
  })
})
