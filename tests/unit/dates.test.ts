import { describe, expect, test } from 'bun:test'
import { addDays, isCalendarDate, todayIn } from '../../src/shared/dates'

describe('calendar dates', () => {
  test('given real and impossible dates, then only real ones pass', () => {
    for (const ok of ['2026-01-15', '2024-02-29', '2026-12-31', '1900-01-01'])
      expect(isCalendarDate(ok)).toBe(true)
    for (const bad of [
      '2026-02-29',
      '2026-02-30',
      '2026-13-01',
      '2026-00-10',
      '26-01-01',
      '2026-1-1',
      '2026-01-15T00:00:00Z',
      '1899-12-31',
    ]) {
      expect(isCalendarDate(bad)).toBe(false)
    }
  })

  test('given a day count, then addDays crosses months, years and leap days exactly', () => {
    expect(addDays('2026-01-31', 1)).toBe('2026-02-01')
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29')
    expect(addDays('2026-12-31', 30)).toBe('2027-01-30')
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28')
    expect(addDays('2026-01-15', 0)).toBe('2026-01-15')
  })

  test('given a moment, then today depends on the time zone', () => {
    const moment = new Date('2026-01-15T23:30:00Z')
    expect(todayIn('UTC', moment)).toBe('2026-01-15')
    expect(todayIn('Europe/Berlin', moment)).toBe('2026-01-16')
    expect(todayIn('America/Los_Angeles', moment)).toBe('2026-01-15')
    expect(todayIn('Pacific/Kiritimati', new Date('2026-01-15T10:00:00Z'))).toBe('2026-01-16')
  })
})
