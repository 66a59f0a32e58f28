import { describe, expect, test } from 'bun:test'
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
} from 'kysely'
import { jsonArrayFrom } from 'kysely/helpers/postgres'
import type { DB } from '../../db/schema'
import { TenantScopeError, tenantGuard } from '../../src/lib/tenant-guard'

const db = new Kysely<DB>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
  plugins: [tenantGuard],
})
const userId = crypto.randomUUID()
const id = crypto.randomUUID()

describe('tenant guard', () => {
  test('when a query on a tenant table forgets user_id, then it is refused before reaching the database', () => {
    const unscoped = [
      db.selectFrom('invoices').selectAll().where('id', '=', id),
      db.updateTable('customers').set({ name: 'x' }).where('id', '=', id),
      db.deleteFrom('payments').where('invoice_id', '=', id),
      db.selectFrom('invoices as i').innerJoin('customers as c', 'c.id', 'i.customer_id').selectAll('i'),
      db.selectFrom('users').innerJoin('invoices', 'invoices.user_id', 'users.id').selectAll('invoices'),
    ]
    for (const query of unscoped) expect(() => query.compile()).toThrow(TenantScopeError)
    expect(() => sql`select * from invoices where id = ${id}`.compile(db)).toThrow(TenantScopeError)
    expect(() =>
      db
        .insertInto('invoice_events')
        .values({ invoice_id: id, type: 'created' } as never)
        .compile(),
    ).toThrow(TenantScopeError)
  })

  test('when the query is scoped by user_id, then it passes unchanged', () => {
    const scoped = [
      db.selectFrom('invoices').selectAll().where('user_id', '=', userId).where('id', '=', id),
      db.selectFrom('invoices as i').selectAll('i').where('i.user_id', '=', userId),
      db.updateTable('customers').set({ name: 'x' }).where('user_id', '=', userId).where('id', '=', id),
      db.deleteFrom('payments').where('user_id', '=', userId),
      db
        .selectFrom('invoices as i')
        .select((eb) => [
          'i.id',
          jsonArrayFrom(
            eb.selectFrom('invoice_items as it').select('it.id').whereRef('it.invoice_id', '=', 'i.id'),
          ).as('items'),
        ])
        .where('i.user_id', '=', userId),
      db.insertInto('customers').values({ user_id: userId, name: 'Ada', search_text: 'ada' }),
    ]
    for (const query of scoped) expect(query.compile().sql.length).toBeGreaterThan(0)
    expect(sql`select * from invoices where user_id = ${userId}`.compile(db).sql).toContain('user_id')
  })

  test('when a query touches no tenant table, then it is not inspected further', () => {
    expect(db.selectFrom('users').selectAll().where('cognito_sub', '=', 'sub').compile().sql).toContain(
      'users',
    )
    expect(db.withoutPlugins().selectFrom('invoices').selectAll().compile().sql).toContain('invoices')
  })
})
