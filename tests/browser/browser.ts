import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { ROOT, readLines, serverEnv } from '../helpers/server-process'

/** Debian's Chromium; browser tests never download one. */
export const CHROMIUM = '/usr/bin/chromium'

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Fails, never skips, without Chromium: CI must run browser tests. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: browser tests drive Debian's Chromium. ` +
        'Install it with `apt-get install -y --no-install-recommends chromium` (.ci/run does).',
    )
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** This machine only: the loopback addresses, and URLs that are no request at all (`data:`, `blob:`). */
export function isLocal(url: string): boolean {
  const { protocol, hostname } = new URL(url)
  if (protocol === 'data:' || protocol === 'blob:') return true
  return (protocol === 'http:' || protocol === 'https:') && LOOPBACK_HOSTS.has(hostname)
}

/**
 * Refuses every request of the context that would leave the machine, and lists them: a page that works
 * with this in place works offline, and the list must stay empty for it to need nothing from elsewhere.
 */
export async function blockOutsideRequests(context: BrowserContext): Promise<string[]> {
  const attempted: string[] = []
  await context.route('**/*', (route) => {
    const url = route.request().url()
    if (isLocal(url)) return route.continue()
    attempted.push(url)
    return route.abort('blockedbyclient')
  })
  return attempted
}

/**
 * Reports each Content-Security-Policy violation of the context's pages as a console error, from a listener
 * installed before any script of a page runs, so that none goes unseen even when the page catches the error.
 */
export async function reportCspViolations(context: BrowserContext): Promise<void> {
  await context.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (event) => {
      console.error('CSP violation: ' + event.violatedDirective + ' blocked ' + (event.blockedURI || 'inline'))
    })`,
  })
}

/** Console errors and warnings (CSP violations among them) and uncaught exceptions of a page. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      problems.push(`console.${message.type()}: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`))
  return problems
}

export interface ServerProcess {
  base: string
  stop(): Promise<void>
}

/**
 * The server as `bun run start` starts it, on a free port, over the run's database (already migrated, so it
 * starts in a second), or over its own embedded one when the run's is the single-session embedded PGlite.
 */
export async function startServer(): Promise<ServerProcess> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'invoice-api-browser-'))
  const database: Record<string, string> =
    process.env['TEST_DATABASE_EMBEDDED'] === '1'
      ? {}
      : { DATABASE_URL: process.env['TEST_DATABASE_URL'] ?? '', DB_POOL_MIN: '1', DB_POOL_MAX: '2' }
  const proc = Bun.spawn(['bun', '--max-http-header-size=262144', 'src/index.ts'], {
    cwd: ROOT,
    env: serverEnv({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', ...database }),
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const stop = async () => {
    proc.kill('SIGKILL')
    await proc.exited
    rmSync(dataDir, { recursive: true, force: true })
  }
  try {
    const port = await new Promise<number>((resolve, reject) => {
      void readLines(proc.stdout, (raw) => {
        if (!raw.startsWith('{')) return
        const line = JSON.parse(raw) as Record<string, unknown>
        if (typeof line['port'] === 'number') resolve(line['port'])
      })
      void proc.exited.then(() => reject(new Error('the server exited before listening')))
    })
    return { base: `http://127.0.0.1:${port}`, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
