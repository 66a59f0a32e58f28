import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { Server } from 'bun'
import type {
  Browser,
  BrowserContext,
  BrowserContextOptions,
  Page,
  Response as PageResponse,
} from 'playwright-core'
import { HOSTED_CSP } from '../../src/modules/hosted/pages'
import { createTestApp, type TestApp } from '../helpers/app'
import { blockOutsideRequests, launchChromium, reportCspViolations, watchProblems } from './browser'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

/**
 * The hosted invoice page as its customer sees it: the app served on 127.0.0.1 (PUBLIC_URL pointing there, so
 * the PDF link works), one Debian Chromium for the whole file, nothing from beyond this machine. Screenshots
 * are kept for people in test-results/.
 */

const RESULTS = path.resolve(import.meta.dir, '../../test-results')
const AXE_SOURCE = readFileSync(Bun.resolveSync('axe-core/axe.min.js', import.meta.dir), 'utf8')
const DESKTOP = { width: 1280, height: 900 }
const PHONE = { width: 375, height: 667 }

interface Invoice {
  id: string
  number: string
  total: number
  amountDue: number
  hostedUrl: string
  pdf: { sha256: string }
}

let t: TestApp
let server: Server<undefined> | undefined
let browser: Browser | undefined
let invoice: Invoice
let userToken: string

async function call<T>(method: string, pathname: string, json?: unknown): Promise<T> {
  const res = await t.request(pathname, { method, token: userToken, ...(json === undefined ? {} : { json }) })
  const text = await res.text()
  if (res.status >= 300) throw new Error(`${method} ${pathname}: ${res.status} ${text}`)
  return JSON.parse(text) as T
}

beforeAll(async () => {
  // The server first, on a free port, so that the app can be built with its address as PUBLIC_URL.
  let handle: (request: Request) => Response | Promise<Response> = () => new Response(null, { status: 503 })
  server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (request) => handle(request) })
  const base = `http://127.0.0.1:${server.port}`
  const [app, launched] = await Promise.allSettled([
    createTestApp({ PUBLIC_URL: base, RATE_LIMIT_PER_MINUTE: '1000000' }),
    launchChromium(),
  ])
  if (launched.status === 'fulfilled') browser = launched.value
  if (app.status === 'rejected') throw app.reason
  if (launched.status === 'rejected') throw launched.reason
  t = app.value
  handle = (request) => t.app.handle(request)

  userToken = await t.token()
  await call('PATCH', '/api/v1/me', {
    companyName: 'Nordlicht Design GmbH',
    email: 'billing@nordlicht.example',
    phone: '+49 30 1234567',
    taxId: 'DE123456789',
    address: { line1: 'Torstraße 1', city: 'Berlin', postalCode: '10119', country: 'DE' },
    defaultCurrency: 'EUR',
    locale: 'en-US',
    contactName: 'Mara Lindqvist',
    paymentInstructions:
      'Please transfer the amount due within 14 days.\nQuote the invoice number as reference.',
    bankAccount: { iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', accountName: 'Nordlicht Design GmbH' },
  })
  const customer = await call<{ id: string }>('POST', '/api/v1/customers', {
    name: 'Ada Lovelace Analytical Engines Ltd',
    email: 'accounts@analytical.example',
    address: { line1: '12 St James’s Square', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' },
  })
  const draft = await call<Invoice>('POST', '/api/v1/invoices', {
    customerId: customer.id,
    issueDate: '2026-01-15',
    dueDate: '2099-02-14',
    discountPercent: 5,
    notes: 'Thank you for your business.',
    items: [
      {
        description: 'Brand identity workshop (two days, on site)',
        quantity: 2,
        unitPrice: 180000,
        taxRate: 19,
      },
      {
        description: 'Logo design — three concepts, two revision rounds',
        quantity: 1,
        unitPrice: 245050,
        taxRate: 19,
      },
      { description: 'Printing of business cards', quantity: 500, unitPrice: 12, taxRate: 7 },
      {
        description: 'Supercalifragilisticexpialidocious-very-long-unbroken-description-of-a-deliverable',
        quantity: 1.5,
        unitPrice: 9999,
        taxRate: 0,
      },
    ],
  })
  invoice = await call<Invoice>('POST', `/api/v1/invoices/${draft.id}/mark-as-sent`)
  await call('POST', `/api/v1/invoices/${invoice.id}/payments`, { amount: 100000, method: 'bank_transfer' })
  invoice = await call<Invoice>('GET', `/api/v1/invoices/${invoice.id}`)
  mkdirSync(RESULTS, { recursive: true })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  server?.stop(true)
  await t?.close()
})

const money = (minor: number) =>
  new Intl.NumberFormat('en-US', { style: 'currency', currency: 'EUR' }).format(minor / 100)

/** A context of the one browser; what it tried to fetch from elsewhere and any CSP violation are collected. */
async function openPage(
  url: string,
  options: BrowserContextOptions = {},
): Promise<{
  context: BrowserContext
  page: Page
  answer: PageResponse
  outside: string[]
  problems: string[]
}> {
  const context = await browser!.newContext({ viewport: DESKTOP, ...options })
  context.setDefaultTimeout(15_000)
  const outside = await blockOutsideRequests(context)
  await reportCspViolations(context)
  const page = await context.newPage()
  const problems = watchProblems(page)
  const answer = await page.goto(url)
  if (!answer) throw new Error(`no answer from ${url}`)
  return { context, page, answer, outside, problems }
}

interface AxeResult {
  violations: { id: string; impact: string | null; nodes: unknown[] }[]
}

/**
 * axe-core on the page as served. The page's CSP allows no script at all, so this context bypasses it
 * (`bypassCSP`, Playwright's switch for tests) to inject axe; the pages' own CSP is checked in the other tests.
 */
async function axe(url: string, viewport: { width: number; height: number }, label: string) {
  const { context, page } = await openPage(url, { viewport, bypassCSP: true })
  await page.addScriptTag({ content: AXE_SOURCE })
  const result = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] })`)) as AxeResult
  await context.close()
  const summary = result.violations.map((v) => `${v.id} (${v.impact ?? 'none'}, ${v.nodes.length} nodes)`)
  console.log(
    `axe-core on ${label}: ${result.violations.length} violations${summary.length ? `: ${summary.join('; ')}` : ''}`,
  )
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)
}

describe('the hosted invoice page in a browser', () => {
  test('when the page is opened, then it shows the number, the total and the amount due, styled under its strict CSP', async () => {
    const { context, page, answer, outside, problems } = await openPage(invoice.hostedUrl)
    expect(answer.status()).toBe(200)
    expect(answer.headers()['content-security-policy']).toBe(HOSTED_CSP)
    await expect(page.title()).resolves.toBe(`Invoice ${invoice.number}`)
    const heading = await page.getByRole('heading', { level: 1 }).textContent()
    expect(heading).toContain(invoice.number)
    const text = ((await page.locator('body').textContent()) ?? '').replace(/[\u00a0\u202f]/g, ' ')
    expect(text).toContain(money(invoice.total))
    expect(text).toMatch(new RegExp(`Amount due\\s*${money(invoice.amountDue).replace(/[$.]/g, '\\$&')}`))
    expect(text).toContain('Partially paid')
    expect(text).toContain('DE89 3704 0044 0532 0130 00')
    // The stylesheet applies: the inline style is allowed by its hash, and nothing else loaded or ran.
    const button = await page.evaluate("getComputedStyle(document.querySelector('a.button')).backgroundColor")
    expect(button).toBe('rgb(29, 78, 216)')
    await page.screenshot({ path: path.join(RESULTS, 'hosted-page-desktop.png'), fullPage: true })
    // Printed, the page keeps the document and drops the button.
    await page.emulateMedia({ media: 'print' })
    expect(await page.evaluate("getComputedStyle(document.querySelector('a.button')).display")).toBe('none')
    expect(await page.evaluate("getComputedStyle(document.querySelector('table.items')).display")).toBe(
      'table',
    )
    await context.close()
    expect({ outside, problems }).toEqual({ outside: [], problems: [] })
  })

  test('when the PDF button is clicked, then the browser downloads the stored PDF', async () => {
    const { context, page, outside, problems } = await openPage(invoice.hostedUrl, { acceptDownloads: true })
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: /Download PDF/ }).click(),
    ])
    expect(download.suggestedFilename()).toBe(`${invoice.number}.pdf`)
    const bytes = readFileSync((await download.path())!)
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-')
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(invoice.pdf.sha256)
    await context.close()
    expect({ outside, problems }).toEqual({ outside: [], problems: [] })
  })

  test('when the page is opened on a 375 × 667 phone, then nothing scrolls sideways', async () => {
    const { context, page, problems } = await openPage(invoice.hostedUrl, {
      viewport: PHONE,
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    })
    const widths = (await page.evaluate(`({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
      body: document.body.scrollWidth,
    })`)) as { scroll: number; client: number; body: number }
    expect(widths.client).toBe(PHONE.width)
    expect(widths.scroll).toBeLessThanOrEqual(widths.client)
    expect(widths.body).toBeLessThanOrEqual(widths.client)
    // On a phone the items' rows are stacked, each amount beside its label, rather than cut or scrolled.
    const stacked =
      await page.evaluate(`[...document.querySelectorAll('table.items tbody tr')].map((row) => ({
      display: getComputedStyle(row).display,
      labels: [...row.querySelectorAll('td.num')].map((cell) => getComputedStyle(cell, '::before').content),
    }))`)
    for (const row of stacked as { display: string; labels: string[] }[]) {
      expect(row.display).toBe('block')
      expect(row.labels.every((content) => content !== 'none' && content !== '')).toBe(true)
    }
    await page.screenshot({ path: path.join(RESULTS, 'hosted-page-phone.png'), fullPage: true })
    await context.close()
    expect(problems).toEqual([])
  })

  test('when axe-core checks the page on a desktop and a phone, and the 404 page, then it finds no serious or critical violation', async () => {
    const notFound = `${new URL(invoice.hostedUrl).origin}/i/${'A'.repeat(43)}`
    const serious = [
      ...(await axe(invoice.hostedUrl, DESKTOP, 'the invoice page (1280 × 900)')),
      ...(await axe(invoice.hostedUrl, PHONE, 'the invoice page (375 × 667)')),
      ...(await axe(notFound, DESKTOP, 'the 404 page')),
    ]
    expect(serious).toEqual([])
  })

  test('when the link is rotated, then the old address shows the 404 page and the new one the invoice', async () => {
    const rotated = await call<{ hostedUrl: string }>(
      'POST',
      `/api/v1/invoices/${invoice.id}/hosted-link/rotate`,
    )
    const old = await openPage(invoice.hostedUrl)
    expect(old.answer.status()).toBe(404)
    expect(await old.page.getByRole('heading', { level: 1 }).textContent()).toBe('Page not found')
    expect(await old.page.locator('body').textContent()).not.toContain(invoice.number)
    await old.context.close()
    const fresh = await openPage(rotated.hostedUrl)
    expect(await fresh.page.getByRole('heading', { level: 1 }).textContent()).toContain(invoice.number)
    await fresh.context.close()
    // Chromium reports the 404 status itself in the console; nothing else may appear.
    const problems = [...old.problems, ...fresh.problems].filter((p) => !/status of 404/.test(p))
    expect({ outside: [...old.outside, ...fresh.outside], problems }).toEqual({
      outside: [],
      problems: [],
    })
    invoice = { ...invoice, hostedUrl: rotated.hostedUrl }
  })
})
