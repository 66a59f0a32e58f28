import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import {
  computeInvoice,
  creditLine,
  decimal3ToString,
  divRoundHalfAwayFromZero,
  type LineMoney,
  parseDecimal3,
  parsePercent,
  sumMoney,
} from '../../src/shared/money.ts'

const RUNS = { numRuns: 500 }
const PERCENT_DIVISOR = 100_000n

const item = fc.record({
  quantity: fc.integer({ min: 1, max: 20_000 }).map((n) => n / 1000),
  unitPrice: fc.oneof(fc.integer({ min: -100_000, max: 1_000_000 }), fc.constantFrom(1, 3, 1999, 333)),
  taxRate: fc.constantFrom(0, 7, 7.25, 19, 20, 100),
  taxCategory: fc.constantFrom('S', 'Z', 'E'),
})

const invoice = fc.record({
  items: fc.array(item, { minLength: 1, maxLength: 40 }),
  discountPercent: fc.constantFrom(0, 10, 33.333, 100),
})

const groupKey = (category: string, rate: number) => `${category} ${parsePercent(rate)}`

describe('taxCalculation per_category', () => {
  test('when an invoice is computed per category, then its lines add up to the document and each group carries its once-rounded tax', () => {
    fc.assert(
      fc.property(invoice, ({ items, discountPercent }) => {
        const { lines, totals } = computeInvoice({ items, discountPercent, taxCalculation: 'per_category' })
        const sum = sumMoney(lines)
        expect(sum.subtotal).toBe(totals.subtotal)
        expect(sum.discount).toBe(totals.discountTotal)
        expect(sum.tax).toBe(totals.taxTotal)
        expect(sum.total).toBe(totals.total)
        const groups = new Map<string, { base: bigint; tax: bigint; rate: number }>()
        lines.forEach((line, index) => {
          expect(line.total).toBe(line.subtotal - line.discount + line.tax)
          const key = groupKey(items[index]!.taxCategory, items[index]!.taxRate)
          const group = groups.get(key) ?? { base: 0n, tax: 0n, rate: items[index]!.taxRate }
          group.base += BigInt(line.subtotal - line.discount)
          group.tax += BigInt(line.tax)
          groups.set(key, group)
        })
        for (const group of groups.values()) {
          expect(group.tax).toBe(
            divRoundHalfAwayFromZero(group.base * parsePercent(group.rate), PERCENT_DIVISOR),
          )
        }
      }),
      RUNS,
    )
  })

  test('when the lines of a group all have positive bases, then each line lies within one unit of its exact share', () => {
    fc.assert(
      fc.property(
        fc.array(
          item.map((i) => ({ ...i, unitPrice: Math.abs(i.unitPrice) + 1, taxCategory: 'S' })),
          {
            minLength: 1,
            maxLength: 30,
          },
        ),
        (items) => {
          const rate = items[0]!.taxRate
          const same = items.map((i) => ({ ...i, taxRate: rate }))
          const { lines } = computeInvoice({ items: same, taxCalculation: 'per_category' })
          const base = lines.reduce((s, l) => s + (l.subtotal - l.discount), 0)
          const tax = lines.reduce((s, l) => s + l.tax, 0)
          // A group whose lines all round to nothing has no base, and no tax to share.
          if (base === 0) return expect(tax).toBe(0)
          for (const line of lines) {
            const exact = (tax * (line.subtotal - line.discount)) / base
            expect(Math.abs(line.tax - exact)).toBeLessThan(1)
          }
        },
      ),
      RUNS,
    )
  })

  test('when an invoice is computed per line, then nothing changed: the default is per_line', () => {
    fc.assert(
      fc.property(invoice, ({ items, discountPercent }) => {
        const plain = computeInvoice({ items: items.map(({ taxCategory: _, ...i }) => i), discountPercent })
        expect(computeInvoice({ items, discountPercent, taxCalculation: 'per_line' })).toEqual(plain)
      }),
      RUNS,
    )
  })

  test('when 120 JPY lines at 10 % are computed, then per_category taxes the sum once while per_line drifts', () => {
    const items = Array.from({ length: 120 }, () => ({ quantity: 1, unitPrice: 105, taxRate: 10 }))
    const perLine = computeInvoice({ items })
    const perCategory = computeInvoice({ items, taxCalculation: 'per_category' })
    expect(perLine.totals.taxTotal).toBe(120 * 11)
    expect(perCategory.totals.taxTotal).toBe(1260)
    expect(perCategory.lines.slice(0, 3).map((l) => l.tax)).toEqual([11, 11, 11])
  })
})

describe('credits of a per_category line', () => {
  test('when a line is credited in any number of parts, then the credits add up to the line exactly and never pass it', () => {
    fc.assert(
      fc.property(
        invoice,
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
        (inv, cuts) => {
          const { lines } = computeInvoice({ ...inv, taxCalculation: 'per_category' })
          lines.forEach((amounts, index) => {
            const quantity = parseDecimal3(inv.items[index]!.quantity)
            const points = [...new Set(cuts.map((c) => BigInt(Math.floor(c * Number(quantity)))))]
              .filter((p) => p > 0n && p < quantity)
              .sort((a, b) => (a < b ? -1 : 1))
            const steps = [...points, quantity].map((p, i, all) => p - (i === 0 ? 0n : all[i - 1]!))
            const credits: LineMoney[] = []
            let creditedQuantity = 0n
            for (const step of steps) {
              const credit = creditLine(
                {
                  quantity,
                  unitPrice: inv.items[index]!.unitPrice,
                  taxRate: inv.items[index]!.taxRate,
                  amounts,
                  creditedQuantity,
                  credited: sumMoney(credits),
                },
                inv.discountPercent,
                step,
                'per_category',
              )
              credits.push(credit)
              creditedQuantity += step
              const sofar = sumMoney(credits)
              expect(Math.abs(sofar.tax)).toBeLessThanOrEqual(Math.abs(amounts.tax))
              expect(credit.total).toBe(credit.subtotal - credit.discount + credit.tax)
            }
            const { subtotal, discount, tax, total } = amounts
            expect(sumMoney(credits)).toEqual({ subtotal, discount, tax, total })
          })
        },
      ),
      { numRuns: 200 },
    )
  })

  test('when a line is credited in part, then its tax is the proportional share of the line tax', () => {
    const { lines } = computeInvoice({
      items: [
        { quantity: 3, unitPrice: 105, taxRate: 10, taxCategory: 'S' },
        { quantity: 1, unitPrice: 105, taxRate: 10, taxCategory: 'S' },
      ],
      taxCalculation: 'per_category',
    })
    const line = lines[0]!
    const credit = creditLine(
      {
        quantity: 3000n,
        unitPrice: 105,
        taxRate: 10,
        amounts: line,
        creditedQuantity: 0n,
        credited: { subtotal: 0, discount: 0, tax: 0, total: 0 },
      },
      0,
      1000n,
      'per_category',
    )
    expect(credit.tax).toBe(Number(divRoundHalfAwayFromZero(BigInt(line.tax) * 1000n, 3000n)))
    expect(decimal3ToString(1000n)).toBe('1')
  })
})
