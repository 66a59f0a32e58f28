import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ROOT, readLines, serverEnv } from '../helpers/server-process'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

/** Spawning Bun and starting PGlite takes seconds on a busy machine; a slow start is not a failure. */
const PROCESS_TIMEOUT_MS = 60_000

describe('the server process', () => {
  test(
    'when NODE_ENV=production has no configuration, then start-up stops with one message listing every problem',
    async () => {
      const proc = Bun.spawn(['bun', 'src/index.ts'], {
        cwd: ROOT,
        env: serverEnv({ NODE_ENV: 'production' }),
        stdout: 'pipe',
        stderr: 'pipe',
      })
      const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
      expect(code).toBe(1)
      expect(stderr).toContain('DATABASE_URL')
      expect(stderr).toContain('S3_BUCKET')
      expect(stderr).toContain('COGNITO')
    },
    PROCESS_TIMEOUT_MS,
  )

  test(
    'when started with no configuration, then it serves on the embedded defaults, accepts a dev token, and SIGTERM exits 0',
    async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'invoice-api-process-'))
      const env = serverEnv({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' })
      const proc = Bun.spawn(['bun', 'src/index.ts'], { cwd: ROOT, env, stdout: 'pipe', stderr: 'inherit' })
      const lines: Record<string, unknown>[] = []
      let resolvePort: (port: number) => void = () => {}
      const portPromise = new Promise<number>((resolve) => {
        resolvePort = resolve
      })
      const reading = readLines(proc.stdout, (raw) => {
        const line = JSON.parse(raw) as Record<string, unknown>
        lines.push(line)
        if (typeof line['port'] === 'number') resolvePort(line['port'])
      })
      try {
        const port = await Promise.race([
          portPromise,
          proc.exited.then(() => Promise.reject(new Error('exited early'))),
        ])
        const base = `http://127.0.0.1:${port}`
        expect((await fetch(`${base}/health`)).status).toBe(200)
        expect(await (await fetch(`${base}/health/ready`)).json()).toMatchObject({ status: 'ok' })

        const tokenProc = Bun.spawn(['bun', 'run', 'token', 'founder@example.com'], {
          cwd: ROOT,
          env,
          stdout: 'pipe',
          stderr: 'pipe',
        })
        const tokenOut = await new Response(tokenProc.stdout).text()
        expect(await tokenProc.exited).toBe(0)
        const token = tokenOut.trim().split('\n').at(-1)!
        const me = await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })
        expect(me.status).toBe(200)
        expect(((await me.json()) as { email: string }).email).toBe('founder@example.com')

        proc.kill('SIGTERM')
        expect(await proc.exited).toBe(0)
        await reading
        expect(lines.some((l) => l['message'] === 'shutdown complete')).toBe(true)
      } finally {
        proc.kill('SIGKILL')
        rmSync(dataDir, { recursive: true, force: true })
      }
    },
    PROCESS_TIMEOUT_MS,
  )
})
