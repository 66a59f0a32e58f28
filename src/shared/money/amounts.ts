import { DECIMAL_SCALE, type DecimalInput, MAX_PERCENT, parsePercent, parseQuantity } from './decimal.ts'
import { InvalidAmountError, MoneyOverflowError } from './errors.ts'
import { abs, divRoundHalfAwayFromZero } from './rounding.ts'

/** Every amount the API answers is a JSON number, so it must stay a safe integer of minor units. */
export const MAX_AMOUNT = Number.MAX_SAFE_INTEGER
const MAX_AMOUNT_BIGINT = BigInt(MAX_AMOUNT)
const SHORT_INTEGER = /^-?\d{1,15}$/

/**
 * Unit prices may be negative: a credit line ("deposit received", "goodwill credit") is ordinary invoicing.
 * A negative line is discounted and taxed like any other, so it lowers the discount and tax totals too,
 * and every line amount is exactly the negation of the same line at the positive price.
 * At quantity 1 and a 100 % tax rate, 500 lines at the limit still add up to a safe integer;
 * larger quantities can overflow, which `computeLine` refuses with `MoneyOverflowError`.
 */
export const MAX_UNIT_PRICE = 999_999_999_999
export const MIN_UNIT_PRICE = -MAX_UNIT_PRICE

/** Rates are thousandths of a percent, so `amount × rate / PERCENT_DIVISOR` is `amount × rate %`. */
const PERCENT_DIVISOR = BigInt(MAX_PERCENT) * DECIMAL_SCALE

export interface LineInput {
  quantity: DecimalInput
  /** Integer minor units; may be negative for a credit line. */
  unitPrice: number
  taxRate: DecimalInput
  /** The invoice's discount, applied to each line; 0 when absent. */
  discountPercent?: DecimalInput
}

export interface LineMoney {
  subtotal: number
  discount: number
  tax: number
  total: number
}

export interface LineAmounts extends LineMoney {
  quantityThousandths: bigint
  taxRateThousandths: bigint
  discountPercentThousandths: bigint
}

export interface InvoiceTotals {
  subtotal: number
  discountTotal: number
  taxTotal: number
  total: number
  amountPaid: number
  amountDue: number
}

export interface InvoiceInput {
  items: readonly Omit<LineInput, 'discountPercent'>[]
  discountPercent?: DecimalInput
  amountPaid?: number
}

export interface InvoiceAmounts {
  lines: LineAmounts[]
  totals: InvoiceTotals
}

/**
 * One line, exactly: subtotal = round(quantity × unitPrice), discount = round(subtotal × discount %),
 * tax = round((subtotal − discount) × tax %), total = subtotal − discount + tax; halves away from zero.
 * `path` prefixes the field names in errors (`/items/3` → `/items/3/unitPrice`).
 */
export function computeLine(input: LineInput, path = ''): LineAmounts {
  const discountPercent = parsePercent(input.discountPercent ?? 0, `${path}/discountPercent`)
  return lineAmounts(input, discountPercent, path)
}

function lineAmounts(
  input: Omit<LineInput, 'discountPercent'>,
  discountPercent: bigint,
  path: string,
): LineAmounts {
  const quantity = parseQuantity(input.quantity, `${path}/quantity`)
  const unitPrice = unitPriceOf(input.unitPrice, `${path}/unitPrice`)
  const taxRate = parsePercent(input.taxRate, `${path}/taxRate`)

  const subtotal = divRoundHalfAwayFromZero(quantity * unitPrice, DECIMAL_SCALE)
  const discount = divRoundHalfAwayFromZero(subtotal * discountPercent, PERCENT_DIVISOR)
  const tax = divRoundHalfAwayFromZero((subtotal - discount) * taxRate, PERCENT_DIVISOR)
  const total = subtotal - discount + tax

  const overflowPath = `${path}/unitPrice`
  return {
    subtotal: lineAmountToNumber(subtotal, overflowPath),
    discount: lineAmountToNumber(discount, overflowPath),
    tax: lineAmountToNumber(tax, overflowPath),
    total: lineAmountToNumber(total, overflowPath),
    quantityThousandths: quantity,
    taxRateThousandths: taxRate,
    discountPercentThousandths: discountPercent,
  }
}

function unitPriceOf(value: number, path: string): bigint {
  if (!Number.isSafeInteger(value))
    throw new InvalidAmountError(path, 'must be an integer amount in minor units')
  if (value < MIN_UNIT_PRICE || value > MAX_UNIT_PRICE) {
    throw new InvalidAmountError(path, `must be between ${MIN_UNIT_PRICE} and ${MAX_UNIT_PRICE}`)
  }
  return BigInt(value)
}

function lineAmountToNumber(amount: bigint, path: string): number {
  if (abs(amount) > MAX_AMOUNT_BIGINT) {
    throw new MoneyOverflowError(path, `is too large for this quantity: the line would exceed ${MAX_AMOUNT}`)
  }
  return Number(amount)
}

/** Invoice totals are the sums of the lines; amountDue = total − amountPaid. */
export function computeTotals(lines: readonly LineMoney[], amountPaid = 0): InvoiceTotals {
  const paid = amountPaidOf(amountPaid)
  let subtotal = 0n
  let discount = 0n
  let tax = 0n
  let total = 0n
  lines.forEach((line, index) => {
    subtotal += lineFieldOf(line.subtotal, `/items/${index}/subtotal`)
    discount += lineFieldOf(line.discount, `/items/${index}/discount`)
    tax += lineFieldOf(line.tax, `/items/${index}/tax`)
    total += lineFieldOf(line.total, `/items/${index}/total`)
  })
  return {
    subtotal: sumToNumber(subtotal),
    discountTotal: sumToNumber(discount),
    taxTotal: sumToNumber(tax),
    total: sumToNumber(total),
    amountPaid,
    amountDue: amountDueToNumber(total - paid),
  }
}

function amountPaidOf(value: number): bigint {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidAmountError('/amountPaid', 'must be a non-negative integer amount in minor units')
  }
  return BigInt(value)
}

function lineFieldOf(value: number, path: string): bigint {
  if (!Number.isSafeInteger(value))
    throw new InvalidAmountError(path, 'must be an integer amount in minor units')
  return BigInt(value)
}

function sumToNumber(sum: bigint): number {
  if (abs(sum) > MAX_AMOUNT_BIGINT) {
    throw new MoneyOverflowError('/items', `add up to more than ${MAX_AMOUNT}`)
  }
  return Number(sum)
}

function amountDueToNumber(amountDue: bigint): number {
  if (abs(amountDue) > MAX_AMOUNT_BIGINT) {
    throw new MoneyOverflowError('/amountPaid', `leaves an amount due beyond ${MAX_AMOUNT}`)
  }
  return Number(amountDue)
}

/** Every line of an invoice under its one discount, and the totals; errors name `/items/{i}/…`. */
export function computeInvoice(input: InvoiceInput): InvoiceAmounts {
  const discountPercent = parsePercent(input.discountPercent ?? 0, '/discountPercent')
  const lines = input.items.map((item, index) => lineAmounts(item, discountPercent, `/items/${index}`))
  return { lines, totals: computeTotals(lines, input.amountPaid ?? 0) }
}

/**
 * Minor units from the database edge (`bigint` columns arrive as strings) or a JSON number, exactly.
 * Refuses fractions and anything beyond a safe integer rather than rounding it.
 */
export function parseMinorUnits(value: number | bigint | string, path = ''): number {
  // Fifteen digits or fewer are always a safe integer: the common case, without a BigInt.
  if (typeof value === 'string' && SHORT_INTEGER.test(value)) return Number(value)
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value
  const amount = minorUnitsToBigInt(value, path)
  if (abs(amount) > MAX_AMOUNT_BIGINT)
    throw new MoneyOverflowError(path, `must be at most ${MAX_AMOUNT} in size`)
  return Number(amount)
}

function minorUnitsToBigInt(value: number | bigint | string, path: string): bigint {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value)
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value)
  throw new InvalidAmountError(path, 'must be an integer amount in minor units')
}
