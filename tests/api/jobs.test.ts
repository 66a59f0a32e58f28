import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { sql } from 'kysely'
import { type DatabaseHandle, openDatabase } from '../../src/lib/db'
import { createJobQueue, type JobQueue } from '../../src/lib/jobs'
import { createLogger } from '../../src/lib/logger'
import { sharedDatabase, testDatabaseUrl } from '../helpers/database'

// Servers, queues and receivers take seconds on a busy 2-core machine (tests/setup.ts: a preload's default
// timeout reaches only the first file).
setDefaultTimeout(30_000)

/**
 * The job queue over the run's real database: pg-boss in its own schema, driven through our pool. On the
 * embedded PGlite (one session) the "second process" shares the one pool: two queue instances still compete
 * for the same jobs, only not over two connections.
 */
const embedded = process.env['TEST_DATABASE_EMBEDDED'] === '1'
const SCHEMA = 'pgboss_jobs_test'
const logger = createLogger({
  logLevel: (process.env['JOBS_TEST_LOG'] as 'info') ?? 'silent',
  logPretty: false,
})

let first: DatabaseHandle
let second: DatabaseHandle
const queues: JobQueue[] = []

beforeAll(async () => {
  first = await sharedDatabase()
  second = embedded
    ? first
    : await openDatabase(
        {
          databaseUrl: testDatabaseUrl(),
          dataDir: '/nonexistent',
          db: {
            poolMin: 1,
            poolMax: 5,
            idleTimeoutSeconds: 30,
            connectTimeoutSeconds: 5,
            statementTimeoutMs: 15_000,
            slowQueryMs: 5_000,
          },
        },
        logger,
      )
})

afterAll(async () => {
  await Promise.all(queues.map((queue) => queue.stop({ timeoutMs: 1000 })))
  await sql.raw(`drop schema if exists ${SCHEMA} cascade`).execute(first.db.withoutPlugins())
  if (second !== first) await second.close()
})

/** A queue instance as one process would have it, over `database`'s pool. */
function queueOn(database: DatabaseHandle, onJobDone?: (name: string, seconds: number, ok: boolean) => void) {
  const queue = createJobQueue({
    db: database.db,
    ...(embedded ? {} : { databaseUrl: testDatabaseUrl() }),
    logger,
    schema: SCHEMA,
    pollIntervalMs: 100,
    cronIntervalSeconds: 1,
    ...(onJobDone ? { onJobDone } : {}),
  })
  queues.push(queue)
  return queue
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await Bun.sleep(20)
  }
}

let counter = 0
const queueName = (what: string) => `${what}-${Date.now().toString(36)}-${counter++}`

describe('job queue (pg-boss over our pool)', () => {
  test('when a job is sent in a transaction that commits, then it runs once; in one that rolls back, never', async () => {
    const name = queueName('commit')
    const done: string[] = []
    const timings: boolean[] = []
    const queue = queueOn(first, (_name, _seconds, ok) => timings.push(ok))
    await queue.work<{ outcome: string }>(name, {}, async (job) => {
      done.push(job.data.outcome)
    })
    await queue.start()

    await first.db.transaction().execute((trx) => queue.send(trx, name, { outcome: 'committed' }))
    const rolledBack = first.db.transaction().execute(async (trx) => {
      await queue.send(trx, name, { outcome: 'rolled back' })
      throw new Error('roll back')
    })
    await expect(rolledBack).rejects.toThrow('roll back')

    await until(() => done.length === 1)
    await Bun.sleep(500)
    expect(done).toEqual(['committed'])
    expect(timings).toEqual([true])
    await queue.stop()
  }, 15_000)

  test('when a statement of the caller embeds the job insert, then its jobs run once each with their data and end completed; rolled back, none exists', async () => {
    const name = queueName('embedded')
    const done: number[] = []
    const queue = queueOn(first)
    await queue.work<{ n: number }>(name, { concurrency: 4 }, async (job) => {
      done.push(job.data.n)
    })
    await queue.start()
    const embedded = queue.embeddedInsert(name)
    const insertMany = (values: number[]) =>
      sql`with jobs as (
            ${embedded.insert(sql`(select json_agg(json_build_object('data', json_build_object('n', v)))
                                    from unnest(${values}::int[]) v)`)}
          )
          select ${embedded.notify} as woken`
    await first.db.transaction().execute((trx) => insertMany([1, 2, 3, 4, 5, 6, 7]).execute(trx))
    const rolledBack = first.db.transaction().execute(async (trx) => {
      await insertMany([100, 101]).execute(trx)
      throw new Error('roll back')
    })
    await expect(rolledBack).rejects.toThrow('roll back')
    // NULL (nothing to insert) inserts nothing and is no error.
    await first.db.transaction().execute((trx) => insertMany([]).execute(trx))

    await until(() => done.length === 7)
    // Completions are written in batches shortly after the jobs finish.
    const states = async () =>
      (
        await sql<{
          state: string
          n: number
        }>`select state, count(*)::int as n from ${sql.table(`${SCHEMA}.job`)}
                                                 where name = ${name} group by state`.execute(
          first.db.withoutPlugins(),
        )
      ).rows
    await until(async () => {
      const rows = await states()
      return rows.length === 1 && rows[0]!.state === 'completed'
    })
    await Bun.sleep(300)
    expect(done.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(await states()).toEqual([{ state: 'completed', n: 7 }])
    expect(() => queue.embeddedInsert("x'; drop table users; --")).toThrow()
    await queue.stop()
  })

  test('when a handler throws, then the queue retries the job and the retry succeeds', async () => {
    const name = queueName('retry')
    const attempts: number[] = []
    const queue = queueOn(first)
    await queue.work<{ n: number }>(name, { retryLimit: 2, retryDelaySeconds: 0 }, async (job) => {
      attempts.push(job.attempt)
      if (job.attempt === 0) throw new Error('the receiver is down')
    })
    await queue.start()
    await queue.sendNow(name, { n: 1 })
    await until(() => attempts.length === 2)
    await Bun.sleep(300)
    expect(attempts).toEqual([0, 1])
    await queue.stop()
  })

  test('when two instances on separate pools work one queue, then each of 500 jobs runs exactly once', async () => {
    const name = queueName('once')
    const runs = new Map<number, string[]>()
    const queueA = queueOn(first)
    const queueB = queueOn(second)
    for (const [label, queue] of [
      ['a', queueA],
      ['b', queueB],
    ] as const) {
      await queue.work<{ n: number }>(name, { concurrency: 10 }, async (job) => {
        runs.set(job.data.n, [...(runs.get(job.data.n) ?? []), label])
        await Bun.sleep(Math.random() * 3)
      })
    }
    await queueA.start()
    await queueB.start()
    for (let batch = 0; batch < 5; batch++) {
      await first.db.transaction().execute(async (trx) => {
        for (let n = batch * 100; n < (batch + 1) * 100; n++) await queueA.send(trx, name, { n })
      })
    }
    await until(() => runs.size === 500, 20_000)
    await Bun.sleep(300)
    expect([...runs.values()].filter((by) => by.length !== 1)).toEqual([])
    const byA = [...runs.values()].filter(([by]) => by === 'a').length
    if (!embedded) expect(byA).toBeGreaterThan(0)
    if (!embedded) expect(byA).toBeLessThan(500)
    await Promise.all([queueA.stop(), queueB.stop()])
  }, 30_000)

  test('when stop() comes during a job, then the job finishes and a job not yet started is left for another instance', async () => {
    const name = queueName('stop')
    const events: string[] = []
    const handler = (instance: string) => async (job: { data: { n: number } }) => {
      events.push(`${instance} start ${job.data.n}`)
      await Bun.sleep(400)
      events.push(`${instance} end ${job.data.n}`)
    }
    const queueA = queueOn(first)
    await queueA.work(name, { concurrency: 1, retryDelaySeconds: 0 }, handler('a'))
    await queueA.start()
    await queueA.sendNow(name, { n: 1 })
    await until(() => events.includes('a start 1'))
    await queueA.sendNow(name, { n: 2 })
    await queueA.stop({ timeoutMs: 5000 })
    expect(events).toEqual(['a start 1', 'a end 1'])

    const queueB = queueOn(second)
    await queueB.work(name, { concurrency: 1, retryDelaySeconds: 0 }, handler('b'))
    await queueB.start()
    await until(() => events.includes('b end 2'))
    await Bun.sleep(300)
    expect(events).toEqual(['a start 1', 'a end 1', 'b start 2', 'b end 2'])
    await queueB.stop()
  }, 15_000)

  test('when stop() outlasts its timeout, then the unfinished job is released and another instance runs it', async () => {
    const name = queueName('release')
    const events: string[] = []
    const queueA = queueOn(first)
    // Its last attempt: released, it still gets another.
    await queueA.work(name, { retryLimit: 0, retryDelaySeconds: 0 }, async () => {
      events.push('a start')
      await Bun.sleep(1500)
      events.push('a end')
    })
    await queueA.start()
    await queueA.sendNow(name, {})
    await until(() => events.includes('a start'))
    await queueA.stop({ timeoutMs: 100 })

    const queueB = queueOn(second)
    await queueB.work<Record<string, never>>(name, { retryLimit: 0, retryDelaySeconds: 0 }, async (job) => {
      events.push(`b run attempt ${job.attempt}`)
    })
    await queueB.start()
    await until(() => events.includes('b run attempt 1'))
    expect(events.filter((event) => event.startsWith('b'))).toEqual(['b run attempt 1'])
    await queueB.stop()
  })

  test('when a job is scheduled every minute, then it fires', async () => {
    const name = queueName('cron')
    const fired: unknown[] = []
    const queue = queueOn(first)
    await queue.work(name, {}, async (job) => {
      fired.push(job.data)
    })
    await queue.schedule(name, '* * * * *', { kind: 'tick' })
    await queue.start()
    await until(() => fired.length > 0, 15_000)
    expect(fired[0]).toEqual({ kind: 'tick' })
    await queue.stop()
  }, 20_000)

  test('when jobs wait, run, are deferred or share a singleton key, then depth() counts them per queue', async () => {
    const waiting = queueName('depth-waiting')
    const busy = queueName('depth-busy')
    let release = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const queue = queueOn(first)
    await queue.work(busy, { concurrency: 2 }, () => held)
    await queue.start()
    for (let n = 0; n < 3; n++) await queue.sendNow(waiting, { n })
    await queue.sendNow(waiting, { n: 3 }, { startAfterSeconds: 3600 })
    for (let n = 0; n < 3; n++) await queue.sendNow(busy, { n })

    await until(async () => (await queue.depth())[busy]?.active === 2)
    const depth = await queue.depth()
    expect(depth[waiting]).toEqual({ queued: 4, active: 0 })
    expect(depth[busy]).toEqual({ queued: 1, active: 2 })
    // A second send with the key of a job that still waits replaces it rather than adding one.
    const keyed = queueName('depth-keyed')
    await queue.sendNow(keyed, { v: 1 }, { singletonKey: 'k', startAfterSeconds: 3600 })
    await queue.sendNow(keyed, { v: 2 }, { singletonKey: 'k', startAfterSeconds: 3600 })
    await queue.sendNow(keyed, { v: 3 }, { singletonKey: 'other', startAfterSeconds: 3600 })
    expect((await queue.depth())[keyed]).toEqual({ queued: 2, active: 0 })
    release()
    await until(async () => (await queue.depth())[busy]?.active === 0)
    expect((await queue.depth())[busy]).toEqual({ queued: 0, active: 0 })
    await queue.stop()
  })
})
