import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import { computeVatBreakdown, groupTax, lineTaxDrift, taxDrift } from '../../src/lib/einvoice/index.ts'

setDefaultTimeout(30_000)

describe('the VAT breakdown', () => {
  test('when lines share a category and rate, then they are taxed once on their sum, halves away from zero', () => {
    const groups = computeVatBreakdown([
      { vatCategory: 'S', vatRate: '19', amount: 5997 },
      { vatCategory: 'S', vatRate: '7', amount: 2331 },
      { vatCategory: 'S', vatRate: '19.000', amount: 3 },
      { vatCategory: 'Z', vatRate: '0', amount: 1500 },
    ])
    expect(groups).toEqual([
      { vatCategory: 'S', vatRate: '19', taxableAmount: 6000, taxAmount: 1140 },
      { vatCategory: 'S', vatRate: '7', taxableAmount: 2331, taxAmount: 163 },
      { vatCategory: 'Z', vatRate: '0', taxableAmount: 1500, taxAmount: 0 },
    ])
  })

  test('when a group is negative or lands on a half, then rounding goes away from zero', () => {
    expect(groupTax(50, '10')).toBe(5)
    expect(groupTax(105, '10')).toBe(11)
    expect(groupTax(-105, '10')).toBe(-11)
    expect(groupTax(5000, '7.25')).toBe(363)
  })
})

describe('the drift of per-line rounding', () => {
  test('when 120 JPY lines each round 10.5 yen up, then the drift is 60 yen and beyond the tolerance', () => {
    const [drift] = taxDrift([{ vatCategory: 'S', vatRate: '10', taxableAmount: 12600, taxAmount: 1320 }], 0)
    expect(drift).toMatchObject({ expectedTax: 1260, drift: 60, exceedsTolerance: true })
  })

  test('when lines carry their own rounded taxes, then each group is summed and compared with one rounding', () => {
    const lines = Array.from({ length: 120 }, () => ({
      vatCategory: 'S' as const,
      vatRate: '10',
      amount: 105,
      tax: 11,
    }))
    const drifts = lineTaxDrift([...lines, { vatCategory: 'S', vatRate: '19', amount: 5997, tax: 1139 }], 0)
    expect(drifts).toEqual([
      expect.objectContaining({
        vatRate: '10',
        taxableAmount: 12600,
        taxAmount: 1320,
        expectedTax: 1260,
        drift: 60,
      }),
      expect.objectContaining({
        vatRate: '19',
        taxableAmount: 5997,
        taxAmount: 1139,
        drift: 0,
        exceedsTolerance: false,
      }),
    ])
  })

  test('when a JPY group is off by the rounding alone, then it is within the tolerance', () => {
    const [drift] = taxDrift([{ vatCategory: 'S', vatRate: '10', taxableAmount: 105, taxAmount: 10 }], 0)
    expect(drift).toMatchObject({ expectedTax: 11, drift: -1, exceedsTolerance: false })
  })

  test('when EUR lines drift by cents, then up to 99 are tolerated and a whole euro is not', () => {
    const at = (taxAmount: number) =>
      taxDrift([{ vatCategory: 'S', vatRate: '19', taxableAmount: 10000, taxAmount }], 2)[0]!
    expect(at(1900 + 99)).toMatchObject({ drift: 99, exceedsTolerance: false })
    expect(at(1900 - 99)).toMatchObject({ drift: -99, exceedsTolerance: false })
    expect(at(1900 + 100).exceedsTolerance).toBe(true)
  })

  test('when the currency has three decimals, then the drift is not computed at all', () => {
    expect(() => taxDrift([], 3)).toThrow(RangeError)
  })
})
