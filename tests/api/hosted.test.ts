import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { crossTenant } from '../../src/lib/db'
import { HOSTED_CSP } from '../../src/modules/hosted/pages'
import { createTestApp, type TestApp } from '../helpers/app'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

/**
 * The hosted document pages (`/i/{token}`) through the whole app: the HTML a customer gets, its headers, the
 * plain 404 page for every token that names nothing shown, and the PDF redirect.
 */

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' })
})
afterAll(() => t.close())

type Json = Record<string, unknown>
interface Invoice {
  id: string
  number: string
  status: string
  total: number
  hostedUrl: string
  pdf: { sha256: string }
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
/** Intl separates amounts from currency signs with no-break spaces; the tests read plain ones. */
const plain = (html: string) => html.replace(/[\u00a0\u202f]/g, ' ')
const pathOf = (url: string) => new URL(url).pathname

async function call<T = Json>(token: string, method: string, path: string, json?: unknown): Promise<T> {
  const res = await t.request(path, { method, token, ...(json === undefined ? {} : { json }) })
  const text = await res.text()
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return (text ? JSON.parse(text) : null) as T
}

const BANK = { iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', accountName: 'Seller GmbH' }

async function newUser(profile: Json = {}): Promise<string> {
  const token = await t.token()
  await call(token, 'PATCH', '/api/v1/me', {
    companyName: 'Seller GmbH',
    defaultCurrency: 'EUR',
    paymentInstructions: 'Please pay by bank transfer.\nQuote the invoice number.',
    bankAccount: BANK,
    ...profile,
  })
  return token
}

async function issue(
  token: string,
  options: { customer?: string; items?: Json[]; issueDate?: string; dueDate?: string } = {},
): Promise<Invoice> {
  const customer = await call<{ id: string }>(token, 'POST', '/api/v1/customers', {
    name: options.customer ?? 'Ada Lovelace',
    email: 'ada@example.com',
  })
  const draft = await call<Invoice>(token, 'POST', '/api/v1/invoices', {
    customerId: customer.id,
    items: options.items ?? [{ description: 'Consulting', quantity: 2, unitPrice: 61728, taxRate: 0 }],
    ...(options.issueDate ? { issueDate: options.issueDate } : {}),
    ...(options.dueDate ? { dueDate: options.dueDate } : {}),
  })
  return call<Invoice>(token, 'POST', `/api/v1/invoices/${draft.id}/mark-as-sent`)
}

async function page(url: string, init: RequestInit = {}) {
  const res = await t.request(pathOf(url), init)
  return { res, html: plain(await res.text()) }
}

function expectPageHeaders(res: Response) {
  expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
  expect(res.headers.get('content-security-policy')).toBe(HOSTED_CSP)
  expect(res.headers.get('x-robots-tag')).toBe('noindex')
  expect(res.headers.get('referrer-policy')).toBe('no-referrer')
  expect(res.headers.get('cache-control')).toBe('no-store')
  // The app's security headers stay.
  expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains')
  expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  expect(res.headers.get('x-frame-options')).toBe('DENY')
  expect(res.headers.get('x-request-id')).toBeTruthy()
}

/** What a well-formed token that names nothing answers: the page every other miss must equal. */
const NOWHERE = `/i/${'A'.repeat(43)}`

async function expectNotFoundPage(path: string) {
  const res = await t.request(path)
  expect(res.status).toBe(404)
  expectPageHeaders(res)
  const html = await res.text()
  expect(html.startsWith('<!doctype html>')).toBe(true)
  expect(html).toContain('Page not found')
  expect(html).not.toContain('"error"')
  expect(html).not.toContain('NOT_FOUND')
  return html
}

async function hostedTokenOf(invoiceId: string): Promise<string> {
  const row = await crossTenant(t.deps.database.db)
    .selectFrom('invoices')
    .select('hosted_token')
    .where('id', '=', invoiceId)
    .executeTakeFirstOrThrow()
  return row.hosted_token
}

describe('the hosted invoice page', () => {
  test('when an issued invoice is opened by its link, then a script-free HTML page shows it with the strict headers', async () => {
    const token = await newUser({ contactName: 'Grace Hopper' })
    const invoice = await issue(token, { issueDate: '2026-01-15', dueDate: '2099-02-14' })
    const { res, html } = await page(invoice.hostedUrl)
    expect(res.status).toBe(200)
    expectPageHeaders(res)
    // The policy allows exactly the page's stylesheet, by the hash of its text.
    const css = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!
    const hash = createHash('sha256').update(css).digest('base64')
    expect(HOSTED_CSP).toBe(
      `default-src 'none'; style-src 'sha256-${hash}'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    )
    expect(html).toStartWith('<!doctype html>')
    expect(html).toContain('<html lang="en">')
    expect(html).toContain('<meta name="robots" content="noindex">')
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">')
    expect(html).not.toMatch(/<script|\son\w+=|javascript:/i)
    expect(html).toContain(`<title>Invoice ${invoice.number}</title>`)
    for (const text of [
      'Seller GmbH',
      'Contact: Grace Hopper',
      'Ada Lovelace',
      'ada@example.com',
      'Consulting',
      'Jan 15, 2026',
      'Feb 14, 2099',
      '€617.28',
      '€1,234.56',
      'Amount due',
      'Open',
      'DE89 3704 0044 0532 0130 00',
      'COBADEFFXXX',
      'Please pay by bank transfer.\nQuote the invoice number.',
    ]) {
      expect(html).toContain(text)
    }
    const secret = invoice.hostedUrl.split('/i/')[1]!
    expect(html).toContain(`href="/i/${secret}/pdf"`)
    expect(html).toContain('Download PDF')
    // The access log names the route, never the link's secret.
    const line = await t.waitForLog((l) => l['path'] === '/i/{token}' && l['statusCode'] === 200)
    expect(line['method']).toBe('GET')
    expect(JSON.stringify(t.logs)).not.toContain(secret)
  })

  test('when names and descriptions carry markup, then the page shows them as text', async () => {
    const token = await newUser()
    const invoice = await issue(token, {
      customer: '<script>alert(1)</script>',
      items: [
        { description: '<img src=x onerror="alert(2)"> & "quotes"', quantity: 1, unitPrice: 100, taxRate: 0 },
      ],
    })
    const { res, html } = await page(invoice.hostedUrl)
    expect(res.status).toBe(200)
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(2)&quot;&gt; &amp; &quot;quotes&quot;')
    expect(html).not.toContain('<script>')
    expect(html).not.toContain('<img')
  })

  test('when the token is unknown, malformed, rotated or a draft’s, then the same plain 404 page answers', async () => {
    const reference = await expectNotFoundPage(NOWHERE)
    const token = await newUser()
    const invoice = await issue(token)
    const draft = await call<Invoice>(token, 'POST', '/api/v1/invoices', {
      customerId: (await call<{ id: string }>(token, 'POST', '/api/v1/customers', { name: 'Draft Customer' }))
        .id,
      items: [{ description: 'Draft line', quantity: 1, unitPrice: 100, taxRate: 0 }],
    })
    expect(draft.hostedUrl).toBeNull()
    const draftToken = await hostedTokenOf(draft.id)
    const rotated = await call<{ hostedUrl: string }>(
      token,
      'POST',
      `/api/v1/invoices/${invoice.id}/hosted-link/rotate`,
    )
    expect(rotated.hostedUrl).not.toBe(invoice.hostedUrl)
    expect((await page(rotated.hostedUrl)).res.status).toBe(200)
    for (const path of [
      pathOf(invoice.hostedUrl),
      `${pathOf(invoice.hostedUrl)}/pdf`,
      `/i/${draftToken}`,
      `/i/${draftToken}/pdf`,
      '/i/abc',
      '/i/..%2F..%2Fetc%2Fpasswd',
      `/i/${'a'.repeat(65)}`,
      `/i/${'A'.repeat(42)}*`,
      `${pathOf(rotated.hostedUrl)}/nothing-here`,
      '/i',
    ]) {
      const html = await expectNotFoundPage(path)
      // Nothing tells one miss from another, and nothing of the document shows.
      expect({ path, same: html === reference }).toEqual({ path, same: true })
      expect(html).not.toContain(invoice.number)
    }
  })

  test('when other paths are unknown, then the API keeps its JSON envelope; a script asking for JSON on /i gets it too', async () => {
    for (const path of ['/api/v1/nope', '/nope', '/index']) {
      const res = await t.request(path)
      expect(res.status).toBe(404)
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(res.headers.get('content-security-policy')).toBeNull()
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND')
    }
    const res = await t.request(NOWHERE, { headers: { accept: 'application/json' } })
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(res.headers.get('x-robots-tag')).toBe('noindex')
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND')
    // A browser's Accept names HTML: the page.
    const browser = await t.request(NOWHERE, {
      headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
    })
    expect(browser.headers.get('content-type')).toBe('text/html; charset=utf-8')
    // Another method on a page path is refused as a page too.
    const post = await t.request(NOWHERE, { method: 'PUT' })
    expect(post.status).toBe(405)
    expect(post.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(post.headers.get('allow')).toBe('GET')
  })

  test('when the invoice is paid, void, credited or overdue, then a banner says so and payment details show only while something is due', async () => {
    const token = await newUser()
    const open = await issue(token)
    const paid = await issue(token)
    await call(token, 'POST', `/api/v1/invoices/${paid.id}/payments`, { amount: paid.total, method: 'card' })
    const voided = await issue(token)
    await call(token, 'POST', `/api/v1/invoices/${voided.id}/void`)
    const credited = await issue(token)
    const note = await call<{ number: string }>(
      token,
      'POST',
      `/api/v1/invoices/${credited.id}/credit-notes`,
      {
        reason: 'duplicate',
      },
    )
    const overdue = await issue(token, { issueDate: '2020-01-01', dueDate: '2020-01-31' })

    const banner = (html: string) =>
      /<section class="banner banner-(\w+)"[^>]*>\s*<p><strong class="badge">([^<]+)<\/strong>\s*([^<]*)<\/p>/
        .exec(html)!
        .slice(1)
    const cases: [Invoice, string, string, RegExp, boolean][] = [
      [open, 'open', 'Open', /is due by/, true],
      [paid, 'paid', 'Paid', /paid in full/, false],
      [voided, 'void', 'Void', /voided\. It is not payable/, false],
      [credited, 'credited', 'Credited', new RegExp(`credited in full \\(${note.number}\\)`), false],
      [overdue, 'overdue', 'Overdue', /was due on Jan 31, 2020/, true],
    ]
    for (const [invoice, tone, title, text, payable] of cases) {
      const { res, html } = await page(invoice.hostedUrl)
      expect(res.status).toBe(200)
      const [shownTone, shownTitle, shownText] = banner(html)
      expect({ tone: shownTone, title: shownTitle }).toEqual({ tone, title })
      expect(shownText).toMatch(text)
      expect({
        status: invoice.id === open.id ? 'open' : tone,
        payable: html.includes('How to pay'),
      }).toEqual({
        status: invoice.id === open.id ? 'open' : tone,
        payable,
      })
      expect(html.includes('DE89 3704 0044 0532 0130 00')).toBe(payable)
      expect(html.includes('Please pay by bank transfer.')).toBe(payable)
    }
    const paidPage = (await page(paid.hostedUrl)).html
    expect(paidPage).toMatch(/Amount paid<\/th><td class="num">-€1,234\.56/)
    const creditedPage = (await page(credited.hostedUrl)).html
    expect(creditedPage).toMatch(/Credited<\/th><td class="num">-€1,234\.56/)
    expect(creditedPage).toMatch(/Amount due<\/th><td class="num">€0\.00/)
  })

  test('when the profile’s locale is de-DE or en-US, then amounts and dates follow it and the page declares the language of its labels', async () => {
    const items = [{ description: 'Beratung', quantity: 1.5, unitPrice: 82304, taxRate: 19.5 }]
    const german = await newUser({ locale: 'de-DE' })
    const de = await page(
      (await issue(german, { items, issueDate: '2026-01-15', dueDate: '2099-02-14' })).hostedUrl,
    )
    // The labels are English in every locale, and the page says so.
    expect(de.html).toContain('<html lang="en">')
    for (const text of ['1.234,56 €', '823,04 €', '1,5', '19,5%', '15.01.2026', '14.02.2099'])
      expect(de.html).toContain(text)

    const american = await newUser({ locale: 'en-US' })
    const us = await page(
      (await issue(american, { items, issueDate: '2026-01-15', dueDate: '2099-02-14' })).hostedUrl,
    )
    expect(us.html).toContain('<html lang="en">')
    for (const text of ['€1,234.56', '€823.04', '1.5', '19.5%', 'Jan 15, 2026', 'Feb 14, 2099'])
      expect(us.html).toContain(text)
  })
})

describe('the hosted PDF link', () => {
  test('when the PDF button is followed, then a 302 leads to a fresh link that downloads the stored PDF', async () => {
    const token = await newUser()
    const invoice = await issue(token)
    const res = await t.request(`${pathOf(invoice.hostedUrl)}/pdf`)
    expect(res.status).toBe(302)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('content-security-policy')).toBe(HOSTED_CSP)
    const location = new URL(res.headers.get('location')!)
    const download = await t.request(location.pathname + location.search)
    expect(download.status).toBe(200)
    expect(download.headers.get('content-type')).toBe('application/pdf')
    expect(download.headers.get('content-disposition')).toContain(`${invoice.number}.pdf`)
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(invoice.pdf.sha256)
  })
})

describe('the hosted credit note page', () => {
  test('when a credit note is opened by its link, then it shows its number, the invoice it corrects, the reason, lines and refund', async () => {
    const token = await newUser({ locale: 'en-US' })
    const invoice = await issue(token, { issueDate: '2026-01-15', dueDate: '2099-02-14' })
    await call(token, 'POST', `/api/v1/invoices/${invoice.id}/payments`, {
      amount: invoice.total,
      method: 'card',
    })
    const note = await call<{ id: string; number: string; hostedUrl: string; pdf: { sha256: string } }>(
      token,
      'POST',
      `/api/v1/invoices/${invoice.id}/credit-notes`,
      { reason: 'order_change', memo: 'One day less' },
    )
    const { res, html } = await page(note.hostedUrl)
    expect(res.status).toBe(200)
    expectPageHeaders(res)
    expect(html).toContain(`<title>Credit note ${note.number}</title>`)
    for (const text of [
      'Credit note',
      note.number,
      `${invoice.number} of Jan 15, 2026`,
      'Order change',
      'One day less',
      'Consulting',
      'Refund due',
      '€1,234.56',
      'Ada Lovelace',
    ]) {
      expect(html).toContain(text)
    }
    expect(html).not.toContain('How to pay')

    const pdf = await t.request(`${pathOf(note.hostedUrl)}/pdf`)
    expect(pdf.status).toBe(302)
    const location = new URL(pdf.headers.get('location')!)
    const download = await t.request(location.pathname + location.search)
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(note.pdf.sha256)

    const rotated = await call<{ hostedUrl: string }>(
      token,
      'POST',
      `/api/v1/credit-notes/${note.id}/hosted-link/rotate`,
    )
    await expectNotFoundPage(pathOf(note.hostedUrl))
    expect((await page(rotated.hostedUrl)).res.status).toBe(200)
  })
})

describe('the hosted pages under load', () => {
  test('when one address asks for pages too often, then it gets a 429 page, and its API quota is its own', async () => {
    const small = await createTestApp({ TRUST_PROXY: 'x-forwarded-for', RATE_LIMIT_PER_MINUTE: '2' })
    try {
      const from = { 'x-forwarded-for': '203.0.113.77' }
      const first = await small.request(NOWHERE, { headers: from })
      expect(first.status).toBe(404)
      expect(first.headers.get('ratelimit-limit')).toBe('2')
      expect((await small.request(NOWHERE, { headers: from })).status).toBe(404)
      const limited = await small.request(NOWHERE, { headers: from })
      expect(limited.status).toBe(429)
      expectPageHeaders(limited)
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(await limited.text()).toContain('Too many requests')
      // The same address's API calls are counted apart.
      const api = await small.request('/api/v1/me', { headers: from })
      expect(api.status).toBe(401)
    } finally {
      await small.close()
    }
  })
})
