import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Subprocess } from 'bun'

// Installing and starting a server take seconds on a busy 2-core machine.
setDefaultTimeout(120_000)

/**
 * The runtime image's application layer, assembled the way the Dockerfile assembles it (without Docker): the
 * production dependencies as its `deps` stage installs them, the sources and the vendored API reference bundle
 * as its `build` stage leaves them. The server must start from that tree alone on its embedded defaults, serve
 * the reference page, render a PDF, and the tree must not carry what only development needs.
 */
const ROOT = path.resolve(import.meta.dir, '../..')
let dir: string
let server: Subprocess | undefined
let base: string

function sizeOf(target: string): number {
  const stat = statSync(target, { throwIfNoEntry: false })
  if (!stat) return 0
  if (!stat.isDirectory()) return stat.size
  return readdirSync(target).reduce((sum, entry) => sum + sizeOf(path.join(target, entry)), 0)
}

async function run(cmd: string[], cwd: string): Promise<void> {
  const proc = Bun.spawn(cmd, { cwd, stdout: 'pipe', stderr: 'pipe', env: { ...process.env } })
  if ((await proc.exited) !== 0)
    throw new Error(`${cmd.join(' ')}: ${await new Response(proc.stderr).text()}`)
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'invoice-api-image-'))
  for (const entry of ['package.json', 'bun.lock', 'tsconfig.json', 'src', 'db', 'scripts']) {
    cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true })
  }
  // The Dockerfile's deps stage.
  await run(['bun', 'install', '--frozen-lockfile', '--production', '--omit=peer', '--ignore-scripts'], dir)
  // The build stage's copy of the reference page bundle.
  const vendored = path.join(dir, 'vendor', 'scalar-api-reference')
  mkdirSync(vendored, { recursive: true })
  const scalar = path.join(ROOT, 'node_modules', '@scalar', 'api-reference')
  cpSync(path.join(scalar, 'package.json'), path.join(vendored, 'package.json'))
  cpSync(path.join(scalar, 'dist', 'browser', 'standalone.js'), path.join(vendored, 'standalone.js'))

  const port = 20_000 + Math.floor(Math.random() * 20_000)
  base = `http://127.0.0.1:${port}`
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '/tmp',
    PORT: String(port),
    DATA_DIR: path.join(dir, 'data'),
    LOG_LEVEL: 'warn',
  }
  server = Bun.spawn(['bun', '--max-http-header-size=262144', 'src/index.ts'], {
    cwd: dir,
    env,
    stdout: 'ignore',
    stderr: 'inherit',
  })
  const until = Date.now() + 90_000
  for (;;) {
    const ok = await fetch(`${base}/health`)
      .then((r) => r.ok)
      .catch(() => false)
    if (ok) break
    if (Date.now() > until) throw new Error('the server from the image tree did not start')
    await Bun.sleep(250)
  }
})

afterAll(async () => {
  server?.kill('SIGTERM')
  await server?.exited
  rmSync(dir, { recursive: true, force: true })
})

describe('the runtime image tree', () => {
  test('when assembled as the Dockerfile does, then it has no development packages and stays small', () => {
    const modules = path.join(dir, 'node_modules')
    for (const devOnly of [
      'typescript',
      'bun-types',
      '@types',
      '@scalar',
      '@biomejs',
      'playwright-core',
      'saxon-js',
    ]) {
      expect(existsSync(path.join(modules, devOnly)), devOnly).toBe(false)
    }
    const mib = sizeOf(modules) / 2 ** 20
    console.log(`runtime node_modules: ${mib.toFixed(1)} MiB`)
    // 481 MB on disk (du) before the reference page's package became a development dependency and peers were
    // omitted; 126 MB after (92 MiB of file contents).
    expect(mib).toBeLessThan(200)
  })

  test('when the server runs from it, then the reference page, its bundle, the OpenAPI document and a PDF are served', async () => {
    const page = await fetch(`${base}/docs`)
    expect(page.status).toBe(200)
    const script = /\/docs\/assets\/scalar-[^"]+\.js/.exec(await page.text())?.[0]
    expect(script).toBeDefined()
    const bundle = await fetch(`${base}${script}`)
    expect(bundle.status).toBe(200)
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(1_000_000)
    expect((await fetch(`${base}/docs/json`)).status).toBe(200)

    const token = (
      await new Response(
        Bun.spawn(['bun', 'scripts/token.ts', 'image@example.com'], {
          cwd: dir,
          env: { PATH: process.env['PATH'] ?? '', DATA_DIR: path.join(dir, 'data') },
          stdout: 'pipe',
        }).stdout,
      ).text()
    )
      .trim()
      .split('\n')
      .at(-1)!
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    const customer = (await (
      await fetch(`${base}/api/v1/customers`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'Zoë Müller' }),
      })
    ).json()) as { id: string }
    const invoice = (await (
      await fetch(`${base}/api/v1/invoices`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          customerId: customer.id,
          currency: 'EUR',
          items: [{ description: 'Design', quantity: 3, unitPrice: 1999, taxRate: 19 }],
        }),
      })
    ).json()) as { id: string }
    const sent = await fetch(`${base}/api/v1/invoices/${invoice.id}/mark-as-sent`, {
      method: 'POST',
      headers,
    })
    expect(sent.status).toBe(200)
    const { pdf } = (await sent.json()) as { pdf: { size: number } }
    expect(pdf.size).toBeGreaterThan(1000)
  })
})
