import { beforeAll, describe, expect, test } from 'bun:test'
import { crossTenant, type DatabaseHandle } from '../../src/lib/db'
import { precompiled } from '../../src/lib/precompiled'
import { TenantScopeError } from '../../src/lib/tenant-guard'
import { sharedDatabase } from '../helpers/database'

let handle: DatabaseHandle
beforeAll(async () => {
  handle = await sharedDatabase()
})

describe('precompiled queries', () => {
  test('when run with new values, then each run binds its own parameters to the SQL compiled once', async () => {
    const db = handle.db
    const a = await db
      .insertInto('users')
      .values({ cognito_sub: `pre-${crypto.randomUUID()}`, email: 'a@example.com' })
      .returning('id')
      .executeTakeFirstOrThrow()
    const b = await db
      .insertInto('users')
      .values({ cognito_sub: `pre-${crypto.randomUUID()}`, email: 'b@example.com' })
      .returning('id')
      .executeTakeFirstOrThrow()
    const byId = precompiled((d, arg: (name: 'id') => string) =>
      d
        .selectFrom('users')
        .select(['id', 'email'])
        .where('id', '=', arg('id'))
        .where('payment_terms_days', '=', 30),
    )
    expect(await byId(db, { id: a.id })).toEqual([{ id: a.id, email: 'a@example.com' }])
    expect(await byId(db, { id: b.id })).toEqual([{ id: b.id, email: 'b@example.com' }])
    expect(await byId(db, { id: crypto.randomUUID() })).toEqual([])
  })

  test('when the query is not scoped by user, then the tenant guard refuses it on first use', async () => {
    const unscoped = precompiled((d, arg: (name: 'id') => string) =>
      d.selectFrom('invoices').select('id').where('id', '=', arg('id')),
    )
    await expect(unscoped(handle.db, { id: crypto.randomUUID() })).rejects.toThrow(TenantScopeError)
    const deliberate = precompiled((d, arg: (name: 'id') => string) =>
      crossTenant(d).selectFrom('invoices').select('id').where('id', '=', arg('id')),
    )
    expect(await deliberate(handle.db, { id: crypto.randomUUID() })).toEqual([])
  })
})
