import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { DeleteObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { formatMoney } from '../../src/shared/money'
import { createTestApp, type TestApp } from '../helpers/app'
import { extractPdfText } from '../helpers/pdf-text'
import { S3RVER_CREDENTIALS, type S3rverHandle, startS3rver } from '../helpers/s3rver'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

let s3: S3rverHandle
let client: S3Client
let t: TestApp
beforeAll(async () => {
  s3 = await startS3rver('issuing-test')
  client = new S3Client({ ...s3.s3Options })
  t = await createTestApp({
    S3_BUCKET: s3.bucket,
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    STORAGE_TIMEOUT_MS: '1500',
  })
})
afterAll(async () => {
  await t.close()
  client.destroy()
  await s3.close()
})

type Invoice = {
  id: string
  number: string | null
  status: string
  total: number
  pdf: { sha256: string; size: number } | null
}
type Event = { type: string; data: Record<string, unknown> }

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

async function newDraft(token: string, customerId: string): Promise<Invoice> {
  const items = [{ description: 'Compiler work', quantity: 2, unitPrice: 123_456, taxRate: 10 }]
  const draft = await t.request('/api/v1/invoices', { method: 'POST', token, json: { customerId, items } })
  expect(draft.status).toBe(201)
  return (await draft.json()) as Invoice
}

async function newUserWithDraft() {
  const token = await t.token()
  await t.request('/api/v1/me', {
    method: 'PATCH',
    token,
    json: { defaultCurrency: 'USD', companyName: 'Acme' },
  })
  const customer = await t.request('/api/v1/customers', {
    method: 'POST',
    token,
    json: { name: 'Grace Hopper' },
  })
  const customerId = ((await customer.json()) as { id: string }).id
  const { id: userId } = (await (await t.request('/api/v1/me', { token })).json()) as { id: string }
  return { token, userId, customerId, draft: await newDraft(token, customerId) }
}

const send = (token: string, id: string, headers: Record<string, string> = {}) =>
  t.request(`/api/v1/invoices/${id}/mark-as-sent`, { method: 'POST', token, headers })

async function link(token: string, id: string) {
  const res = await t.request(`/api/v1/invoices/${id}/pdf`, { token })
  expect(res.status).toBe(200)
  return (await res.json()) as { url: string; expiresAt: string }
}

async function pdfKey(userId: string, id: string) {
  const row = await t.deps.database.db
    .selectFrom('invoices')
    .select('pdf_key')
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .executeTakeFirstOrThrow()
  return row.pdf_key!
}

const nextNumber = async (token: string) =>
  ((await (await t.request('/api/v1/me', { token })).json()) as { profile: { nextInvoiceNumber: number } })
    .profile.nextInvoiceNumber

describe('issuing with S3 storage', () => {
  test('when a draft is sent, then the presigned link downloads the stored PDF with the recorded hash', async () => {
    const { token, userId, draft } = await newUserWithDraft()
    const res = await send(token, draft.id)
    expect(res.status).toBe(200)
    const invoice = (await res.json()) as Invoice
    expect(invoice.number).toBe('INV-0001')

    const head = await client.send(
      new HeadObjectCommand({ Bucket: s3.bucket, Key: await pdfKey(userId, draft.id) }),
    )
    expect(head.ContentType).toBe('application/pdf')

    const { url, expiresAt } = await link(token, draft.id)
    expect(new URL(url).origin).toBe(s3.endpoint)
    expect(Math.abs(Date.parse(expiresAt) - (Date.now() + 900_000))).toBeLessThan(5_000)
    const download = await fetch(url)
    expect(download.status).toBe(200)
    expect(download.headers.get('content-type')).toBe('application/pdf')
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="INV-0001.pdf"')
    const bytes = new Uint8Array(await download.arrayBuffer())
    expect(sha256(bytes)).toBe(invoice.pdf!.sha256)
    expect(bytes.byteLength).toBe(invoice.pdf!.size)

    const { text } = (await extractPdfText(bytes)).pages[0]!
    for (const expected of ['INV-0001', 'Grace Hopper', 'Acme', formatMoney(invoice.total, 'USD')]) {
      expect(text).toContain(expected)
    }
  })

  test('when the object is deleted from the bucket, then the link request renders it again with the same hash', async () => {
    const { token, userId, draft } = await newUserWithDraft()
    const invoice = (await (await send(token, draft.id)).json()) as Invoice
    await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: await pdfKey(userId, draft.id) }))

    const download = await fetch((await link(token, draft.id)).url)
    expect(download.status).toBe(200)
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(invoice.pdf!.sha256)
    const events = await t.request(`/api/v1/invoices/${draft.id}/events`, { token })
    const trail = ((await events.json()) as { data: Event[] }).data
    expect(trail.map((e) => e.type)).toEqual(['created', 'sent', 'pdf_regenerated'])
    expect(trail[2]!.data).toEqual({ sha256: invoice.pdf!.sha256 })
  })

  test('when storage is down, then 502 PDF_GENERATION_FAILED, nothing changes, and the same call succeeds once it is back', async () => {
    const { token, customerId, draft: first } = await newUserWithDraft()
    expect((await send(token, first.id)).status).toBe(200)
    const draft = await newDraft(token, customerId)
    const headers = { 'idempotency-key': `send-${draft.id}` }

    await s3.stop()
    try {
      const res = await send(token, draft.id, headers)
      expect(res.status).toBe(502)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('PDF_GENERATION_FAILED')
      const line = await t.waitForLog((l) => l.level === 'error' && l['code'] === 'PDF_GENERATION_FAILED')
      expect(line['err']).toBeDefined()
      // The line names the invoice and the object key, so an operator finds the draft from the log alone.
      expect(line['invoiceId']).toBe(draft.id)
      expect(String(line['pdfKey'])).toStartWith(`invoices/`)
      const still = (await (await t.request(`/api/v1/invoices/${draft.id}`, { token })).json()) as Invoice
      expect(still).toMatchObject({ status: 'draft', number: null, pdf: null })
      expect(await nextNumber(token)).toBe(2)
      const events = await t.request(`/api/v1/invoices/${draft.id}/events`, { token })
      expect(((await events.json()) as { data: Event[] }).data.map((e) => e.type)).toEqual(['created'])
      const pdf = await t.request(`/api/v1/invoices/${first.id}/pdf`, { token })
      expect(pdf.status).toBe(502)
    } finally {
      await s3.restart()
    }

    const retried = await send(token, draft.id, headers)
    expect(retried.status).toBe(200)
    expect(retried.headers.get('idempotent-replayed')).toBeNull()
    expect(((await retried.json()) as Invoice).number).toBe('INV-0002')
    expect(await nextNumber(token)).toBe(3)
  })
})
