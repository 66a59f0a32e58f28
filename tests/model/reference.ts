/**
 * A reference model of invoice money and lifecycle, written from the contract (API.md: "Money arithmetic",
 * "Lifecycle", "Credit notes") and nothing else: it shares no code with the app. Decimals (quantity, taxRate,
 * discountPercent) are BigInt thousandths, money is BigInt minor units, so no floating point is involved.
 */

/** Thousandths in one unit: quantities and percentages carry at most 3 fraction digits. */
export const THOUSANDTHS = 1000n
/** A percentage in thousandths applied to an amount: `amount × p / 1000 / 100`. */
const PERCENT_OF_THOUSANDTHS = 100n * THOUSANDTHS

export type Status = 'draft' | 'sent' | 'partially_paid' | 'paid' | 'void' | 'credited'

export interface LineInput {
  /** Thousandths: 1.5 is 1500n. */
  quantity: bigint
  /** Minor units, may be negative. */
  unitPrice: bigint
  /** Thousandths of a percent: 7.25 % is 7250n. */
  taxRate: bigint
}

export interface Amounts {
  subtotal: bigint
  discount: bigint
  tax: bigint
  total: bigint
}

export interface DocumentAmounts {
  lines: Amounts[]
  subtotal: bigint
  discountTotal: bigint
  taxTotal: bigint
  total: bigint
}

const abs = (n: bigint) => (n < 0n ? -n : n)

/** `numerator / denominator` rounded half away from zero to a whole number; `denominator` > 0. */
export function roundDiv(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new RangeError('denominator must be positive')
  const magnitude = abs(numerator)
  const quotient = magnitude / denominator
  const rounded = (magnitude % denominator) * 2n >= denominator ? quotient + 1n : quotient
  return numerator < 0n ? -rounded : rounded
}

/** One line, as API.md writes it: subtotal, then discount, then tax on what is left, each rounded. */
export function lineAmounts(line: LineInput, discountPercent: bigint): Amounts {
  const subtotal = roundDiv(line.quantity * line.unitPrice, THOUSANDTHS)
  const discount = roundDiv(subtotal * discountPercent, PERCENT_OF_THOUSANDTHS)
  const tax = roundDiv((subtotal - discount) * line.taxRate, PERCENT_OF_THOUSANDTHS)
  return { subtotal, discount, tax, total: subtotal - discount + tax }
}

/** Every line priced on its own, then the document totals as the sums of the lines. */
export function documentAmounts(lines: readonly LineInput[], discountPercent: bigint): DocumentAmounts {
  const priced = lines.map((line) => lineAmounts(line, discountPercent))
  const sum = (pick: (a: Amounts) => bigint) => priced.reduce((acc, a) => acc + pick(a), 0n)
  return {
    lines: priced,
    subtotal: sum((a) => a.subtotal),
    discountTotal: sum((a) => a.discount),
    taxTotal: sum((a) => a.tax),
    total: sum((a) => a.total),
  }
}

/** `max(0, total − amountPaid − creditedTotal)`. */
export function amountDue(total: bigint, amountPaid: bigint, creditedTotal = 0n): bigint {
  const due = total - amountPaid - creditedTotal
  return due > 0n ? due : 0n
}

/** What mark-as-sent does to a draft of this total: refuse a negative one, issue a zero one as paid. */
export function issueOutcome(total: bigint): 'negative_total' | 'paid' | 'sent' {
  if (total < 0n) return 'negative_total'
  return total === 0n ? 'paid' : 'sent'
}

/**
 * The status of an issued, not voided invoice after a payment or a credit note: `credited` once credit notes
 * exist and `creditedTotal` = `total`, else it follows what is due: nothing → paid, some paid → partially paid.
 */
export function statusAfterPayment(total: bigint, amountPaid: bigint, creditedTotal = 0n): Status {
  if (creditedTotal > 0n && creditedTotal === total) return 'credited'
  if (amountDue(total, amountPaid, creditedTotal) === 0n) return 'paid'
  return amountPaid > 0n ? 'partially_paid' : 'sent'
}

export const canTakePayments = (status: Status) => status === 'sent' || status === 'partially_paid'

/** Only a sent invoice nobody paid or credited can be voided. */
export const canVoid = (status: Status, amountPaid: bigint, creditedTotal = 0n) =>
  status === 'sent' && amountPaid === 0n && creditedTotal === 0n

/** Credit notes are issued against sent, partially paid and paid invoices. */
export const canCredit = (status: Status) =>
  status === 'sent' || status === 'partially_paid' || status === 'paid'

/** Sent or partially paid, and due before today (both `YYYY-MM-DD` in the profile's time zone). */
export const isOverdue = (status: Status, dueDate: string, today: string) =>
  (status === 'sent' || status === 'partially_paid') && dueDate < today

/** `invoicePrefix` + the number zero-padded to 4 digits: INV-0001, …, INV-10000. */
export const invoiceNumber = (prefix: string, seq: number) => `${prefix}${String(seq).padStart(4, '0')}`

/** `creditNotePrefix` + the number zero-padded to 4 digits, like invoice numbers: CN-0001. */
export const creditNoteNumber = invoiceNumber

/** What earlier credit notes took of an invoice line: their quantity (thousandths) and amounts, summed. */
export interface LineCredit {
  quantity: bigint
  amounts: Amounts
}

export const NO_CREDIT: LineCredit = {
  quantity: 0n,
  amounts: { subtotal: 0n, discount: 0n, tax: 0n, total: 0n },
}

const minus = (a: Amounts, b: Amounts): Amounts => ({
  subtotal: a.subtotal - b.subtotal,
  discount: a.discount - b.discount,
  tax: a.tax - b.tax,
  total: a.total - b.total,
})

export const plus = (a: Amounts, b: Amounts): Amounts => ({
  subtotal: a.subtotal + b.subtotal,
  discount: a.discount + b.discount,
  tax: a.tax + b.tax,
  total: a.total + b.total,
})

/**
 * A credit of `quantity` (thousandths, 0 < quantity ≤ what is left) of an invoice line, priced cumulatively:
 * the line's rule amounts of everything credited of it so far, this credit included, minus what earlier credits
 * took. The credit that exhausts the line takes exactly what is left of its amounts.
 */
export function creditLineAmounts(
  line: LineInput,
  discountPercent: bigint,
  earlier: LineCredit,
  quantity: bigint,
): Amounts {
  const cumulative = earlier.quantity + quantity
  if (quantity <= 0n || cumulative > line.quantity) {
    throw new RangeError(`a credit of ${quantity} thousandths does not fit what is left of the line`)
  }
  const whole = lineAmounts(line, discountPercent)
  if (cumulative === line.quantity) return minus(whole, earlier.amounts)
  return minus(lineAmounts({ ...line, quantity: cumulative }, discountPercent), earlier.amounts)
}

/** How a credit note of `total` splits: what it takes off the amount due just before, and what is owed back. */
export function creditSplit(
  total: bigint,
  dueBefore: bigint,
): { appliedToBalance: bigint; refundDue: bigint } {
  const appliedToBalance = total < dueBefore ? total : dueBefore
  return { appliedToBalance, refundDue: total - appliedToBalance }
}

/** Thousandths as the decimal a client writes: 1500n → "1.5", 7n → "0.007". */
export function decimalString(thousandths: bigint): string {
  const sign = thousandths < 0n ? '-' : ''
  const magnitude = abs(thousandths)
  const whole = magnitude / THOUSANDTHS
  const fraction = String(magnitude % THOUSANDTHS)
    .padStart(3, '0')
    .replace(/0+$/, '')
  return `${sign}${whole}${fraction ? `.${fraction}` : ''}`
}

/** The JSON number of a decimal in thousandths (the number nearest to its decimal text, as JSON.parse reads it). */
export const decimalNumber = (thousandths: bigint) => Number(decimalString(thousandths))

/** A calendar date moved by whole days, without time zones. */
export function addDays(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number]
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10)
}

/** A decimal's text with at most 3 fraction digits ("19.5", "0.007") as thousandths. */
export function parseDecimal(text: string): bigint {
  const match = /^(-?)(\d+)(?:\.(\d{1,3}))?$/.exec(text)
  if (!match) throw new RangeError(`not a decimal with at most 3 fraction digits: ${text}`)
  const [, sign, whole, fraction = ''] = match
  const magnitude = BigInt(whole!) * THOUSANDTHS + BigInt(fraction.padEnd(3, '0'))
  return sign ? -magnitude : magnitude
}
