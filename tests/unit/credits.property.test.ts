import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import {
  computeLine,
  creditLine,
  decimal3ToString,
  type LineMoney,
  sumMoney,
} from '../../src/shared/money.ts'

const RUNS = { numRuns: 500 }
const ZERO: LineMoney = { subtotal: 0, discount: 0, tax: 0, total: 0 }

/** An invoice line as issued, and a sequence of partial quantities (thousandths) that together credit all of it. */
const creditedLine = fc
  .record({
    quantity: fc.bigInt({ min: 1n, max: 50_000n }),
    unitPrice: fc.oneof(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.constantFrom(1, 3, 1999, -1)),
    taxRate: fc.oneof(
      fc.constantFrom(0, 7.25, 19, 100),
      fc.integer({ min: 0, max: 100_000 }).map((n) => n / 1000),
    ),
    discountPercent: fc.oneof(
      fc.constantFrom(0, 10, 40, 50, 99.999, 100),
      fc.integer({ min: 0, max: 100_000 }).map((n) => n / 1000),
    ),
    cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }),
  })
  .map(({ quantity, cuts, ...rest }) => {
    // Cut points inside the line: strictly increasing, each leaving a positive step.
    const points = [...new Set(cuts.map((c) => BigInt(Math.floor(c * Number(quantity)))))]
      .filter((p) => p > 0n && p < quantity)
      .sort((a, b) => (a < b ? -1 : 1))
    const steps = [...points, quantity].map((p, i, all) => p - (i === 0 ? 0n : all[i - 1]!))
    return { quantity, steps, ...rest }
  })

function creditAll(line: {
  quantity: bigint
  unitPrice: number
  taxRate: number
  discountPercent: number
  steps: bigint[]
}) {
  const amounts = computeLine({
    quantity: decimal3ToString(line.quantity),
    unitPrice: line.unitPrice,
    taxRate: line.taxRate,
    discountPercent: line.discountPercent,
  })
  const credits: LineMoney[] = []
  let creditedQuantity = 0n
  for (const step of line.steps) {
    credits.push(
      creditLine(
        {
          quantity: line.quantity,
          unitPrice: line.unitPrice,
          taxRate: line.taxRate,
          amounts,
          creditedQuantity,
          credited: sumMoney(credits),
        },
        line.discountPercent,
        step,
      ),
    )
    creditedQuantity += step
  }
  return { amounts, credits }
}

const sign = (n: number) => Math.sign(n)
const within = (part: number, whole: number) =>
  whole === 0 ? part === 0 : sign(part) !== -sign(whole) && Math.abs(part) <= Math.abs(whole)

describe('creditLine', () => {
  test('when a line is credited in any number of steps, then the credits add up to the line exactly', () => {
    fc.assert(
      fc.property(creditedLine, (line) => {
        const { amounts, credits } = creditAll(line)
        const { subtotal, discount, tax, total } = amounts
        expect(sumMoney(credits)).toEqual({ subtotal, discount, tax, total })
      }),
      RUNS,
    )
  })

  test('when a line is credited in steps, then no prefix of the credits passes the line in any amount', () => {
    fc.assert(
      fc.property(creditedLine, (line) => {
        const { amounts, credits } = creditAll(line)
        let sum = ZERO
        for (const credit of credits) {
          sum = sumMoney([sum, credit])
          for (const key of ['subtotal', 'discount', 'tax', 'total'] as const) {
            expect({ key, ok: within(sum[key], amounts[key]) }).toEqual({ key, ok: true })
          }
          expect(sum.total).toBe(sum.subtotal - sum.discount + sum.tax)
        }
      }),
      RUNS,
    )
  })

  test('when a line is credited for the first time, then the credit is the rule amounts of its quantity', () => {
    fc.assert(
      fc.property(creditedLine, (line) => {
        const { credits } = creditAll(line)
        const rule = computeLine({
          quantity: decimal3ToString(line.steps[0]!),
          unitPrice: line.unitPrice,
          taxRate: line.taxRate,
          discountPercent: line.discountPercent,
        })
        expect(credits[0]).toEqual({
          subtotal: rule.subtotal,
          discount: rule.discount,
          tax: rule.tax,
          total: rule.total,
        })
      }),
      RUNS,
    )
  })

  test('when 3 × 19.99 at 19 % is credited unit by unit, then the credits are 23.79, 23.79 and 23.78', () => {
    const { credits } = creditAll({
      quantity: 3000n,
      unitPrice: 1999,
      taxRate: 19,
      discountPercent: 0,
      steps: [1000n, 1000n, 1000n],
    })
    expect(credits.map((c) => c.total)).toEqual([2379, 2379, 2378])
  })

  test('when 6 units at 1 with 40 % off are credited one by one, then the credits never pass the line total of 4', () => {
    // Rounding each unit alone would credit 1 five times: one more than the line.
    const { amounts, credits } = creditAll({
      quantity: 6000n,
      unitPrice: 1,
      taxRate: 0,
      discountPercent: 40,
      steps: [1000n, 1000n, 1000n, 1000n, 1000n, 1000n],
    })
    expect(amounts.total).toBe(4)
    let sum = 0
    for (const credit of credits) {
      sum += credit.total
      expect(sum).toBeLessThanOrEqual(4)
    }
    expect(sum).toBe(4)
  })

  test('when a credit asks for more than is left of the line, then it is refused', () => {
    const amounts = computeLine({ quantity: '2', unitPrice: 100, taxRate: 0 })
    const line = {
      quantity: 2000n,
      unitPrice: 100,
      taxRate: 0,
      amounts,
      creditedQuantity: 1500n,
      credited: ZERO,
    }
    expect(() => creditLine(line, 0, 501n)).toThrow(RangeError)
    expect(() => creditLine(line, 0, 0n)).toThrow(RangeError)
  })
})
