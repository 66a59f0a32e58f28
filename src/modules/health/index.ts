import { Elysia, t } from 'elysia'
import { createMigrator } from '../../../db/migrator'
import type { DatabaseHandle } from '../../lib/db'
import type { Logger } from '../../lib/logger'
import type { ObjectStorage } from '../../lib/storage/types'

const CHECK_TIMEOUT_MS = 2_000

const Check = t.Union([t.Literal('ok'), t.Literal('fail')])
const Readiness = t.Object({
  status: t.Union([t.Literal('ok'), t.Literal('fail')]),
  checks: t.Object({
    database: Check,
    migrations: t.Union([t.Literal('ok'), t.Literal('pending'), t.Literal('fail')], {
      description: '`pending` while migrations this version needs have not run (every API call would fail)',
    }),
    storage: t.Union([t.Literal('ok'), t.Literal('degraded')], {
      description: 'An object-store outage keeps the instance ready: only PDF downloads and sends need it',
    }),
  }),
})

/**
 * True once every migration this build ships has run on the database. A current schema stays current for the
 * life of the process (migrations only move forward), so the migration table is read until then, not after.
 */
function migrationsCurrent(database: DatabaseHandle): () => Promise<boolean> {
  let current = false
  return async () => {
    if (current) return true
    const migrations = await createMigrator(database.db).getMigrations()
    current = migrations.every((migration) => migration.executedAt !== undefined)
    return current
  }
}

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
  const schemaCurrent = migrationsCurrent(deps.database)
  return new Elysia({ name: 'health', detail: { tags: ['Health'] } })
    .get('/health', () => ({ status: 'ok' as const, timestamp: new Date().toISOString() }), {
      response: { 200: t.Object({ status: t.Literal('ok'), timestamp: t.String({ format: 'date-time' }) }) },
      detail: { summary: 'Liveness: the process answers; touches nothing else', security: [] },
    })
    .get(
      '/health/ready',
      async ({ set }) => {
        const [database, migrations, storage] = await Promise.all([
          probe('database', deps.database.ping, deps.logger),
          probe(
            'migrations',
            async () => {
              if (!(await schemaCurrent())) throw new Error('migrations are pending')
            },
            deps.logger,
          ),
          probe('storage', () => deps.storage.check(), deps.logger),
        ])
        const migrationState =
          migrations === 'ok' ? ('ok' as const) : database === 'ok' ? ('pending' as const) : ('fail' as const)
        // Storage is reported, not required: an object-store outage would otherwise take every instance out of
        // rotation at once, though everything but PDFs still works.
        const ok = database === 'ok' && migrationState === 'ok'
        if (!ok) set.status = 503
        return {
          status: ok ? ('ok' as const) : ('fail' as const),
          checks: {
            database,
            migrations: migrationState,
            storage: storage === 'ok' ? ('ok' as const) : ('degraded' as const),
          },
        }
      },
      {
        response: { 200: Readiness, 503: Readiness },
        detail: {
          summary:
            'Readiness: the database answers a query and its migrations are current (the object store is reported, not required)',
          security: [],
        },
      },
    )
}
