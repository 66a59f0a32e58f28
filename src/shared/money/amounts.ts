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

/**
 * How line taxes are rounded: `per_line` (each line on its own, API.md "Money arithmetic") or `per_category`
 * (each category and rate taxed once, then spread over its lines).
 */
export type TaxCalculation = 'per_line' | 'per_category'

export interface InvoiceInput {
  items: readonly (Omit<LineInput, 'discountPercent'> & {
    /** The line's VAT category; with `per_category`, lines group by it and their rate. */
    taxCategory?: string
  })[]
  discountPercent?: DecimalInput
  amountPaid?: number
  taxCalculation?: TaxCalculation
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

/**
 * Every line of an invoice under its one discount, and the totals; errors name `/items/{i}/…`. With
 * `taxCalculation: "per_category"` the lines' taxes are replaced by their group's (`spreadGroupTaxes`).
 */
export function computeInvoice(input: InvoiceInput): InvoiceAmounts {
  const discountPercent = parsePercent(input.discountPercent ?? 0, '/discountPercent')
  const perLine = input.items.map((item, index) => lineAmounts(item, discountPercent, `/items/${index}`))
  const lines =
    input.taxCalculation === 'per_category'
      ? spreadGroupTaxes(
          perLine,
          input.items.map((item) => item.taxCategory ?? ''),
        )
      : perLine
  return { lines, totals: computeTotals(lines, input.amountPaid ?? 0) }
}

/**
 * `per_category` (API.md "Money arithmetic"): the tax of each (category, rate) group is computed once on the sum
 * of its lines' `subtotal − discount` and rounded once (halves away from zero), then spread over the group's lines
 * in proportion to their base by largest remainder: each line takes the floor of its exact share, and the units
 * left over go to the lines with the largest fractions, the earlier line first on a tie. The lines of a group
 * therefore add up to its tax exactly, and a group whose base is zero has no tax.
 */
function spreadGroupTaxes(lines: readonly LineAmounts[], categories: readonly string[]): LineAmounts[] {
  const groups = new Map<string, number[]>()
  lines.forEach((line, index) => {
    const key = `${categories[index]} ${line.taxRateThousandths}`
    const members = groups.get(key)
    if (members) members.push(index)
    else groups.set(key, [index])
  })
  const taxes: bigint[] = lines.map(() => 0n)
  for (const members of groups.values()) {
    const bases = members.map((index) => BigInt(lines[index]!.subtotal - lines[index]!.discount))
    const base = bases.reduce((sum, b) => sum + b, 0n)
    if (base === 0n) continue
    const rate = lines[members[0]!]!.taxRateThousandths
    const groupTax = divRoundHalfAwayFromZero(base * rate, PERCENT_DIVISOR)
    // share_i = groupTax × b_i / base, with a positive denominator so that floors and fractions compare.
    const sign = base < 0n ? -1n : 1n
    const denominator = base * sign
    const shares = bases.map((b, position) => {
      const numerator = groupTax * b * sign
      const floor = floorDiv(numerator, denominator)
      return { position, floor, fraction: numerator - floor * denominator }
    })
    let left = groupTax - shares.reduce((sum, share) => sum + share.floor, 0n)
    const byFraction = [...shares].sort((a, b) =>
      a.fraction === b.fraction ? a.position - b.position : a.fraction > b.fraction ? -1 : 1,
    )
    for (const share of byFraction) {
      if (left <= 0n) break
      share.floor += 1n
      left -= 1n
    }
    shares.forEach((share) => {
      taxes[members[share.position]!] = share.floor
    })
  }
  return lines.map((line, index) => {
    const tax = lineAmountToNumber(taxes[index]!, `/items/${index}/unitPrice`)
    return {
      ...line,
      tax,
      total: lineAmountToNumber(
        BigInt(line.subtotal - line.discount) + taxes[index]!,
        `/items/${index}/unitPrice`,
      ),
    }
  })
}

/** `n / d` rounded toward negative infinity, for `d` > 0. */
function floorDiv(n: bigint, d: bigint): bigint {
  const quotient = n / d
  return n % d !== 0n && n < 0n ? quotient - 1n : quotient
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
