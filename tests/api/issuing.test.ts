import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { renderPdf } from '../../src/lib/documents/renderer'
import { renderInvoicePdf } from '../../src/lib/pdf'
import { sampleInvoiceSnapshot } from '../../src/lib/pdf/sample'
import type { CustomerCreate } from '../../src/modules/customers/model'
import type { ItemInput } from '../../src/modules/invoices/model'
import type { ProfilePatch } from '../../src/modules/me/model'
import { formatMoney } from '../../src/shared/money'
import { createTestApp, type TestApp } from '../helpers/app'
import { edenClient } from '../helpers/eden'
import { extractPdfText } from '../helpers/pdf-text'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const item = (n: number) => ({ description: `Line ${n}`, quantity: 1, unitPrice: 1000 + n, taxRate: 19 })
/** An ISO timestamp of an answer in milliseconds. */
const ms = (at: string) => Date.parse(at)

async function newUser(profile: ProfilePatch = { defaultCurrency: 'EUR', companyName: 'Seller GmbH' }) {
  const token = await t.token()
  const { status } = await edenClient(t, token).api.v1.me.patch(profile)
  expect(status).toBe(200)
  return token
}

async function newCustomer(
  token: string,
  body: CustomerCreate = { name: 'Ada Lovelace', email: 'ada@example.com' },
) {
  const { data, status } = await edenClient(t, token).api.v1.customers.post(body)
  expect(status).toBe(201)
  return data!.id
}

async function newDraft(token: string, customerId: string, items: ItemInput[] = [item(1)]) {
  const { data, status } = await edenClient(t, token).api.v1.invoices.post({ customerId, items })
  expect(status).toBe(201)
  return data!
}

const send = (token: string, id: string, headers: { 'if-match'?: string; 'idempotency-key'?: string } = {}) =>
  edenClient(t, token).api.v1.invoices({ id })['mark-as-sent'].post(undefined, { headers })

async function sent(token: string, id: string) {
  const { data, status } = await send(token, id)
  expect(status).toBe(200)
  return data!
}

const get = async (token: string, id: string) =>
  (await edenClient(t, token).api.v1.invoices({ id }).get()).data!
const events = async (token: string, id: string) =>
  (await edenClient(t, token).api.v1.invoices({ id }).events.get()).data!.data
const nextNumber = async (token: string) =>
  (await edenClient(t, token).api.v1.me.get()).data!.profile.nextInvoiceNumber

async function pdfLink(token: string, id: string) {
  const { data, status } = await edenClient(t, token).api.v1.invoices({ id }).pdf.get()
  expect(status).toBe(200)
  return data!
}

/** Local-disk links point at the app itself. */
async function download(url: string) {
  const link = new URL(url)
  const res = await t.request(link.pathname + link.search)
  expect(res.status).toBe(200)
  return { res, bytes: new Uint8Array(await res.arrayBuffer()) }
}

async function pdfKey(token: string, id: string): Promise<string> {
  const me = (await edenClient(t, token).api.v1.me.get()).data!
  const row = await t.deps.database.db
    .selectFrom('invoices')
    .select('pdf_key')
    .where('user_id', '=', me.id)
    .where('id', '=', id)
    .executeTakeFirstOrThrow()
  return row.pdf_key!
}

describe('mark-as-sent', () => {
  test('when a draft is sent, then it gets INV-0001, a frozen snapshot, a stored PDF and a sent event', async () => {
    const token = await newUser()
    const customerId = await newCustomer(token)
    const draft = await newDraft(token, customerId, [
      { description: 'Design work', quantity: 3, unitPrice: 1999, taxRate: 19 },
    ])

    const res = await send(token, draft.id)
    expect(res.status).toBe(200)
    const invoice = res.data!
    expect(res.response.headers.get('etag')).toBe(`"invoice-${draft.id}-${invoice.version}"`)
    expect(invoice).toMatchObject({ number: 'INV-0001', status: 'sent', total: 7136 })
    expect(invoice.billTo).toMatchObject({ name: 'Ada Lovelace', email: 'ada@example.com' })
    expect(invoice.from.companyName).toBe('Seller GmbH')
    expect(invoice.pdf?.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(ms(invoice.pdf!.generatedAt)).toBeGreaterThanOrEqual(ms(invoice.sentAt!))
    expect(await pdfKey(token, draft.id)).toMatch(
      new RegExp(`^invoices/[0-9a-f-]{36}/${draft.id}/[0-9a-f]{32}\\.pdf$`),
    )
    expect(await nextNumber(token)).toBe(2)

    const trail = await events(token, draft.id)
    expect(trail.map((e) => e.type)).toEqual(['created', 'sent'])
    expect(trail[1]!.data).toEqual({ number: 'INV-0001', total: 7136, pdfSha256: invoice.pdf!.sha256 })

    const { res: file, bytes } = await download((await pdfLink(token, draft.id)).url)
    expect(file.headers.get('content-type')).toBe('application/pdf')
    expect(file.headers.get('content-disposition')).toBe('attachment; filename="INV-0001.pdf"')
    expect(sha256(bytes)).toBe(invoice.pdf!.sha256)
    expect(bytes.byteLength).toBe(invoice.pdf!.size)
    const { text } = (await extractPdfText(bytes)).pages[0]!
    for (const expected of ['INV-0001', 'Ada Lovelace', 'Seller GmbH', formatMoney(7136, 'EUR')]) {
      expect(text).toContain(expected)
    }
  })

  test('when customer and profile change after sending, then the invoice keeps the frozen ones', async () => {
    const token = await newUser()
    const api = edenClient(t, token)
    const customerId = await newCustomer(token)
    const draft = await newDraft(token, customerId)
    await sent(token, draft.id)

    const rename = { name: 'Renamed Ltd', email: 'new@example.com' }
    expect((await api.api.v1.customers({ id: customerId }).patch(rename)).status).toBe(200)
    const profile = { companyName: 'New Name AG', email: 'x@new.example' }
    expect((await api.api.v1.me.patch(profile)).status).toBe(200)

    const invoice = await get(token, draft.id)
    expect(invoice.billTo).toMatchObject({ name: 'Ada Lovelace', email: 'ada@example.com' })
    expect(invoice.from).toMatchObject({ companyName: 'Seller GmbH', email: null })
    const found = await api.api.v1.invoices.get({ query: { q: 'inv-0001' } })
    expect(found.data?.data.map((i) => i.id)).toEqual([draft.id])
    const byOldName = await api.api.v1.invoices.get({ query: { q: 'lovelace' } })
    expect(byOldName.data?.data.map((i) => i.id)).toEqual([draft.id])
  })

  test('when a sent invoice is patched, deleted or sent again, then 409 INVALID_STATUS_TRANSITION', async () => {
    const token = await newUser()
    const draft = await newDraft(token, await newCustomer(token))
    await sent(token, draft.id)
    const invoice = edenClient(t, token).api.v1.invoices({ id: draft.id })
    const attempts = [invoice.patch({ notes: 'late' }), invoice.delete(), send(token, draft.id)]
    for (const { status, error } of await Promise.all(attempts)) {
      expect(status).toBe(409)
      expect(error?.value).toMatchObject({ error: { code: 'INVALID_STATUS_TRANSITION' } })
    }
    expect(await nextNumber(token)).toBe(2)
  })

  test('when the draft has no items, then 400 on /items and no number is used', async () => {
    const token = await newUser()
    const draft = await newDraft(token, await newCustomer(token), [])
    const { status, error } = await send(token, draft.id)
    expect(status).toBe(400)
    expect(error?.value).toMatchObject({ error: { code: 'VALIDATION_ERROR', details: [{ path: '/items' }] } })
    expect((await get(token, draft.id)).status).toBe('draft')
    expect(await nextNumber(token)).toBe(1)
  })

  test('when the draft total is negative, then 400 on /total before any PDF is stored, however often it is retried', async () => {
    const token = await newUser()
    const draft = await newDraft(token, await newCustomer(token), [
      { description: 'Deposit received', quantity: 1, unitPrice: -5000, taxRate: 0 },
      { description: 'Work', quantity: 1, unitPrice: 1000, taxRate: 0 },
    ])
    const stored = async () => {
      const files = await Array.fromAsync(new Bun.Glob('**/*.pdf').scan({ cwd: t.deps.config.dataDir }))
      return files.filter((file) => file.includes(draft.id)).length
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const { status, error } = await send(token, draft.id)
      expect(status).toBe(400)
      expect(error?.value).toMatchObject({
        error: { code: 'VALIDATION_ERROR', details: [{ path: '/total' }] },
      })
    }
    expect(await stored()).toBe(0)
    expect((await get(token, draft.id)).status).toBe('draft')
    expect(await nextNumber(token)).toBe(1)
  })

  test('when the draft total is zero, then it is issued straight to paid with sent and paid events', async () => {
    const token = await newUser()
    const api = edenClient(t, token)
    const { data: draft } = await api.api.v1.invoices.post({
      customerId: await newCustomer(token),
      issueDate: '2026-01-01',
      dueDate: '2026-01-02',
      items: [
        { description: 'Work', quantity: 1, unitPrice: 1000, taxRate: 0 },
        { description: 'Goodwill', quantity: 1, unitPrice: -1000, taxRate: 0 },
      ],
    })
    const invoice = await sent(token, draft!.id)
    expect(invoice.status).toBe('paid')
    expect(invoice.number).toBe('INV-0001')
    expect(invoice.paidAt).toBe(invoice.sentAt)
    expect(invoice.amountDue).toBe(0)
    expect(invoice.isOverdue).toBe(false)
    expect((await events(token, draft!.id)).map((e) => e.type)).toEqual(['created', 'sent', 'paid'])
    const pay = await api.api.v1.invoices({ id: draft!.id }).payments.post({ amount: 1 })
    expect(pay.status).toBe(409)
  })

  test('when If-Match is stale, then 412 and the draft stays a draft', async () => {
    const token = await newUser()
    const draft = await newDraft(token, await newCustomer(token))
    const stale = `"invoice-${draft.id}-${draft.version + 1}"`
    expect((await send(token, draft.id, { 'if-match': stale })).status).toBe(412)
    const current = `"invoice-${draft.id}-${draft.version}"`
    expect((await send(token, draft.id, { 'if-match': current })).status).toBe(200)
  })

  test('when the profile sets prefix ACME- and next number 42, then the invoice is ACME-0042', async () => {
    const token = await newUser({ defaultCurrency: 'EUR', invoicePrefix: 'ACME-', nextInvoiceNumber: 42 })
    const invoice = await sent(token, (await newDraft(token, await newCustomer(token))).id)
    expect(invoice.number).toBe('ACME-0042')
    expect(await nextNumber(token)).toBe(43)
    const lower = await edenClient(t, token).api.v1.me.patch({ nextInvoiceNumber: 42 })
    expect(lower.status).toBe(400)
  })

  test('when numbers pass 9999, then they keep growing without padding', async () => {
    const token = await newUser({ defaultCurrency: 'EUR', nextInvoiceNumber: 9999 })
    const customerId = await newCustomer(token)
    const first = await sent(token, (await newDraft(token, customerId)).id)
    const second = await sent(token, (await newDraft(token, customerId)).id)
    expect([first.number, second.number]).toEqual(['INV-9999', 'INV-10000'])
  })

  test('when two users send their first invoice, then each gets number 0001', async () => {
    const alice = await newUser()
    const bob = await newUser()
    const [a, b] = await Promise.all([
      newDraft(alice, await newCustomer(alice)).then((d) => sent(alice, d.id)),
      newDraft(bob, await newCustomer(bob)).then((d) => sent(bob, d.id)),
    ])
    expect([a.number, b.number]).toEqual(['INV-0001', 'INV-0001'])
  })

  test('when the same Idempotency-Key is replayed, then the same invoice answers and nothing happens twice', async () => {
    const token = await newUser()
    const draft = await newDraft(token, await newCustomer(token))
    const headers = { 'idempotency-key': `send-${draft.id}` }
    const first = await send(token, draft.id, headers)
    expect(first.status).toBe(200)
    const again = await send(token, draft.id, headers)
    expect(again.status).toBe(200)
    expect(again.response.headers.get('idempotent-replayed')).toBe('true')
    expect(again.response.headers.get('etag')).toBe(first.response.headers.get('etag'))
    expect(again.data).toEqual(first.data)
    expect((await events(token, draft.id)).filter((e) => e.type === 'sent')).toHaveLength(1)
    expect(await nextNumber(token)).toBe(2)
  })
})

describe('gapless numbering under concurrency', () => {
  test('when five drafts are sent at once, then they get exactly the numbers 1 to 5', async () => {
    const token = await newUser()
    const customerId = await newCustomer(token)
    const drafts = await Promise.all(Array.from({ length: 5 }, () => newDraft(token, customerId)))
    const answers = await Promise.all(drafts.map((d) => send(token, d.id)))
    expect(answers.map((res) => res.status)).toEqual([200, 200, 200, 200, 200])
    const numbers = answers.map((res) => res.data?.number)
    expect([...numbers].sort()).toEqual(['INV-0001', 'INV-0002', 'INV-0003', 'INV-0004', 'INV-0005'])
    expect(await nextNumber(token)).toBe(6)
  })

  test('when one draft is sent five times at once, then exactly one succeeds and one number is used', async () => {
    const token = await newUser()
    const draft = await newDraft(token, await newCustomer(token))
    const answers = await Promise.all(Array.from({ length: 5 }, () => send(token, draft.id)))
    const statuses = answers.map((res) => res.status).sort()
    expect(statuses).toEqual([200, 409, 409, 409, 409])
    for (const res of answers.filter((r) => r.status === 409)) {
      expect(res.error?.value).toMatchObject({ error: { code: 'INVALID_STATUS_TRANSITION' } })
    }
    expect((await get(token, draft.id)).number).toBe('INV-0001')
    expect(await nextNumber(token)).toBe(2)
    expect((await events(token, draft.id)).filter((e) => e.type === 'sent')).toHaveLength(1)
  })
})

describe('the PDF', () => {
  test('when an invoice has 120 items, then the PDF spans several pages numbered "Page N of M"', async () => {
    const token = await newUser()
    const items = Array.from({ length: 120 }, (_, i) => item(i + 1))
    const invoice = await sent(token, (await newDraft(token, await newCustomer(token), items)).id)
    const { bytes } = await download((await pdfLink(token, invoice.id)).url)
    const { pages } = await extractPdfText(bytes)
    expect(pages.length).toBeGreaterThan(1)
    pages.forEach((page, i) => {
      expect(page.text).toContain(`Page ${i + 1} of ${pages.length}`)
      expect(page.lines).toContain('Description Quantity Unit price Tax rate Total')
    })
    const lines = pages.flatMap((page) => page.lines)
    expect(lines.filter((line) => /^Line \d+ /.test(line))).toHaveLength(120)
    expect(lines).toContain('Line 120 1 €11.20 19% €13.33')
  })

  test('when a link is asked for, then it expires after the configured TTL and is not cacheable', async () => {
    const token = await newUser()
    const invoice = await sent(token, (await newDraft(token, await newCustomer(token))).id)
    const before = Date.now()
    const { data, status, response } = await edenClient(t, token)
      .api.v1.invoices({ id: invoice.id })
      .pdf.get()
    expect(status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const expiresAt = ms(data!.expiresAt)
    const ttl = t.deps.config.pdfUrlTtlSeconds * 1000
    expect(expiresAt).toBeGreaterThan(before + ttl - 2_000)
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + ttl)
  })

  test('when the stored file is gone, then it is rendered again with the same hash and a pdf_regenerated event', async () => {
    const token = await newUser()
    const invoice = await sent(token, (await newDraft(token, await newCustomer(token))).id)
    await rm(join(t.deps.config.dataDir, 'objects', await pdfKey(token, invoice.id)))

    const { bytes } = await download((await pdfLink(token, invoice.id)).url)
    expect(sha256(bytes)).toBe(invoice.pdf!.sha256)
    const after = await get(token, invoice.id)
    expect(after.pdf!.sha256).toBe(invoice.pdf!.sha256)
    expect(ms(after.pdf!.generatedAt)).toBeGreaterThan(ms(invoice.pdf!.generatedAt))

    await pdfLink(token, invoice.id)
    const regenerated = (await events(token, invoice.id)).filter((e) => e.type === 'pdf_regenerated')
    expect(regenerated).toHaveLength(1)
    expect(regenerated[0]!.data).toEqual({ sha256: invoice.pdf!.sha256 })
  })

  test('when the invoice is void, then its PDF is still there', async () => {
    const token = await newUser()
    const invoice = await sent(token, (await newDraft(token, await newCustomer(token))).id)
    expect((await edenClient(t, token).api.v1.invoices({ id: invoice.id }).void.post()).status).toBe(200)
    const { bytes } = await download((await pdfLink(token, invoice.id)).url)
    expect(sha256(bytes)).toBe(invoice.pdf!.sha256)
  })

  test('when the invoice is a draft, then there is no PDF: 404', async () => {
    const token = await newUser()
    const draft = await newDraft(token, await newCustomer(token))
    const { status, error } = await edenClient(t, token).api.v1.invoices({ id: draft.id }).pdf.get()
    expect(status).toBe(404)
    expect(error?.value).toMatchObject({ error: { code: 'NOT_FOUND' } })
  })
})

describe('the render worker', () => {
  test('when a render fails, then only that one is refused, and the next renders the same bytes as in-process', async () => {
    const broken = renderPdf(sampleInvoiceSnapshot(3, { sentAt: 'not a date' }))
    await expect(broken).rejects.toThrow('sentAt is not a valid date')
    const snapshot = sampleInvoiceSnapshot(10)
    const [inWorker, inProcess] = await Promise.all([renderPdf(snapshot), renderInvoicePdf(snapshot)])
    expect(sha256(inWorker)).toBe(sha256(inProcess))
  })
})

describe('ownership', () => {
  test("when another user's invoice id is used, then both routes answer 404 and nothing changes", async () => {
    const owner = await newUser()
    const customerId = await newCustomer(owner)
    const draft = await newDraft(owner, customerId)
    const issued = await sent(owner, (await newDraft(owner, customerId)).id)
    const intruder = await newUser()

    expect((await send(intruder, draft.id)).status).toBe(404)
    expect((await edenClient(t, intruder).api.v1.invoices({ id: issued.id }).pdf.get()).status).toBe(404)
    expect((await get(owner, draft.id)).status).toBe('draft')
    expect(await nextNumber(owner)).toBe(2)
    expect(await nextNumber(intruder)).toBe(1)
  })
})
