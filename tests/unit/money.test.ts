import { describe, expect, test } from 'bun:test'
import { AppError } from '../../src/shared/errors.ts'
import {
  computeInvoice,
  computeLine,
  computeTotals,
  currencyMinorDigits,
  decimal3ToString,
  divRoundHalfAwayFromZero,
  formatDecimal3,
  formatMoney,
  InvalidAmountError,
  InvalidDecimalError,
  isValidCurrency,
  MAX_AMOUNT,
  MAX_UNIT_PRICE,
  MIN_UNIT_PRICE,
  MoneyOverflowError,
  minorToDecimalString,
  parseDecimal3,
  parseMinorUnits,
  parsePercent,
  parseQuantity,
} from '../../src/shared/money.ts'

function thrown(action: () => unknown): unknown {
  try {
    action()
  } catch (error) {
    return error
  }
  throw new Error('expected the action to throw')
}

describe('the examples of API.md', () => {
  test('given 3 × 1999 at 19 %, then subtotal 5997, tax 1139, total 7136', () => {
    expect(computeLine({ quantity: 3, unitPrice: 1999, taxRate: 19 })).toMatchObject({
      subtotal: 5997,
      discount: 0,
      tax: 1139,
      total: 7136,
    })
  })

  test('given 1.5 × 3333, then the subtotal rounds the half up to 5000', () => {
    expect(computeLine({ quantity: 1.5, unitPrice: 3333, taxRate: 0 }).subtotal).toBe(5000)
  })

  test('given 5000 at 7.25 %, then the tax rounds 362.5 up to 363', () => {
    expect(computeLine({ quantity: 1, unitPrice: 5000, taxRate: 7.25 }).tax).toBe(363)
  })

  test('given 5000 with 10 % off at 7.25 %, then discount 500, tax 326, total 4826', () => {
    expect(computeLine({ quantity: 1, unitPrice: 5000, taxRate: 7.25, discountPercent: 10 })).toMatchObject({
      subtotal: 5000,
      discount: 500,
      tax: 326,
      total: 4826,
    })
  })

  test('given 0.333 × 3, then the subtotal rounds 0.999 to 1', () => {
    expect(computeLine({ quantity: 0.333, unitPrice: 3, taxRate: 0 }).subtotal).toBe(1)
  })

  test('given decimal strings instead of numbers, then the result is the same', () => {
    expect(computeLine({ quantity: '1.500', unitPrice: 3333, taxRate: '19.000' })).toEqual(
      computeLine({ quantity: 1.5, unitPrice: 3333, taxRate: 19 }),
    )
  })
})

describe('computeLine', () => {
  test('when it succeeds, then it also answers the exact thousandths it used', () => {
    expect(
      computeLine({ quantity: 2.5, unitPrice: 100, taxRate: 7.25, discountPercent: 12.5 }),
    ).toMatchObject({
      quantityThousandths: 2500n,
      taxRateThousandths: 7250n,
      discountPercentThousandths: 12500n,
    })
  })

  test('given a unit price of 0, then every amount is 0', () => {
    expect(computeLine({ quantity: 7, unitPrice: 0, taxRate: 19, discountPercent: 5 })).toMatchObject({
      subtotal: 0,
      discount: 0,
      tax: 0,
      total: 0,
    })
  })

  test('given a negative unit price (a credit line), then every amount is the negation of the positive line', () => {
    const credit = computeLine({ quantity: 1.5, unitPrice: -3333, taxRate: 7.25, discountPercent: 10 })
    const charge = computeLine({ quantity: 1.5, unitPrice: 3333, taxRate: 7.25, discountPercent: 10 })
    expect(credit).toMatchObject({ subtotal: -5000, discount: -500, tax: -326, total: -4826 })
    expect([credit.subtotal, credit.discount, credit.tax, credit.total]).toEqual([
      -charge.subtotal,
      -charge.discount,
      -charge.tax,
      -charge.total,
    ])
  })

  test('given a 100 % discount, then nothing is taxed and the total is 0', () => {
    expect(computeLine({ quantity: 1, unitPrice: 999, taxRate: 25, discountPercent: 100 })).toMatchObject({
      discount: 999,
      tax: 0,
      total: 0,
    })
  })

  test('given the unit price limits, then they are accepted and one past them is refused', () => {
    expect(computeLine({ quantity: 1, unitPrice: MAX_UNIT_PRICE, taxRate: 100 }).total).toBe(
      2 * MAX_UNIT_PRICE,
    )
    expect(computeLine({ quantity: 1, unitPrice: MIN_UNIT_PRICE, taxRate: 0 }).total).toBe(MIN_UNIT_PRICE)
    const error = thrown(() =>
      computeLine({ quantity: 1, unitPrice: MAX_UNIT_PRICE + 1, taxRate: 0 }, '/items/0'),
    )
    expect(error).toBeInstanceOf(InvalidAmountError)
    expect(error).toMatchObject({ path: '/items/0/unitPrice' })
  })

  test('given a fractional unit price, then it is refused naming the field', () => {
    const error = thrown(() => computeLine({ quantity: 1, unitPrice: 19.99, taxRate: 0 }, '/items/2'))
    expect(error).toBeInstanceOf(InvalidAmountError)
    expect(error).toMatchObject({ path: '/items/2/unitPrice' })
  })

  test('given a product beyond a safe integer, then MoneyOverflowError names the unit price of that item', () => {
    const error = thrown(() =>
      computeLine({ quantity: 1_000_000_000, unitPrice: MAX_UNIT_PRICE, taxRate: 0 }, '/items/3'),
    )
    expect(error).toBeInstanceOf(MoneyOverflowError)
    expect(error).toBeInstanceOf(AppError)
    expect(error).toMatchObject({
      status: 400,
      code: 'VALIDATION_ERROR',
      path: '/items/3/unitPrice',
      details: [{ path: '/items/3/unitPrice', message: expect.stringContaining(String(MAX_AMOUNT)) }],
    })
  })

  test('given a subtotal that fits but a total with tax that does not, then MoneyOverflowError', () => {
    const quantity = 9_000 // × 999,999,999,999 ≈ 9.0e15: a safe subtotal, doubled by a 100 % tax
    expect(computeLine({ quantity, unitPrice: MAX_UNIT_PRICE, taxRate: 0 }).total).toBe(8_999_999_999_991_000)
    expect(() => computeLine({ quantity, unitPrice: MAX_UNIT_PRICE, taxRate: 100 })).toThrow(
      MoneyOverflowError,
    )
  })

  test('given an invalid quantity or rate, then the error names that field under the path', () => {
    expect(thrown(() => computeLine({ quantity: 0, unitPrice: 1, taxRate: 0 }, '/items/1'))).toMatchObject({
      path: '/items/1/quantity',
    })
    expect(
      thrown(() => computeLine({ quantity: 1, unitPrice: 1, taxRate: 100.5 }, '/items/1')),
    ).toMatchObject({
      path: '/items/1/taxRate',
    })
    expect(
      thrown(() => computeLine({ quantity: 1, unitPrice: 1, taxRate: 0, discountPercent: -1 }, '/items/1')),
    ).toMatchObject({ path: '/items/1/discountPercent' })
  })
})

describe('computeTotals and computeInvoice', () => {
  test('given lines and a payment, then totals are the sums and amountDue is total − amountPaid', () => {
    const lines = [
      computeLine({ quantity: 3, unitPrice: 1999, taxRate: 19 }),
      computeLine({ quantity: 1, unitPrice: 5000, taxRate: 7.25, discountPercent: 10 }),
    ]
    expect(computeTotals(lines, 2000)).toEqual({
      subtotal: 10997,
      discountTotal: 500,
      taxTotal: 1465,
      total: 11962,
      amountPaid: 2000,
      amountDue: 9962,
    })
  })

  test('given no lines, then every total is 0', () => {
    expect(computeTotals([])).toEqual({
      subtotal: 0,
      discountTotal: 0,
      taxTotal: 0,
      total: 0,
      amountPaid: 0,
      amountDue: 0,
    })
  })

  test('given a negative or fractional amount paid, then it is refused', () => {
    expect(() => computeTotals([], -1)).toThrow(InvalidAmountError)
    expect(() => computeTotals([], 0.5)).toThrow(InvalidAmountError)
  })

  test('given lines whose sum leaves the safe range, then MoneyOverflowError names the items', () => {
    const big = { subtotal: MAX_AMOUNT, discount: 0, tax: 0, total: MAX_AMOUNT }
    expect(thrown(() => computeTotals([big, big]))).toMatchObject({
      name: 'MoneyOverflowError',
      path: '/items',
    })
  })

  test('given an invoice discount, then it applies to every line and errors name /items/{i}', () => {
    const invoice = computeInvoice({
      items: [
        { quantity: 1, unitPrice: 5000, taxRate: 7.25 },
        { quantity: 1, unitPrice: -1000, taxRate: 7.25 },
      ],
      discountPercent: 10,
      amountPaid: 826,
    })
    expect(invoice.lines.map((line) => line.total)).toEqual([4826, -965])
    expect(invoice.totals).toMatchObject({ subtotal: 4000, discountTotal: 400, taxTotal: 261, total: 3861 })
    expect(invoice.totals.amountDue).toBe(3035)
    expect(
      thrown(() =>
        computeInvoice({
          items: [
            { quantity: 1, unitPrice: 1, taxRate: 0 },
            { quantity: 1.0001, unitPrice: 1, taxRate: 0 },
          ],
        }),
      ),
    ).toMatchObject({ path: '/items/1/quantity' })
    expect(thrown(() => computeInvoice({ items: [], discountPercent: 101 }))).toMatchObject({
      path: '/discountPercent',
    })
  })
})

describe('divRoundHalfAwayFromZero', () => {
  test.each([
    [5n, 2n, 3n],
    [-5n, 2n, -3n],
    [5n, -2n, -3n],
    [-5n, -2n, 3n],
    [7n, 2n, 4n],
    [-7n, 2n, -4n],
    [4n, 3n, 1n],
    [-4n, 3n, -1n],
    [5n, 3n, 2n],
    [-5n, 3n, -2n],
    [1n, 3n, 0n],
    [-1n, 3n, 0n],
    [0n, 7n, 0n],
    [-3625n, 10n, -363n],
    [6n, 3n, 2n],
    [-6n, 3n, -2n],
  ])('given %p / %p, then %p', (n, d, expected) => {
    expect(divRoundHalfAwayFromZero(n, d)).toBe(expected)
  })

  test('given a zero divisor, then it throws a RangeError', () => {
    expect(() => divRoundHalfAwayFromZero(1n, 0n)).toThrow(RangeError)
  })
})

describe('parseDecimal3', () => {
  test.each([
    [0, 0n],
    [-0, 0n],
    [1, 1000n],
    [1.5, 1500n],
    [0.001, 1n],
    [19, 19000n],
    [7.25, 7250n],
    [999_999_999_999.999, 999_999_999_999_999n],
    ['1.500', 1500n],
    ['1.5000000', 1500n],
    ['0', 0n],
    ['0.000', 0n],
    ['12', 12000n],
    ['1e2', 100000n],
    ['25E-3', 25n],
  ])('given %p, then %p thousandths', (value, expected) => {
    expect(parseDecimal3(value)).toBe(expected)
  })

  test.each([
    [0.0001, 'must have at most 3 fraction digits'],
    [1e-7, 'must have at most 3 fraction digits'],
    ['1.5E-3', 'must have at most 3 fraction digits'],
    [0.1 + 0.2, 'must have at most 3 fraction digits'],
    [1e21, 'must be at most'],
    [1e15, 'must be at most'],
    ['1000000000000000', 'must be at most'],
    ['1e99999999999', 'must be at most'],
    [-1, 'must not be negative'],
    ['-1.5', 'must not be negative'],
    [Number.NaN, 'must be a finite number'],
    [Number.POSITIVE_INFINITY, 'must be a finite number'],
    ['', 'must be a decimal number'],
    [' 1', 'must be a decimal number'],
    ['1.', 'must be a decimal number'],
    ['.5', 'must be a decimal number'],
    ['+1', 'must be a decimal number'],
    ['1,5', 'must be a decimal number'],
    ['0x10', 'must be a decimal number'],
    ['Infinity', 'must be a decimal number'],
  ])('given %p, then InvalidDecimalError "%s"', (value, message) => {
    const error = thrown(() => parseDecimal3(value, '/value'))
    expect(error).toBeInstanceOf(InvalidDecimalError)
    expect(error).toMatchObject({
      path: '/value',
      details: [{ path: '/value', message: expect.stringContaining(message) }],
    })
  })

  test('given a value that is neither number nor string at runtime, then InvalidDecimalError', () => {
    expect(() => parseDecimal3(true as unknown as number)).toThrow(InvalidDecimalError)
  })
})

describe('parseQuantity and parsePercent', () => {
  test('given a quantity, then it must be > 0 and ≤ 1,000,000,000', () => {
    expect(parseQuantity(0.001)).toBe(1n)
    expect(parseQuantity(1_000_000_000)).toBe(1_000_000_000_000n)
    expect(() => parseQuantity(0)).toThrow('must be greater than 0')
    expect(() => parseQuantity(-1)).toThrow('must not be negative')
    expect(() => parseQuantity(1_000_000_000.001)).toThrow('must be at most 1000000000')
  })

  test('given a rate, then it must be within 0–100 with at most 3 fraction digits', () => {
    expect(parsePercent(0)).toBe(0n)
    expect(parsePercent(100)).toBe(100_000n)
    expect(parsePercent('99.999')).toBe(99_999n)
    expect(() => parsePercent(100.001)).toThrow('must be at most 100')
    expect(() => parsePercent(-0.5)).toThrow('must not be negative')
    expect(() => parsePercent(7.2501)).toThrow('must have at most 3 fraction digits')
  })
})

describe('formatDecimal3 and decimal3ToString', () => {
  test.each([
    [1500n, 1.5, '1.5'],
    [0n, 0, '0'],
    [1n, 0.001, '0.001'],
    [19000n, 19, '19'],
    [-250n, -0.25, '-0.25'],
    [999_999_999_999_999n, 999_999_999_999.999, '999999999999.999'],
  ])('given %p thousandths, then %p and "%s"', (thousandths, number, text) => {
    expect(formatDecimal3(thousandths)).toBe(number)
    expect(decimal3ToString(thousandths)).toBe(text)
  })

  test('given more digits than a number holds exactly, then formatDecimal3 throws a RangeError', () => {
    expect(() => formatDecimal3(10n ** 15n)).toThrow(RangeError)
  })
})

describe('parseMinorUnits', () => {
  test('given a bigint column as a string, a bigint or a number, then the exact safe integer', () => {
    expect(parseMinorUnits('-123456')).toBe(-123456)
    expect(parseMinorUnits(String(MAX_AMOUNT))).toBe(MAX_AMOUNT)
    expect(parseMinorUnits(42n)).toBe(42)
    expect(parseMinorUnits(7)).toBe(7)
  })

  test('given a fraction or an amount beyond a safe integer, then it is refused, not rounded', () => {
    expect(() => parseMinorUnits('1.5', '/amount')).toThrow(InvalidAmountError)
    expect(() => parseMinorUnits(1.5)).toThrow(InvalidAmountError)
    expect(() => parseMinorUnits('9007199254740993')).toThrow(MoneyOverflowError)
    expect(() => parseMinorUnits(2 ** 60)).toThrow(MoneyOverflowError)
  })
})

describe('currencies', () => {
  test.each([
    ['USD', 2],
    ['EUR', 2],
    ['JPY', 0],
    ['KWD', 3],
    ['BHD', 3],
  ])('given %s, then it has %p minor digits', (currency, digits) => {
    expect(currencyMinorDigits(currency)).toBe(digits)
  })

  test('given ISO codes, then isValidCurrency knows them and refuses the rest', () => {
    expect(isValidCurrency('USD')).toBe(true)
    expect(isValidCurrency('JPY')).toBe(true)
    expect(isValidCurrency('usd')).toBe(false)
    expect(isValidCurrency('ZZZ')).toBe(false)
    expect(isValidCurrency('')).toBe(false)
  })

  test('given an unknown currency, then currencyMinorDigits throws a RangeError', () => {
    expect(() => currencyMinorDigits('ZZZ')).toThrow(RangeError)
  })
})

describe('formatMoney', () => {
  test.each([
    [123456, 'EUR', '€1,234.56'],
    [1235, 'JPY', '¥1,235'],
    [1234567, 'KWD', 'KWD\u00a01,234.567'],
    [1999, 'USD', '$19.99'],
    [5, 'USD', '$0.05'],
    [0, 'USD', '$0.00'],
    [-5, 'USD', '-$0.05'],
    [MAX_AMOUNT, 'USD', '$90,071,992,547,409.91'],
  ])('given %p %s, then %s', (minor, currency, expected) => {
    expect(formatMoney(minor, currency)).toBe(expected)
  })

  test('given another locale, then Intl places symbol and separators', () => {
    expect(formatMoney(123456, 'EUR', 'de-DE')).toBe('1.234,56\u00a0€')
  })

  test('given a fractional or unsafe amount, then it throws a RangeError', () => {
    expect(() => formatMoney(1.5, 'USD')).toThrow(RangeError)
    expect(() => formatMoney(2 ** 60, 'USD')).toThrow(RangeError)
  })

  test('given minor units, then minorToDecimalString shifts the point exactly', () => {
    expect(minorToDecimalString(123456, 2)).toBe('1234.56')
    expect(minorToDecimalString(-5, 3)).toBe('-0.005')
    expect(minorToDecimalString(1235, 0)).toBe('1235')
    expect(minorToDecimalString(12345678901234567890n, 2)).toBe('123456789012345678.90')
  })
})
