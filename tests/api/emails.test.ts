import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { simpleParser } from 'mailparser'
import { formatDate, formatMoney } from '../../src/lib/pdf/format'
import { createTestApp, type TestApp } from '../helpers/app'
import { creditNoteKit } from '../helpers/credit-notes'
import { type SmtpSink, startSmtpSink } from '../helpers/smtp'

// Servers, queues and receivers take seconds on a busy 2-core machine (tests/setup.ts: a preload's default
// timeout reaches only the first file).
setDefaultTimeout(30_000)

// Email delivery end to end (API.md "Delivery"): the app with its workers, sending over SMTP to a real server on
// loopback (tests/helpers/smtp.ts) that answers per recipient, with a short retry schedule (4 attempts, 1 s apart).

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const design = { description: 'Design work', quantity: 3, unitPrice: 1999, taxRate: 19 }

interface Email {
  id: string
  kind: string
  to: string[]
  cc: string[]
  subject: string
  status: string
  attempts: number
  sentAt: string | null
  lastError: string | null
  createdAt: string
}

let unique = 0
const address = (what: string) => `${what}-${Date.now().toString(36)}-${unique++}@example.com`

function helpers(t: TestApp) {
  const kit = creditNoteKit(t)

  const send = (token: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    t.request(`${path}/send-email`, { method: 'POST', token, json: body, headers })

  async function emails(token: string, path: string): Promise<Email[]> {
    const res = await t.request(`${path}/emails`, { token })
    expect(res.status).toBe(200)
    return ((await res.json()) as { data: Email[] }).data
  }

  /** Polls the list until the email reaches `status`. */
  async function settled(token: string, path: string, id: string, status: string, timeoutMs = 20_000) {
    const end = Date.now() + timeoutMs
    for (;;) {
      const email = (await emails(token, path)).find((e) => e.id === id)
      if (email?.status === status) return email
      if (Date.now() > end) throw new Error(`email ${id} is ${JSON.stringify(email)}, not ${status}`)
      await Bun.sleep(50)
    }
  }

  /** A seller with a full profile and an issued invoice billed to `customerEmail`. */
  async function issuedInvoice(customerEmail: string | null = address('customer')) {
    const token = await kit.newUser({
      companyName: 'Seller GmbH',
      email: 'billing@seller.example',
      locale: 'de-DE',
      contactName: 'Jane Seller',
      paymentInstructions: 'Please pay by bank transfer within 14 days.',
      bankAccount: { iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', accountName: 'Seller GmbH' },
    })
    const customerId = await kit.newCustomer(token, {
      name: 'Smith & Sons',
      ...(customerEmail ? { email: customerEmail } : {}),
    })
    const invoice = await kit.issued(token, customerId, [design])
    return { token, customerId, invoice, path: `/api/v1/invoices/${invoice.id}` }
  }

  return { kit, send, emails, settled, issuedInvoice }
}

describe('emails over SMTP', () => {
  let t: TestApp
  let sink: SmtpSink
  let h: ReturnType<typeof helpers>
  beforeAll(async () => {
    sink = await startSmtpSink()
    sink.answer((to) => to.startsWith('flaky-'), { temporaryFailures: 1 })
    sink.answer((to) => to.startsWith('bounce-'), { permanent: true })
    sink.answer((to) => to.startsWith('busy-'), { temporaryFailures: 1000 })
    t = await createTestApp(
      {
        RATE_LIMIT_PER_MINUTE: '1000000',
        SMTP_URL: sink.url,
        MAIL_FROM: 'Invoices <invoices@mail.example>',
        EMAIL_RETRY_SCHEDULE: '1,1,1',
      },
      { workers: true },
    )
    h = helpers(t)
  })
  afterAll(async () => {
    await t.close()
    await sink.close()
  })

  test('when an issued invoice is emailed with defaults, then the bill-to gets both parts, the hosted link, Reply-To and the stored PDF', async () => {
    const customer = address('ada')
    const { token, invoice, path } = await h.issuedInvoice(customer)
    const res = await h.send(token, path, {})
    expect(res.status).toBe(202)
    const queued = (await res.json()) as { id: string; status: string }
    expect(queued.status).toBe('queued')

    const [mail] = await sink.waitFor(customer)
    const parsed = mail!.parsed
    expect(mail!.recipients).toEqual([customer])
    expect(mail!.from).toBe('invoices@mail.example')
    expect(parsed.from?.value).toEqual([{ name: 'Invoices', address: 'invoices@mail.example' }])
    expect(parsed.replyTo?.text).toBe('billing@seller.example')
    expect(parsed.subject).toBe(`Invoice ${invoice.number} from Seller GmbH`)
    expect(parsed.messageId).toMatch(new RegExp(`^<${queued.id}@mail\\.example>$`))
    // Both parts, amounts and dates in the profile's locale (de-DE), the link to the hosted page.
    expect(parsed.text).toContain('Hello Smith & Sons,')
    expect(parsed.text).toContain(invoice.hostedUrl!)
    expect(parsed.text).toContain(
      `Amount due: ${formatMoney(7136, 'EUR', 'de-DE')}, due ${formatDate(invoice.dueDate, 'de-DE')}`,
    )
    expect(parsed.text).toContain('Please pay by bank transfer within 14 days.')
    expect(parsed.text).toContain('DE89370400440532013000')
    expect(parsed.html).toContain(`href="${invoice.hostedUrl}"`)
    expect(parsed.html).toContain('Smith &amp; Sons')
    // The attachment is the stored PDF, byte for byte.
    expect(parsed.attachments).toHaveLength(1)
    const pdf = parsed.attachments[0]!
    expect(pdf.filename).toBe(`${invoice.number}.pdf`)
    expect(pdf.contentType).toBe('application/pdf')
    expect(sha256(pdf.content)).toBe(invoice.pdf!.sha256)

    const email = await h.settled(token, path, queued.id, 'sent')
    expect(email).toMatchObject({ kind: 'document', to: [customer], cc: [], attempts: 1, lastError: null })
    expect(email.sentAt).not.toBeNull()
    const events = await h.kit.events(token, invoice.id)
    expect(events.map((e) => e.type)).toContain('emailed')
    const hooks = await t.request('/api/v1/events?type=invoice.emailed', { token })
    expect(((await hooks.json()) as { data: unknown[] }).data).toHaveLength(1)
  })

  test('when to, cc, subject and message are given without the PDF, then the message carries them and no attachment', async () => {
    const { token, path } = await h.issuedInvoice()
    const to = [address('first'), address('second')]
    const cc = [address('copy')]
    const res = await h.send(token, path, {
      to,
      cc,
      subject: 'Your invoice',
      message: 'Thank you!\nSee you soon.',
      attachPdf: false,
    })
    expect(res.status).toBe(202)
    const [mail] = await sink.waitFor(to[0]!)
    expect(mail!.recipients).toEqual([...to, ...cc])
    expect(mail!.parsed.subject).toBe('Your invoice')
    expect(mail!.parsed.text).toContain('Thank you!\nSee you soon.')
    expect(mail!.parsed.attachments).toHaveLength(0)
    const [listed] = await h.emails(token, path)
    expect(listed).toMatchObject({ to, cc, subject: 'Your invoice' })
  })

  test('when a credit note is emailed, then its PDF is attached and the invoice trail is untouched', async () => {
    const customer = address('credit')
    const { token, invoice } = await h.issuedInvoice(customer)
    const note = await h.kit.credited(token, invoice.id, { reason: 'order_change' })
    const path = `/api/v1/credit-notes/${note.id}`
    const res = await h.send(token, path, {})
    expect(res.status).toBe(202)
    const { id } = (await res.json()) as { id: string }
    const [mail] = await sink.waitFor(customer)
    expect(mail!.parsed.subject).toBe(`Credit note ${note.number} from Seller GmbH`)
    expect(mail!.parsed.text).toContain(`for invoice ${invoice.number}`)
    expect(sha256(mail!.parsed.attachments[0]!.content)).toBe(note.pdf.sha256)
    await h.settled(token, path, id, 'sent')
    const types = (await h.kit.events(token, invoice.id)).map((e) => e.type)
    expect(types).not.toContain('emailed')
  })

  /** The outcomes the metrics saw since `from` (an index into emailAttempts), once there are `count` of them. */
  async function attemptsSince(from: number, count: number) {
    for (let waited = 0; t.emailAttempts.length < from + count && waited < 5_000; waited += 10)
      await Bun.sleep(10)
    return t.emailAttempts.slice(from)
  }

  test('when the server answers 451 once, then the email is retried and ends sent after 2 attempts', async () => {
    const seen = t.emailAttempts.length
    const customer = address('flaky')
    const { token, path } = await h.issuedInvoice(customer)
    const { id } = (await (await h.send(token, path, {})).json()) as { id: string }
    const email = await h.settled(token, path, id, 'sent')
    expect(email.attempts).toBe(2)
    expect(email.lastError).toBeNull()
    expect(sink.refused.get(customer)).toBe(1)
    const mails = await sink.waitFor(customer)
    expect(mails).toHaveLength(1)
    expect(await attemptsSince(seen, 2)).toEqual(['retrying', 'sent'])
  })

  test('when the server answers 550, then the email fails at once with email_failed on the invoice and its webhook event', async () => {
    const seen = t.emailAttempts.length
    const customer = address('bounce')
    const { token, invoice, path } = await h.issuedInvoice(customer)
    const { id } = (await (await h.send(token, path, {})).json()) as { id: string }
    const email = await h.settled(token, path, id, 'failed')
    expect(email.attempts).toBe(1)
    expect(email.lastError).toContain('550')
    const events = await h.kit.events(token, invoice.id)
    expect(events.filter((e) => e.type === 'email_failed')).toHaveLength(1)
    expect(events.map((e) => e.type)).not.toContain('emailed')
    const hooks = await t.request('/api/v1/events?type=invoice.email_failed', { token })
    expect(((await hooks.json()) as { data: unknown[] }).data).toHaveLength(1)
    expect(await attemptsSince(seen, 1)).toEqual(['failed'])
  })

  test('when the server answers 451 to every attempt, then the email fails after the last retry of the schedule', async () => {
    const seen = t.emailAttempts.length
    const customer = address('busy')
    const { token, invoice, path } = await h.issuedInvoice(customer)
    const { id } = (await (await h.send(token, path, {})).json()) as { id: string }
    // EMAIL_RETRY_SCHEDULE=1,1,1: the first attempt and three retries.
    const email = await h.settled(token, path, id, 'failed')
    expect(email.attempts).toBe(4)
    expect(email.lastError).toContain('451')
    expect(sink.refused.get(customer)).toBe(4)
    const types = (await h.kit.events(token, invoice.id)).map((e) => e.type)
    expect(types.filter((type) => type === 'email_failed')).toHaveLength(1)
    expect(await attemptsSince(seen, 4)).toEqual(['retrying', 'retrying', 'retrying', 'failed'])
  })

  test('when the invoice is a draft or void, then sending answers 409 and queues nothing', async () => {
    const token = await h.kit.newUser()
    const customerId = await h.kit.newCustomer(token)
    const draft = await h.kit.draft(token, customerId, [design])
    const res = await h.send(token, `/api/v1/invoices/${draft.id}`, {})
    expect(res.status).toBe(409)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_STATUS_TRANSITION')

    const issued = await h.kit.issued(token, customerId, [design])
    const voided = await t.request(`/api/v1/invoices/${issued.id}/void`, { method: 'POST', token })
    expect(voided.status).toBe(200)
    const again = await h.send(token, `/api/v1/invoices/${issued.id}`, {})
    expect(again.status).toBe(409)
    expect(await h.emails(token, `/api/v1/invoices/${issued.id}`)).toEqual([])
  })

  test('when recipients or the subject are malformed, then 400 names the field and nothing is queued', async () => {
    const { token, path } = await h.issuedInvoice()
    const cases: [unknown, string][] = [
      [{ to: ['a@example.com\r\nBcc: evil@example.com'] }, '/to/0'],
      [{ to: ['a@example.com'], cc: ['b@example.com\nBcc: evil@example.com'] }, '/cc/0'],
      [{ subject: 'Hello\r\nBcc: evil@example.com' }, '/subject'],
      [{ subject: 'Hello\nthere' }, '/subject'],
      [{ to: Array.from({ length: 11 }, (_, i) => `r${i}@example.com`) }, '/to'],
      [{ cc: Array.from({ length: 11 }, (_, i) => `c${i}@example.com`) }, '/cc'],
      [{ to: ['not an address'] }, '/to/0'],
      [{ to: [] }, '/to'],
    ]
    for (const [body, field] of cases) {
      const res = await h.send(token, path, body)
      const error = ((await res.json()) as { error: { code: string; details: { path: string }[] } }).error
      expect({ body, status: res.status, code: error.code }).toEqual({
        body,
        status: 400,
        code: 'VALIDATION_ERROR',
      })
      expect({ body, paths: error.details.map((d) => d.path) }).toEqual({
        body,
        paths: expect.arrayContaining([field]),
      })
    }
    expect(await h.emails(token, path)).toEqual([])
  })

  test('when the bill-to has no email and no `to` is given, then 400 names /to', async () => {
    const { token, path } = await h.issuedInvoice(null)
    const res = await h.send(token, path, { subject: 'Hi' })
    expect(res.status).toBe(400)
    const error = ((await res.json()) as { error: { details: { path: string }[] } }).error
    expect(error.details.map((d) => d.path)).toEqual(['/to'])
  })

  test("when another user's invoice or credit note is named, then both routes answer 404", async () => {
    const { token, invoice, path } = await h.issuedInvoice()
    const note = await h.kit.credited(token, invoice.id, { reason: 'other' })
    const intruder = await h.kit.newUser()
    for (const target of [path, `/api/v1/credit-notes/${note.id}`]) {
      const sent = await h.send(intruder, target, { to: ['x@example.com'] })
      expect(sent.status).toBe(404)
      const listed = await t.request(`${target}/emails`, { token: intruder })
      expect(listed.status).toBe(404)
    }
    expect(await h.emails(token, path)).toEqual([])
  })

  test('when the same Idempotency-Key is sent twice, then one email is queued and the answer replayed', async () => {
    const customer = address('once')
    const { token, path } = await h.issuedInvoice(customer)
    const headers = { 'idempotency-key': `email-${customer}` }
    const first = await h.send(token, path, { message: 'Once' }, headers)
    const second = await h.send(token, path, { message: 'Once' }, headers)
    expect(first.status).toBe(202)
    expect(second.status).toBe(202)
    expect(second.headers.get('idempotent-replayed')).toBe('true')
    expect(await second.json()).toEqual(await first.json())
    const other = await h.send(token, path, { message: 'Other' }, headers)
    expect(other.status).toBe(409)
    await sink.waitFor(customer)
    await Bun.sleep(300)
    expect(sink.received.filter((m) => m.recipients.includes(customer))).toHaveLength(1)
    expect(await h.emails(token, path)).toHaveLength(1)
  })
})

describe('emails without SMTP_URL', () => {
  let t: TestApp
  let h: ReturnType<typeof helpers>
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' }, { workers: true })
    h = helpers(t)
  })
  afterAll(() => t.close())

  test('when there is no SMTP_URL outside production, then the message is written as an .eml file under DATA_DIR/mail and its path logged', async () => {
    const customer = address('file')
    const { token, invoice, path } = await h.issuedInvoice(customer)
    const { id } = (await (await h.send(token, path, {})).json()) as { id: string }
    await h.settled(token, path, id, 'sent')
    const dir = join(t.deps.config.dataDir, 'mail')
    const files = (await readdir(dir)).filter((name) => name.startsWith(id))
    expect(files).toHaveLength(1)
    expect(files[0]).toEndWith('.eml')
    const parsed = await simpleParser(await readFile(join(dir, files[0]!)))
    expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.text : '').toBe(customer)
    expect(parsed.text).toContain(invoice.hostedUrl!)
    expect(sha256(parsed.attachments[0]!.content)).toBe(invoice.pdf!.sha256)
    const line = await t.waitForLog((l) => l['file'] === join(dir, files[0]!))
    expect(line.level).toBe('info')
  })
})
