import { computeLine, type LineMoney, type TaxCalculation } from './amounts.ts'
import { type DecimalInput, decimal3ToString } from './decimal.ts'
import { divRoundHalfAwayFromZero } from './rounding.ts'

/** An invoice line as a credit sees it: its rule inputs, its amounts, and what earlier credits took of it. */
export interface CreditableLine {
  /** The line's quantity in thousandths. */
  quantity: bigint
  unitPrice: number
  taxRate: DecimalInput
  amounts: LineMoney
  /** What earlier credit notes took of the line: their quantity in thousandths, and their amounts summed. */
  creditedQuantity: bigint
  credited: LineMoney
}

const ZERO: LineMoney = { subtotal: 0, discount: 0, tax: 0, total: 0 }

/** `value` moved toward zero until it lies between 0 and `limit` (which may be negative). */
const within = (value: number, limit: number) =>
  limit >= 0 ? Math.min(Math.max(value, 0), limit) : Math.max(Math.min(value, 0), limit)

/**
 * The amounts of a credit of `quantity` (thousandths, > 0, at most what is left of the line) under the line's
 * rules (API.md "Credit notes"). The credits of a line are priced cumulatively: a credit takes the rule amounts
 * of everything credited so far, this credit included, minus what earlier credits took. So
 *
 * - the first credit of a line is exactly the rule amounts of its quantity (3 × 1999 at 19 %, one unit: 2379),
 * - the credit that exhausts the line takes exactly what is left of it, so a line's credits add up to the line
 *   and crediting everything reaches the invoice's total,
 * - partial credits never pass the line, whatever their order: the rule amounts grow with the quantity (each
 *   step of rounding is monotonic for discounts of at most 100 %), and are held within the line besides.
 *
 * Crediting the same line unit by unit therefore yields 2379, 2379, 2378 rather than three times 2379 and a
 * line credited one cent more than it was invoiced.
 *
 * Under `per_category` a line's tax is its share of its group's tax, not the rule amount of its own base, so a
 * credit takes the line's tax in proportion to the quantity credited so far (rounded half away from zero), the
 * exhausting credit again taking exactly what is left: crediting everything still reaches the invoice.
 */
export function creditLine(
  line: CreditableLine,
  discountPercent: DecimalInput,
  quantity: bigint,
  taxCalculation: TaxCalculation = 'per_line',
): LineMoney {
  const after = line.creditedQuantity + quantity
  if (quantity <= 0n || after > line.quantity) {
    throw new RangeError(`a credit of ${quantity} thousandths does not fit what is left of the line`)
  }
  if (after === line.quantity) return minus(line.amounts, line.credited)
  const rule = computeLine({
    quantity: decimal3ToString(after),
    unitPrice: line.unitPrice,
    taxRate: line.taxRate,
    discountPercent,
  })
  const cumulative = {
    subtotal: within(rule.subtotal, line.amounts.subtotal),
    discount: within(rule.discount, line.amounts.discount),
    tax: within(
      taxCalculation === 'per_category'
        ? Number(divRoundHalfAwayFromZero(BigInt(line.amounts.tax) * after, line.quantity))
        : rule.tax,
      line.amounts.tax,
    ),
  }
  return minus(
    { ...cumulative, total: cumulative.subtotal - cumulative.discount + cumulative.tax },
    line.credited,
  )
}

function minus(a: LineMoney, b: LineMoney): LineMoney {
  return {
    subtotal: a.subtotal - b.subtotal,
    discount: a.discount - b.discount,
    tax: a.tax - b.tax,
    total: a.total - b.total,
  }
}

/** The sum of credit amounts, e.g. what earlier credits took of a line. */
export function sumMoney(lines: readonly LineMoney[]): LineMoney {
  return lines.reduce(
    (sum, line) => ({
      subtotal: sum.subtotal + line.subtotal,
      discount: sum.discount + line.discount,
      tax: sum.tax + line.tax,
      total: sum.total + line.total,
    }),
    ZERO,
  )
}
