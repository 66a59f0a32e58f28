import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import {
  computeInvoice,
  computeLine,
  computeTotals,
  decimal3ToString,
  divRoundHalfAwayFromZero,
  formatDecimal3,
  formatMoney,
  InvalidDecimalError,
  type LineAmounts,
  type LineMoney,
  MAX_AMOUNT,
  MAX_DECIMAL3_THOUSANDTHS,
  MAX_UNIT_PRICE,
  MIN_UNIT_PRICE,
  MoneyOverflowError,
  parseDecimal3,
} from '../../src/shared/money.ts'

const RUNS = { numRuns: 1000 }
const MAX = BigInt(MAX_AMOUNT)
const THOUSAND = 1000n
const PERCENT_DIVISOR = 100_000n
const MAX_QUANTITY_THOUSANDTHS = 1_000_000_000_000n

interface ExactLine {
  quantity: bigint
  unitPrice: bigint
  taxRate: bigint
  discountPercent: bigint
}

const abs = (n: bigint) => (n < 0n ? -n : n)

/** A decimal in thousandths, sent the way a client or the database would: a JSON number or a string. */
const asDecimalInput = (thousandths: bigint) =>
  fc.constantFrom(formatDecimal3(thousandths), decimal3ToString(thousandths))

const percent = fc.oneof(
  fc.constant(0n),
  fc.constant(100_000n),
  fc.bigInt({ min: 0n, max: 100n }).map((whole) => whole * THOUSAND),
  fc.bigInt({ min: 0n, max: 100_000n }),
)

const unitPrice = (min: bigint, max: bigint) => fc.bigInt({ min, max })

/** Lines whose |quantity × unitPrice| stays at or below 10^18 thousandths: totals of at most 2·10^15. */
const safeLine: fc.Arbitrary<ExactLine> = fc.oneof(
  fc.record({
    quantity: fc.bigInt({ min: 1n, max: 10_000n }),
    unitPrice: unitPrice(-10_000n, 10_000n),
    taxRate: percent,
    discountPercent: percent,
  }),
  fc.record({
    quantity: fc.bigInt({ min: 1n, max: MAX_QUANTITY_THOUSANDTHS }),
    unitPrice: unitPrice(-1_000_000n, 1_000_000n),
    taxRate: percent,
    discountPercent: percent,
  }),
  fc.record({
    quantity: fc.bigInt({ min: 1n, max: 1_000_000n }),
    unitPrice: unitPrice(BigInt(MIN_UNIT_PRICE), BigInt(MAX_UNIT_PRICE)),
    taxRate: percent,
    discountPercent: percent,
  }),
)

/** Any valid line, including those near and past the largest safe amount. */
const anyLine: fc.Arbitrary<ExactLine> = fc.oneof(
  safeLine,
  fc.record({
    quantity: fc.bigInt({ min: 1n, max: MAX_QUANTITY_THOUSANDTHS }),
    unitPrice: unitPrice(BigInt(MIN_UNIT_PRICE), BigInt(MAX_UNIT_PRICE)),
    taxRate: percent,
    discountPercent: percent,
  }),
  fc
    .record({
      unitPrice: unitPrice(1_000_000n, BigInt(MAX_UNIT_PRICE)),
      sign: fc.constantFrom(1n, -1n),
      delta: fc.bigInt({ min: -3n, max: 3n }),
      taxRate: percent,
      discountPercent: percent,
    })
    .map(({ unitPrice, sign, delta, taxRate, discountPercent }) => {
      const nearLimit = (MAX * THOUSAND) / unitPrice + delta
      const quantity =
        nearLimit < 1n ? 1n : nearLimit > MAX_QUANTITY_THOUSANDTHS ? MAX_QUANTITY_THOUSANDTHS : nearLimit
      return { quantity, unitPrice: sign * unitPrice, taxRate, discountPercent }
    }),
)

function lineOf(exact: ExactLine): LineAmounts {
  return computeLine({
    quantity: formatDecimal3(exact.quantity),
    unitPrice: Number(exact.unitPrice),
    taxRate: formatDecimal3(exact.taxRate),
    discountPercent: formatDecimal3(exact.discountPercent),
  })
}

/** |rounded − numerator / denominator| ≤ ½, and an exact half went away from zero; checked by cross-multiplying. */
function expectRoundedHalfAwayFromZero(rounded: bigint, numerator: bigint, denominator: bigint) {
  const twiceError = abs(2n * (rounded * denominator - numerator))
  expect(twiceError <= denominator).toBe(true)
  if (twiceError === denominator) expect(abs(rounded * denominator) > abs(numerator)).toBe(true)
}

function sumOf(lines: readonly LineMoney[], field: keyof LineMoney): bigint {
  return lines.reduce((sum, line) => sum + BigInt(line[field]), 0n)
}

describe('divRoundHalfAwayFromZero', () => {
  const numerator = fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n })
  const divisor = fc.oneof(
    fc.bigInt({ min: -1000n, max: 1000n }),
    fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
  )
  const nonZero = divisor.filter((d) => d !== 0n)

  test('for any n and d ≠ 0, then the result is within ½ of n / d and halves go away from zero', () => {
    fc.assert(
      fc.property(numerator, nonZero, (n, d) => {
        const rounded = divRoundHalfAwayFromZero(n, d)
        const positive = d < 0n ? { n: -n, d: -d } : { n, d }
        expectRoundedHalfAwayFromZero(rounded, positive.n, positive.d)
      }),
      RUNS,
    )
  })

  test('for any n and d ≠ 0, then negating n or d negates the result', () => {
    fc.assert(
      fc.property(numerator, nonZero, (n, d) => {
        const rounded = divRoundHalfAwayFromZero(n, d)
        expect(divRoundHalfAwayFromZero(-n, d)).toBe(-rounded)
        expect(divRoundHalfAwayFromZero(n, -d)).toBe(-rounded)
      }),
      RUNS,
    )
  })

  test('for an exact half n / d = m + ½, then the result is the neighbour farther from zero', () => {
    const whole = fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n })
    const halfDivisor = fc.bigInt({ min: 1n, max: 10n ** 6n })
    fc.assert(
      fc.property(whole, halfDivisor, (m, k) => {
        const n = (2n * m + 1n) * k
        expect(divRoundHalfAwayFromZero(n, 2n * k)).toBe(m >= 0n ? m + 1n : m)
      }),
      RUNS,
    )
  })
})

describe('computeLine', () => {
  test('for any safe line, then total = subtotal − discount + tax', () => {
    fc.assert(
      fc.property(safeLine, (exact) => {
        const line = lineOf(exact)
        expect(line.total).toBe(line.subtotal - line.discount + line.tax)
      }),
      RUNS,
    )
  })

  test('for any safe line, then |discount| ≤ |subtotal| and |tax| ≤ |subtotal − discount|, with the same sign', () => {
    fc.assert(
      fc.property(safeLine, (exact) => {
        const line = lineOf(exact)
        const net = line.subtotal - line.discount
        expect(Math.abs(line.discount)).toBeLessThanOrEqual(Math.abs(line.subtotal))
        expect(Math.abs(line.tax)).toBeLessThanOrEqual(Math.abs(net))
        expect(line.discount * Math.sign(line.subtotal)).toBeGreaterThanOrEqual(0)
        expect(line.tax * Math.sign(net)).toBeGreaterThanOrEqual(0)
      }),
      RUNS,
    )
  })

  test('for any safe line at a 0 % rate, then its tax is 0; at no discount, its discount is 0', () => {
    fc.assert(
      fc.property(safeLine, (exact) => {
        const line = lineOf({ ...exact, taxRate: 0n, discountPercent: 0n })
        expect(line.tax).toBe(0)
        expect(line.discount).toBe(0)
        expect(line.total).toBe(line.subtotal)
      }),
      RUNS,
    )
  })

  test('for any safe line, then each rounded amount is within ½ minor unit of the exact rational result', () => {
    fc.assert(
      fc.property(safeLine, (exact) => {
        const line = lineOf(exact)
        const subtotal = BigInt(line.subtotal)
        const discount = BigInt(line.discount)
        expectRoundedHalfAwayFromZero(subtotal, exact.quantity * exact.unitPrice, THOUSAND)
        expectRoundedHalfAwayFromZero(discount, subtotal * exact.discountPercent, PERCENT_DIVISOR)
        expectRoundedHalfAwayFromZero(
          BigInt(line.tax),
          (subtotal - discount) * exact.taxRate,
          PERCENT_DIVISOR,
        )
      }),
      RUNS,
    )
  })

  test('for any safe line, then the line at the negated unit price is the exact negation (credit lines)', () => {
    fc.assert(
      fc.property(safeLine, (exact) => {
        const line = lineOf(exact)
        const credit = lineOf({ ...exact, unitPrice: -exact.unitPrice })
        expect([credit.subtotal, credit.discount, credit.tax, credit.total]).toEqual([
          -line.subtotal || 0,
          -line.discount || 0,
          -line.tax || 0,
          -line.total || 0,
        ])
      }),
      RUNS,
    )
  })

  test('for any safe line, then numbers and decimal strings give the same amounts', () => {
    fc.assert(
      fc.property(
        safeLine.chain((exact) =>
          fc.record({
            exact: fc.constant(exact),
            quantity: asDecimalInput(exact.quantity),
            taxRate: asDecimalInput(exact.taxRate),
            discountPercent: asDecimalInput(exact.discountPercent),
          }),
        ),
        ({ exact, quantity, taxRate, discountPercent }) => {
          const line = computeLine({ quantity, unitPrice: Number(exact.unitPrice), taxRate, discountPercent })
          expect(line).toEqual(lineOf(exact))
        },
      ),
      RUNS,
    )
  })

  test('for any valid line, then every amount is a safe integer or the line throws MoneyOverflowError', () => {
    fc.assert(
      fc.property(anyLine, (exact) => {
        const exactSubtotal = abs(exact.quantity * exact.unitPrice)
        let line: LineAmounts
        try {
          line = lineOf(exact)
        } catch (error) {
          expect(error).toBeInstanceOf(MoneyOverflowError)
          expect(2n * exactSubtotal + THOUSAND > MAX * THOUSAND).toBe(true) // a line this small always fits
          return
        }
        for (const amount of [line.subtotal, line.discount, line.tax, line.total]) {
          expect(Number.isSafeInteger(amount)).toBe(true)
        }
        expect(2n * exactSubtotal <= (2n * MAX + 1n) * THOUSAND).toBe(true) // a subtotal past the limit always throws
      }),
      RUNS,
    )
  })

  test('for any safe line, then ten times the quantity gives ten times the exact subtotal, rounded within 10 × ½', () => {
    fc.assert(
      fc.property(safeLine, (exact) => {
        const small = { ...exact, quantity: exact.quantity >= 10n ? exact.quantity / 10n : 1n }
        const tenfold = { ...small, quantity: small.quantity * 10n }
        const line = lineOf(small)
        const tenfoldLine = lineOf(tenfold)
        expect(tenfoldLine.quantityThousandths * tenfold.unitPrice).toBe(
          10n * (line.quantityThousandths * small.unitPrice),
        )
        expect(Math.abs(tenfoldLine.subtotal - 10 * line.subtotal)).toBeLessThanOrEqual(5)
      }),
      RUNS,
    )
  })
})

describe('invoice totals', () => {
  const invoice = fc.record({
    lines: fc.array(safeLine, { maxLength: 4 }),
    smallLines: fc.array(
      safeLine.filter((line) => abs(line.quantity * line.unitPrice) <= 10n ** 15n),
      { maxLength: 40 },
    ),
    discountPercent: percent,
    amountPaid: fc.oneof(
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.bigInt({ min: 0n, max: 10n ** 14n }).map(Number),
    ),
  })

  test('for any invoice, then the totals are the sums of the lines and amountDue = total − amountPaid', () => {
    fc.assert(
      fc.property(invoice, ({ lines, smallLines, discountPercent, amountPaid }) => {
        const items = [...lines, ...smallLines].map((exact) => ({
          quantity: formatDecimal3(exact.quantity),
          unitPrice: Number(exact.unitPrice),
          taxRate: formatDecimal3(exact.taxRate),
        }))
        const result = computeInvoice({ items, discountPercent: formatDecimal3(discountPercent), amountPaid })
        expect(BigInt(result.totals.subtotal)).toBe(sumOf(result.lines, 'subtotal'))
        expect(BigInt(result.totals.discountTotal)).toBe(sumOf(result.lines, 'discount'))
        expect(BigInt(result.totals.taxTotal)).toBe(sumOf(result.lines, 'tax'))
        expect(BigInt(result.totals.total)).toBe(sumOf(result.lines, 'total'))
        expect(result.totals.total).toBe(
          result.totals.subtotal - result.totals.discountTotal + result.totals.taxTotal,
        )
        expect(BigInt(result.totals.amountDue)).toBe(BigInt(result.totals.total) - BigInt(amountPaid))
      }),
      RUNS,
    )
  })

  test('for any lines of safe amounts, then totals are exact sums or throw MoneyOverflowError, never a wrong number', () => {
    const amount = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.maxSafeInteger())
    const lineMoney = fc.record({ subtotal: amount, discount: amount, tax: amount, total: amount })
    fc.assert(
      fc.property(fc.array(lineMoney, { maxLength: 8 }), fc.maxSafeNat(), (lines, amountPaid) => {
        const exactTotal = sumOf(lines, 'total')
        const sums = [sumOf(lines, 'subtotal'), sumOf(lines, 'discount'), sumOf(lines, 'tax'), exactTotal]
        const fits = [...sums, exactTotal - BigInt(amountPaid)].every((sum) => abs(sum) <= MAX)
        if (!fits) {
          expect(() => computeTotals(lines, amountPaid)).toThrow(MoneyOverflowError)
          return
        }
        const totals = computeTotals(lines, amountPaid)
        expect([totals.subtotal, totals.discountTotal, totals.taxTotal, totals.total].map(BigInt)).toEqual(
          sums,
        )
        expect(BigInt(totals.amountDue)).toBe(exactTotal - BigInt(amountPaid))
      }),
      RUNS,
    )
  })
})

describe('decimals', () => {
  test('for any thousandths in range, then formatting and parsing back gives the same value', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.bigInt({ min: 0n, max: 1_000_000n }),
          fc.bigInt({ min: 0n, max: MAX_DECIMAL3_THOUSANDTHS }),
        ),
        (thousandths) => {
          expect(parseDecimal3(formatDecimal3(thousandths))).toBe(thousandths)
          expect(parseDecimal3(decimal3ToString(thousandths))).toBe(thousandths)
          expect(String(formatDecimal3(thousandths))).toBe(decimal3ToString(thousandths))
        },
      ),
      RUNS,
    )
  })

  test('for any double, then parseDecimal3 refuses it or returns exactly the decimal it denotes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double(),
          fc.double({ min: 0, max: 1e6 }).map((x) => Math.round(x * 1000) / 1000),
        ),
        (x) => {
          let thousandths: bigint
          try {
            thousandths = parseDecimal3(x)
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidDecimalError)
            return
          }
          expect(formatDecimal3(thousandths)).toBe(x === 0 ? 0 : x)
        },
      ),
      RUNS,
    )
  })
})

describe('formatMoney', () => {
  test('for any safe amount, then the formatted digits are exactly the minor units', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: -100_000, max: 100_000 }), fc.maxSafeInteger()),
        fc.constantFrom('USD', 'EUR', 'JPY', 'KWD', 'GBP'),
        (minor, currency) => {
          const formatted = formatMoney(minor, currency)
          expect(BigInt(formatted.replace(/\D/g, ''))).toBe(abs(BigInt(minor)))
          expect(formatted.startsWith('-')).toBe(minor < 0)
        },
      ),
      RUNS,
    )
  })
})
