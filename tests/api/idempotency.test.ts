import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createTestApp, type TestApp } from '../helpers/app'
import { testDatabaseUrl } from '../helpers/database'
import { ROOT, readLines, serverEnv } from '../helpers/server-process'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

const createCustomer = (token: string, body: unknown, key?: string) =>
  t.request('/api/v1/customers', {
    method: 'POST',
    token,
    json: body,
    headers: key === undefined ? {} : { 'idempotency-key': key },
  })

async function customerCount(token: string): Promise<number> {
  const res = await t.request('/api/v1/customers?limit=100', { token })
  return ((await res.json()) as { data: unknown[] }).data.length
}

describe('Idempotency-Key on POST', () => {
  test('when the same key and body are repeated, then the first answer is replayed and the work happens once', async () => {
    const token = await t.token()
    const first = await createCustomer(token, { name: 'Replay Ltd', email: 'a@replay.example' }, 'key-1')
    expect(first.status).toBe(201)
    const created = (await first.json()) as { id: string }
    const again = await createCustomer(token, { email: 'a@replay.example', name: 'Replay Ltd' }, 'key-1')
    expect(again.status).toBe(201)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.headers.get('location')).toBe(first.headers.get('location'))
    expect(((await again.json()) as { id: string }).id).toBe(created.id)
    expect(await customerCount(token)).toBe(1)
  })

  test('when the same key comes with another body, then 409 IDEMPOTENCY_KEY_REUSED and nothing is created', async () => {
    const token = await t.token()
    expect((await createCustomer(token, { name: 'One' }, 'key-2')).status).toBe(201)
    const res = await createCustomer(token, { name: 'Two' }, 'key-2')
    expect(res.status).toBe(409)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('IDEMPOTENCY_KEY_REUSED')
    expect(await customerCount(token)).toBe(1)
  })

  test('when another user sends the same key, then it is their own key and their work is done', async () => {
    const alice = await t.token()
    const bob = await t.token()
    expect((await createCustomer(alice, { name: 'Alice Co' }, 'shared-key')).status).toBe(201)
    const res = await createCustomer(bob, { name: 'Bob Co' }, 'shared-key')
    expect(res.status).toBe(201)
    expect(res.headers.get('idempotent-replayed')).toBeNull()
    expect(((await res.json()) as { name: string }).name).toBe('Bob Co')
  })

  test('when duplicates race, then exactly one customer is created and every answer names it', async () => {
    const token = await t.token()
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => createCustomer(token, { name: 'Race Ltd' }, 'race-key')),
    )
    const statuses = answers.map((r) => r.status)
    expect(statuses.every((s) => s === 201)).toBe(true)
    const ids = new Set(await Promise.all(answers.map(async (r) => ((await r.json()) as { id: string }).id)))
    expect(ids.size).toBe(1)
    expect(await customerCount(token)).toBe(1)
  })

  test('when a request fails validation, then its key is not consumed and the corrected request succeeds', async () => {
    const token = await t.token()
    const invalid = await createCustomer(token, { name: '' }, 'key-fixed-later')
    expect(invalid.status).toBe(400)
    const fixed = await createCustomer(token, { name: 'Fixed Ltd' }, 'key-fixed-later')
    expect(fixed.status).toBe(201)
    expect(fixed.headers.get('idempotent-replayed')).toBeNull()
  })

  test('when the key is too long or not printable ASCII, then 400 VALIDATION_ERROR and nothing is created', async () => {
    const token = await t.token()
    for (const key of ['k'.repeat(256), 'tab\there', 'clé']) {
      const res = await createCustomer(token, { name: 'Nope' }, key)
      expect(res.status).toBe(400)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_ERROR')
    }
    expect(await customerCount(token)).toBe(0)
  })

  test('when no key is sent, then each POST does its work', async () => {
    const token = await t.token()
    expect((await createCustomer(token, { name: 'A' })).status).toBe(201)
    expect((await createCustomer(token, { name: 'A' })).status).toBe(201)
    expect(await customerCount(token)).toBe(2)
  })

  test('when a claim was left behind by a process that died, then the retry does the work at once', async () => {
    const token = await t.token()
    const me = (await (await t.request('/api/v1/me', { token })).json()) as { id: string }
    // A committed claim without an answer, fresh and past any lease: what a killed process used to leave.
    for (const [key, age] of [
      ['crashed-fresh', '0 seconds'],
      ['crashed-stale', '61 seconds'],
    ] as const) {
      await t.deps.database.sql`
        insert into idempotency_keys (user_id, key, request_hash, state, locked_at)
        values (${me.id}, ${key}, 'unknown', 'in_progress', now() - ${age}::interval)`
      const started = performance.now()
      const res = await createCustomer(token, { name: `Retried ${key}` }, key)
      expect(res.status).toBe(201)
      expect(performance.now() - started).toBeLessThan(2_000)
      const again = await createCustomer(token, { name: `Retried ${key}` }, key)
      expect(again.headers.get('idempotent-replayed')).toBe('true')
    }
    expect(await customerCount(token)).toBe(2)
  })

  // A second session holds the claim: the embedded database serves one session, so this runs on a real server
  // (as in CI).
  test.skipIf(process.env['TEST_DATABASE_EMBEDDED'] === '1')(
    'when the holder of a claim loses its connection mid-request, then the waiting duplicate does the work',
    async () => {
      const token = await t.token()
      const me = (await (await t.request('/api/v1/me', { token })).json()) as { id: string }
      // Another process holds the claim in an open transaction and is killed, as a crashed server would be.
      const holder = Bun.spawn(
        ['bun', 'tests/helpers/claim-holder.ts', testDatabaseUrl(), me.id, 'held-by-dying'],
        { cwd: ROOT, env: serverEnv({}), stdout: 'pipe', stderr: 'inherit' },
      )
      try {
        await new Promise<void>((resolve) => {
          void readLines(holder.stdout, (line) => {
            if (line === 'claimed') resolve()
          })
        })
        const waiting = createCustomer(token, { name: 'Survivor' }, 'held-by-dying')
        await Bun.sleep(200)
        holder.kill('SIGKILL')
        const res = await waiting
        expect(res.status).toBe(201)
      } finally {
        holder.kill('SIGKILL')
        await holder.exited
      }
      expect(await customerCount(token)).toBe(1)
    },
  )
})
