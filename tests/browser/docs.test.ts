import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { DOCS_CSP } from '../../src/plugins/docs-page'
import {
  blockOutsideRequests,
  launchChromium,
  reportCspViolations,
  type ServerProcess,
  startServer,
  watchProblems,
} from './browser'

/**
 * The API reference as a reader sees it: the real server process, Debian's Chromium, and no network
 * beyond this machine. Every request elsewhere is refused and fails the test, so the page is proven to
 * work offline and to need nothing from a CDN.
 */

const SCREENSHOT = path.join(import.meta.dir, 'output', 'docs.png')
const STEP_TIMEOUT_MS = 15_000

type OpenApiDoc = {
  info: { title: string; description: string }
  tags: { name: string }[]
  paths: Record<string, Record<string, { tags?: string[]; summary?: string }>>
}

let server: ServerProcess | undefined
let browser: Browser | undefined
let context: BrowserContext
let outside: string[]
let doc: OpenApiDoc

beforeAll(async () => {
  const [started, launched] = await Promise.allSettled([startServer(), launchChromium()])
  if (started.status === 'fulfilled') server = started.value
  if (launched.status === 'fulfilled') browser = launched.value
  if (started.status === 'rejected') throw started.reason
  if (launched.status === 'rejected') throw launched.reason
  context = await browser!.newContext({ viewport: { width: 1280, height: 900 } })
  context.setDefaultTimeout(STEP_TIMEOUT_MS)
  outside = await blockOutsideRequests(context)
  await reportCspViolations(context)
  doc = (await (await fetch(`${server!.base}/docs/json`)).json()) as OpenApiDoc
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

/**
 * Opens the reference at `pathname` and checks what a reader sees there; returns the page. A failing step
 * reports the page's problems and outside requests too, as they are usually the cause.
 */
async function openReference(pathname: string): Promise<Page> {
  const page = await context.newPage()
  const problems = watchProblems(page)
  try {
    const bundle = page.waitForResponse((res) => /\/docs\/assets\/scalar-[^/]+\.js$/.test(res.url()))
    const answer = await page.goto(`${server!.base}${pathname}`)
    expect(answer?.status()).toBe(200)
    expect(answer?.headers()['content-security-policy']).toBe(DOCS_CSP)
    expect((await bundle).headers()['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(await page.title()).toBe(doc.info.title)
    expect(await page.locator('meta[name="description"]').getAttribute('content')).toBe(doc.info.description)

    await page.getByRole('heading', { name: doc.info.title, level: 1 }).waitFor()
    const sidebar = page.getByRole('complementary')
    for (const tag of doc.tags) await sidebar.getByRole('link', { name: tag.name, exact: true }).waitFor()

    // A tag other than the first opens from the sidebar and lists its operations by their summaries.
    const tag = 'Invoices'
    const summaries = Object.values(doc.paths)
      .flatMap((operations) => Object.values(operations))
      .filter((operation) => operation.tags?.includes(tag))
      .map((operation) => operation.summary!)
    expect(summaries).toContain('Issue a draft')
    await sidebar.getByRole('link', { name: tag, exact: true }).click()
    for (const summary of summaries) await sidebar.getByText(summary, { exact: true }).waitFor()
  } catch (error) {
    throw new Error(
      `${pathname}: ${(error as Error).message}\n${JSON.stringify({ outside, problems }, null, 2)}`,
    )
  }
  expect({ pathname, outside, problems }).toEqual({ pathname, outside: [], problems: [] })
  return page
}

describe('the API reference in a browser, offline', () => {
  test('when /docs/json is read, then it names the API, lists its tags and none of the reference page routes', () => {
    expect(doc.info.title).toBe('Invoice API')
    expect(doc.tags.map((t) => t.name)).toEqual(
      expect.arrayContaining(['Health', 'Profile', 'Invoices', 'Customers', 'Reports']),
    )
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/docs'))).toEqual([])
  })

  test('when /docs is opened, then the title, every tag and the operations of a tag show, with nothing from elsewhere', async () => {
    const page = await openReference('/docs')
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true })
    await page.evaluate('window.scrollTo(0, 0)')
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    await page.close()
  }, 30_000)

  test('when /docs/ is opened, then the same reference shows, reading the document at its absolute path', async () => {
    const page = await openReference('/docs/')
    await page.close()
  }, 30_000)
})
