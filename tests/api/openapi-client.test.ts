import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import openapiTS, { astToString } from 'openapi-typescript'
import { createTestApp, type TestApp } from '../helpers/app'
import { ROOT } from '../helpers/server-process'

// Servers take seconds on a busy 2-core machine (tests/setup.ts: a preload's default timeout reaches only the
// first file).
setDefaultTimeout(30_000)

// The README's "Clients" section, run: types generated from /docs/json with openapi-typescript, the snippet
// type-checked with the project's TypeScript against them, then the same calls made with openapi-fetch.

let t: TestApp
const generated = path.join(ROOT, 'tests', '.generated', `openapi-client-${process.pid}`)
beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' })
  mkdirSync(generated, { recursive: true })
})
afterAll(async () => {
  await t.close()
  rmSync(generated, { recursive: true, force: true })
})

const SNIPPET = `import createClient from 'openapi-fetch'
import type { paths } from './invoice-api'

export async function tour(baseUrl: string, token: string) {
  const client = createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${token}\` } })
  const customer = await client.POST('/api/v1/customers', { body: { name: 'Zoë Müller' } })
  if (!customer.data) throw new Error(customer.error?.error.message)
  const invoices = await client.GET('/api/v1/invoices', { params: { query: { limit: 10 } } })
  const first: string | undefined = invoices.data?.data[0]?.id
  return { customerId: customer.data.id, first }
}
`

describe('a client generated from the OpenAPI document', () => {
  test('when types are generated from /docs/json, then the README snippet type-checks against them', async () => {
    const doc = await (await t.request('/docs/json')).json()
    const types = astToString(await openapiTS(doc as Parameters<typeof openapiTS>[0]))
    expect(types).toContain('"/api/v1/invoices/{id}/mark-as-sent"')
    writeFileSync(path.join(generated, 'invoice-api.d.ts'), types)
    writeFileSync(path.join(generated, 'snippet.ts'), SNIPPET)
    const tsc = Bun.spawn(
      [
        process.execPath,
        path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--target',
        'es2022',
        '--module',
        'esnext',
        '--moduleResolution',
        'bundler',
        path.join(generated, 'snippet.ts'),
      ],
      { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' },
    )
    const [out, code] = await Promise.all([new Response(tsc.stdout).text(), tsc.exited])
    expect(out).toBe('')
    expect(code).toBe(0)
  }, 60_000)

  test('when the snippet runs against the listening API, then it creates and lists as the document says', async () => {
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (request) => t.app.handle(request) })
    try {
      const { tour } = (await import(path.join(generated, 'snippet.ts'))) as {
        tour: (baseUrl: string, token: string) => Promise<{ customerId: string; first: string | undefined }>
      }
      const result = await tour(`http://127.0.0.1:${server.port}`, await t.token())
      expect(result.customerId).toMatch(/^[0-9a-f-]{36}$/)
      expect(result.first).toBeUndefined()
    } finally {
      await server.stop(true)
    }
  })
})
