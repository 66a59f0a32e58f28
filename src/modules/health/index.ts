import { readdir } from 'node:fs/promises'
import { Elysia, t } from 'elysia'
import { sql } from 'kysely'
import { MIGRATION_FOLDER } from '../../../db/migrator'
import type { DatabaseHandle } from '../../lib/db'
import type { Logger } from '../../lib/logger'
import type { ObjectStorage } from '../../lib/storage/types'
import { described, literals, named } from '../../shared/schemas'

const CHECK_TIMEOUT_MS = 2_000

const Check = literals(['ok', 'fail'])
const Health = named(
  'Health',
  t.Object({ status: t.Literal('ok'), timestamp: t.String({ format: 'date-time' }) }),
)

const Readiness = named(
  'Readiness',
  t.Object(
    {
      status: literals(['ok', 'fail']),
      checks: t.Object({
        database: Check,
        migrations: literals(['ok', 'pending', 'fail'], {
          description:
            '`pending` while migrations this version needs have not run (every API call would fail)',
        }),
        storage: literals(['ok', 'degraded'], {
          description:
            'An object-store outage keeps the instance ready: only PDF downloads and sends need it',
        }),
      }),
    },
    {
      description:
        'Each check; `status` is `fail` (and the answer 503) when the database or its migrations are not ready',
    },
  ),
)

/**
 * True once every migration this build ships has run on the database: one read of the migration table against
 * the names of the migration files. A current schema stays current for the life of the process (migrations only
 * move forward), so the table is read until then, not after.
 */
function migrationsCurrent(database: DatabaseHandle) {
  let current = false
  let shipped: string[] | undefined
  /** Whether the schema was seen current, without asking the database. */
  const known = () => current
  const check = async (): Promise<boolean> => {
    if (current) return true
    shipped ??= (await readdir(MIGRATION_FOLDER))
      .filter((file) => /\.(ts|js)$/.test(file) && !file.endsWith('.d.ts'))
      .map((file) => file.replace(/\.(ts|js)$/, ''))
    const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(database.db).then(
      (result) => new Set(result.rows.map((row) => row.name)),
      (error: { code?: string }) => {
        // No migration table yet: nothing has run.
        if (error.code === '42P01') return new Set<string>()
        throw error
      },
    )
    current = shipped.every((name) => applied.has(name))
    return current
  }
  return { check, known }
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
      response: { 200: Health },
      detail: {
        operationId: 'getHealth',
        summary: 'Liveness: the process answers; touches nothing else',
        description:
          'For a process supervisor: answers as long as the process serves requests, whatever its database.',
        security: [],
      },
    })
    .get(
      '/health/ready',
      async ({ set }) => {
        // The database first, then (on the same connection's turn) its migrations: one connection at a time.
        const [database, storage] = await Promise.all([
          probe('database', deps.database.ping, deps.logger),
          probe('storage', () => deps.storage.check(), deps.logger),
        ])
        const migrations =
          database === 'ok'
            ? await probe(
                'migrations',
                async () => {
                  if (!(await schemaCurrent.check())) throw new Error('migrations are pending')
                },
                deps.logger,
              )
            : schemaCurrent.known()
              ? 'ok'
              : 'fail'
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
        response: {
          200: described(Readiness, 'Ready: the database answers and its migrations are current'),
          503: described(Readiness, 'Not ready: the database cannot be reached or migrations are pending'),
        },
        detail: {
          operationId: 'getReadiness',
          summary:
            'Readiness: the database answers a query and its migrations are current (the object store is reported, not required)',
          description:
            'For a load balancer: 200 when the instance can serve the API, 503 while the database is unreachable or ' +
            'migrations are pending. An object-store outage shows `storage: degraded` and stays 200, so it does not ' +
            'take every instance out of rotation at once.',
          security: [],
        },
      },
    )
}
