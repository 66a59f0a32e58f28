import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { sql } from 'kysely'
import {
  amountDue,
  CREDIT_REASONS,
  EVENT_TYPES,
  isAllowed,
  LIFECYCLE,
  PAYMENT_METHODS,
  STATUSES,
  statusOf,
} from '../../src/modules/invoices/lifecycle'
import { createTestApp, type TestApp } from '../helpers/app'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

/** The quoted words of a CHECK constraint's `in (…)` list, as PostgreSQL prints the definition. */
async function checkedList(table: string, constraint: string): Promise<string[]> {
  const { rows } = await sql<{ definition: string }>`
    select pg_get_constraintdef(c.oid) as definition
      from pg_constraint c join pg_class r on r.oid = c.conrelid
     where r.relname = ${table} and c.conname = ${constraint}`.execute(t.deps.database.db)
  expect({ constraint, found: rows.length }).toEqual({ constraint, found: 1 })
  return [...rows[0]!.definition.matchAll(/'([a-z_]+)'::text/g)].map((m) => m[1]!).sort()
}

const sorted = (list: readonly string[]) => [...list].sort()

describe('the lifecycle table and the database', () => {
  test('when the migrations are applied, then each CHECK list is exactly the list of the lifecycle table', async () => {
    expect(await checkedList('invoices', 'invoices_status_check')).toEqual(sorted(STATUSES))
    expect(await checkedList('invoice_events', 'invoice_events_type_check')).toEqual(sorted(EVENT_TYPES))
    expect(await checkedList('payments', 'payments_method_check')).toEqual(sorted(PAYMENT_METHODS))
    expect(await checkedList('credit_notes', 'credit_notes_reason_check')).toEqual(sorted(CREDIT_REASONS))
  })
})

describe('the lifecycle table', () => {
  test('when a balance is given, then the status follows it as API.md says', () => {
    expect(statusOf({ total: 100, amountPaid: 0, creditedTotal: 0 })).toBe('sent')
    expect(statusOf({ total: 100, amountPaid: 40, creditedTotal: 0 })).toBe('partially_paid')
    expect(statusOf({ total: 100, amountPaid: 40, creditedTotal: 60 })).toBe('paid')
    expect(statusOf({ total: 100, amountPaid: 100, creditedTotal: 30 })).toBe('paid')
    expect(statusOf({ total: 100, amountPaid: 100, creditedTotal: 100 })).toBe('credited')
    expect(statusOf({ total: 100, amountPaid: 0, creditedTotal: 100 })).toBe('credited')
    expect(statusOf({ total: 0, amountPaid: 0, creditedTotal: 0 })).toBe('paid')
    expect(amountDue({ total: 100, amountPaid: 70, creditedTotal: 50 })).toBe(0)
  })

  test('when an action is asked of each status, then only the listed ones are allowed, void only unpaid and uncredited', () => {
    const clean = { total: 100, amountPaid: 0, creditedTotal: 0 }
    expect(isAllowed('sent', 'void', clean)).toBe(true)
    expect(isAllowed('sent', 'void', { ...clean, creditedTotal: 10 })).toBe(false)
    expect(isAllowed('sent', 'void', { ...clean, amountPaid: 10 })).toBe(false)
    expect(isAllowed('sent', 'void')).toBe(false)
    // A closed invoice takes no action but the rotation of its hosted page link (the page shows it closed).
    for (const status of ['void', 'credited'] as const)
      expect(Object.keys(LIFECYCLE[status])).toEqual(['share'])
    expect(isAllowed('draft', 'share')).toBe(false)
    expect(isAllowed('paid', 'credit')).toBe(true)
    expect(isAllowed('draft', 'credit')).toBe(false)
    expect(isAllowed('paid', 'pay')).toBe(false)
  })
})
