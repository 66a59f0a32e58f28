import { Elysia, t } from 'elysia'
import type { DatabaseHandle } from '../../lib/db'
import type { Logger } from '../../lib/logger'
import type { ObjectStorage } from '../../lib/storage/types'

const CHECK_TIMEOUT_MS = 2_000

const Check = t.Union([t.Literal('ok'), t.Literal('fail')])
const Readiness = t.Object({
  status: t.Union([t.Literal('ok'), t.Literal('fail')]),
  checks: t.Object({ database: Check, storage: Check }),
})

async function probe(name: string, run: () => Promise<void>, logger: Logger): Promise<'ok' | 'fail'> {
  let timer: Timer | undefined
  try {
    await Promise.race([
      run(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name} check timed out`)), CHECK_TIMEOUT_MS)
      }),
    ])
    return 'ok'
  } catch (error) {
    logger.warn({ err: error, check: name }, 'readiness check failed')
    return 'fail'
  } finally {
    clearTimeout(timer)
  }
}

export function healthModule(deps: { database: DatabaseHandle; storage: ObjectStorage; logger: Logger }) {
  return new Elysia({ name: 'health', detail: { tags: ['Health'] } })
    .get('/health', () => ({ status: 'ok' as const, timestamp: new Date().toISOString() }), {
      response: { 200: t.Object({ status: t.Literal('ok'), timestamp: t.String({ format: 'date-time' }) }) },
      detail: { summary: 'Liveness: the process answers; touches nothing else', security: [] },
    })
    .get(
      '/health/ready',
      async ({ set }) => {
        const [database, storage] = await Promise.all([
          probe('database', deps.database.ping, deps.logger),
          probe('storage', () => deps.storage.check(), deps.logger),
        ])
        const ok = database === 'ok' && storage === 'ok'
        if (!ok) set.status = 503
        return { status: ok ? ('ok' as const) : ('fail' as const), checks: { database, storage } }
      },
      {
        response: { 200: Readiness, 503: Readiness },
        detail: {
          summary: 'Readiness: the database answers a query and the object store can be reached',
          security: [],
        },
      },
    )
}
