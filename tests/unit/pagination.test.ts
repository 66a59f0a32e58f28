import { describe, expect, test } from 'bun:test'
import { AppError } from '../../src/shared/errors'
import { decodeCursor, encodeCursor, keys, pageSize, toPage } from '../../src/shared/pagination'

const SORT = 'customers:-createdAt'
const ID = '0b9e6a4e-5a41-4a0e-9d43-2a4d8f0f6c11'
const AT = '2026-01-15T12:00:00.123456Z'
const parsers = [keys.timestamp, keys.uuid] as const

function expectValidationError(run: () => unknown, path: string) {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('VALIDATION_ERROR')
    expect((error as AppError).details).toEqual([{ path, message: expect.any(String) }])
    return
  }
  throw new Error('the input was accepted')
}

const expectInvalidCursor = (run: () => unknown) => expectValidationError(run, '/query/cursor')

const raw = (json: string) => Buffer.from(json).toString('base64url')

describe('keyset cursors', () => {
  test('when a position is encoded, then it is base64url text that decodes to the same keys', () => {
    const cursor = encodeCursor(SORT, [AT, ID])
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(decodeCursor(cursor, SORT, parsers)).toEqual([AT, ID])
  })

  test('when keys are integers, dates or null, then they survive the round trip', () => {
    const mixed = [keys.integer, keys.date, keys.nullable(keys.string)] as const
    expect(decodeCursor(encodeCursor('x', [1999, '2026-01-15', null]), 'x', mixed)).toEqual([
      1999,
      '2026-01-15',
      null,
    ])
    expect(decodeCursor(encodeCursor('x', [0, '2026-12-31', 'INV-0001']), 'x', mixed)).toEqual([
      0,
      '2026-12-31',
      'INV-0001',
    ])
  })

  test('when the cursor belongs to another list or sort, then it is rejected', () => {
    expectInvalidCursor(() => decodeCursor(encodeCursor('invoices:-issueDate', [AT, ID]), SORT, parsers))
  })

  test('when the cursor is not base64url, not UTF-8 or not JSON, then it is rejected', () => {
    for (const cursor of ['', 'has space', 'a+b/c', 'x'.repeat(2000), raw('not json'), 'gICA']) {
      expectInvalidCursor(() => decodeCursor(cursor, SORT, parsers))
    }
  })

  test('when a key has the wrong type or form, or keys are missing or extra, then it is rejected', () => {
    for (const k of [
      [AT],
      [AT, ID, 1],
      [AT, 'not-a-uuid'],
      [AT, ID.toUpperCase()],
      ['2026-01-15', ID],
      ['2026-13-45T12:00:00Z', ID],
      [1_700_000_000, ID],
      [null, ID],
    ]) {
      expectInvalidCursor(() => decodeCursor(raw(JSON.stringify({ s: SORT, k })), SORT, parsers))
    }
    expectInvalidCursor(() => decodeCursor(encodeCursor('x', [1.5]), 'x', [keys.integer]))
  })

  test('when the JSON is not the canonical encoding, then it is rejected', () => {
    const canonical = encodeCursor(SORT, [AT, ID])
    for (const cursor of [
      raw(JSON.stringify({ k: [AT, ID], s: SORT })),
      raw(JSON.stringify({ s: SORT, k: [AT, ID], extra: true })),
      raw(JSON.stringify({ s: SORT, k: [AT, ID] }, null, 1)),
      `${canonical}A`,
      JSON.stringify([SORT, [AT, ID]]),
    ]) {
      expectInvalidCursor(() => decodeCursor(cursor, SORT, parsers))
    }
  })

  test('when any character of a cursor is changed, then it is rejected or still a well-formed position', () => {
    const cursor = encodeCursor(SORT, [AT, ID])
    for (let i = 0; i < cursor.length; i++) {
      for (const replacement of ['A', 'z', '_']) {
        const tampered = cursor.slice(0, i) + replacement + cursor.slice(i + 1)
        let decoded: readonly [string, string] | undefined
        try {
          decoded = decodeCursor(tampered, SORT, parsers)
        } catch (error) {
          expect((error as AppError).code).toBe('VALIDATION_ERROR')
          continue
        }
        expect(keys.timestamp(decoded[0])).toBe(decoded[0])
        expect(keys.uuid(decoded[1])).toBe(decoded[1])
      }
    }
  })
})

describe('pages', () => {
  const rows = Array.from({ length: 5 }, (_, i) => ({ n: i, id: `row-${i}` }))

  test('when one more row than the limit came back, then the page holds the limit and points after its last row', () => {
    const page = toPage(
      rows.slice(0, 4),
      3,
      'x',
      (r) => [r.n],
      (r) => r.id,
    )
    expect(page.data).toEqual(['row-0', 'row-1', 'row-2'])
    expect(decodeCursor(page.nextCursor!, 'x', [keys.integer])).toEqual([2])
  })

  test('when no more rows than the limit came back, then there is no next cursor', () => {
    expect(
      toPage(
        rows.slice(0, 3),
        3,
        'x',
        (r) => [r.n],
        (r) => r.id,
      ),
    ).toEqual({
      data: ['row-0', 'row-1', 'row-2'],
      nextCursor: null,
    })
    expect(
      toPage(
        [],
        3,
        'x',
        (r: { n: number }) => [r.n],
        (r) => r,
      ),
    ).toEqual({ data: [], nextCursor: null })
  })

  test('when the limit is absent, then 20; when it is outside 1–100, then a VALIDATION_ERROR on /query/limit', () => {
    expect(pageSize(undefined)).toBe(20)
    expect(pageSize(1)).toBe(1)
    expect(pageSize(100)).toBe(100)
    for (const limit of [0, -1, 101]) expectValidationError(() => pageSize(limit), '/query/limit')
  })
})
