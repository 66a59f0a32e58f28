import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ROOT, readLines, serverEnv } from '../helpers/server-process'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

/**
 * Limits that only a listening server shows: Bun answers oversized requests itself unless its limits are
 * raised, so these run against the real process started as `bun run start` starts it.
 */
let proc: ReturnType<typeof Bun.spawn> | undefined
let base = ''
let token = ''
const dataDir = mkdtempSync(path.join(tmpdir(), 'invoice-api-limits-'))

beforeAll(async () => {
  const env = serverEnv({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn' })
  const started = Bun.spawn(['bun', '--max-http-header-size=262144', 'src/index.ts'], {
    cwd: ROOT,
    env: { ...env, LOG_LEVEL: 'info' },
    stdout: 'pipe',
    stderr: 'inherit',
  })
  proc = started
  const port = await new Promise<number>((resolve, reject) => {
    void readLines(started.stdout as ReadableStream<Uint8Array>, (raw) => {
      const line = JSON.parse(raw) as Record<string, unknown>
      if (typeof line['port'] === 'number') resolve(line['port'])
    })
    void started.exited.then(() => reject(new Error('the server exited before listening')))
  })
  base = `http://127.0.0.1:${port}`
  const tokenProc = Bun.spawn(['bun', 'run', 'token', 'limits@example.com'], {
    cwd: ROOT,
    env,
    stdout: 'pipe',
    stderr: 'pipe',
  })
  token = (await new Response(tokenProc.stdout).text()).trim().split('\n').at(-1)!
}, 60_000)

afterAll(async () => {
  proc?.kill('SIGKILL')
  await proc?.exited
  rmSync(dataDir, { recursive: true, force: true })
})

async function expectEnvelope(res: Response, status: number, code: string) {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toContain('application/json')
  expect(res.headers.get('x-request-id')).toBeTruthy()
  expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  const body = (await res.json()) as { error: { code: string; requestId: string } }
  expect(body.error.code).toBe(code)
  expect(body.error.requestId).toBe(res.headers.get('x-request-id')!)
}

describe('request limits of the listening server', () => {
  test('when a body is over 8 MiB, then our 413 answers it, not the runtime', async () => {
    const res = await fetch(`${base}/api/v1/customers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: 'x'.repeat(9 * 1024 * 1024),
    })
    await expectEnvelope(res, 413, 'PAYLOAD_TOO_LARGE')
  })

  test('when a chunked body without a length passes 1 MiB, then 413 without reading the rest', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(256 * 1024))
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ >= 8) controller.close()
        else controller.enqueue(chunk)
      },
    })
    const res = await fetch(`${base}/api/v1/customers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    })
    await expectEnvelope(res, 413, 'PAYLOAD_TOO_LARGE')
  })

  test('when the request line is over 8 KiB, then 414 URI_TOO_LONG', async () => {
    for (const length of [9 * 1024, 70 * 1024]) {
      const res = await fetch(`${base}/api/v1/customers?q=${'a'.repeat(length)}`, {
        headers: { authorization: `Bearer ${token}` },
      })
      await expectEnvelope(res, 414, 'URI_TOO_LONG')
    }
  })

  test('when the headers are over 16 KiB, then 431 HEADERS_TOO_LARGE', async () => {
    const res = await fetch(`${base}/api/v1/me`, {
      headers: { authorization: `Bearer ${token}`, 'x-padding': 'p'.repeat(20 * 1024) },
    })
    await expectEnvelope(res, 431, 'HEADERS_TOO_LARGE')
  })

  test('when a request stays within every limit, then it is served', async () => {
    const res = await fetch(`${base}/api/v1/me`, {
      headers: { authorization: `Bearer ${token}`, 'x-padding': 'p'.repeat(14 * 1024) },
    })
    expect(res.status).toBe(200)
    const long = await fetch(`${base}/api/v1/customers?cursor=${'a'.repeat(7 * 1024)}`, {
      headers: { authorization: `Bearer ${token}` },
    })
    await expectEnvelope(long, 400, 'VALIDATION_ERROR')
  })
})
