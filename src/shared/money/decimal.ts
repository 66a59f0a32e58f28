import { InvalidDecimalError } from './errors.ts'

/** A decimal as it arrives: a JSON number (`1.5`) or an exact decimal string (`"1.500"`, a `numeric` column). */
export type DecimalInput = number | string

/** Decimals are held as bigint thousandths: `1.5` is `1500n`. */
export const DECIMAL_FRACTION_DIGITS = 3
export const DECIMAL_SCALE = 10n ** BigInt(DECIMAL_FRACTION_DIGITS)

/**
 * The largest decimal accepted, in thousandths (999,999,999,999.999). Fifteen significant digits is what
 * a double keeps exactly, so every accepted value survives the trip through a JSON number unchanged.
 */
export const MAX_DECIMAL3_THOUSANDTHS = 10n ** 15n - 1n

const MAX_WHOLE_DIGITS = String(MAX_DECIMAL3_THOUSANDTHS / DECIMAL_SCALE).length

export const MAX_QUANTITY = 1_000_000_000
export const MAX_PERCENT = 100

const DECIMAL_TEXT = /^(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/

interface ScaledDigits {
  digits: string
  /** How many of `digits` are fraction digits; negative when the value ends in zeros before the point. */
  fractionDigits: number
}

/**
 * Parses a non-negative decimal with at most 3 fraction digits into thousandths.
 * Numbers are read through their shortest decimal representation (`String(n)`), never multiplied as floats,
 * so `0.1 + 0.2` is refused rather than silently rounded.
 */
export function parseDecimal3(value: DecimalInput, path = ''): bigint {
  const scaled = scaledDigitsOf(decimalText(value, path), path)
  if (scaled.fractionDigits > DECIMAL_FRACTION_DIGITS) {
    throw new InvalidDecimalError(path, `must have at most ${DECIMAL_FRACTION_DIGITS} fraction digits`)
  }
  if (scaled.digits.length - scaled.fractionDigits > MAX_WHOLE_DIGITS) {
    throw tooLarge(path)
  }
  const thousandths = BigInt(scaled.digits) * 10n ** BigInt(DECIMAL_FRACTION_DIGITS - scaled.fractionDigits)
  if (thousandths > MAX_DECIMAL3_THOUSANDTHS) throw tooLarge(path)
  return thousandths
}

function decimalText(value: unknown, path: string): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidDecimalError(path, 'must be a finite number')
    if (value < 0) throw negative(path)
    return String(value)
  }
  if (typeof value === 'string') {
    if (value.startsWith('-') && DECIMAL_TEXT.test(value.slice(1))) throw negative(path)
    return value
  }
  throw new InvalidDecimalError(path, 'must be a number')
}

/** Splits `12.340e2` into significant digits `1234` with 0 fraction digits; trailing zeros carry no scale. */
function scaledDigitsOf(text: string, path: string): ScaledDigits {
  const match = DECIMAL_TEXT.exec(text)
  if (!match) throw new InvalidDecimalError(path, 'must be a decimal number such as 1.5')
  const [, whole = '', fraction = '', exponent = '0'] = match
  const significant = (whole + fraction).replace(/^0+/, '')
  const digits = significant.replace(/0+$/, '')
  if (digits === '') return { digits: '0', fractionDigits: 0 }
  const trailingZeros = significant.length - digits.length
  return { digits, fractionDigits: fraction.length - Number(exponent) - trailingZeros }
}

function negative(path: string): InvalidDecimalError {
  return new InvalidDecimalError(path, 'must not be negative')
}

function tooLarge(path: string): InvalidDecimalError {
  return new InvalidDecimalError(path, `must be at most ${decimal3ToString(MAX_DECIMAL3_THOUSANDTHS)}`)
}

/** Thousandths as the shortest exact decimal text: `1500n` → `"1.5"`, `-250n` → `"-0.25"`. */
export function decimal3ToString(thousandths: bigint): string {
  const sign = thousandths < 0n ? '-' : ''
  const magnitude = thousandths < 0n ? -thousandths : thousandths
  const whole = magnitude / DECIMAL_SCALE
  const fraction = (magnitude % DECIMAL_SCALE)
    .toString()
    .padStart(DECIMAL_FRACTION_DIGITS, '0')
    .replace(/0+$/, '')
  return fraction === '' ? `${sign}${whole}` : `${sign}${whole}.${fraction}`
}

/** Thousandths as a JSON number for output; exact in the sense that `String(result)` is the decimal itself. */
export function formatDecimal3(thousandths: bigint): number {
  const magnitude = thousandths < 0n ? -thousandths : thousandths
  if (magnitude > MAX_DECIMAL3_THOUSANDTHS) {
    throw new RangeError(`${thousandths} thousandths has more digits than a number holds exactly`)
  }
  return Number(decimal3ToString(thousandths))
}

/** A line quantity: `> 0`, at most 1,000,000,000, at most 3 fraction digits. */
export function parseQuantity(value: DecimalInput, path = ''): bigint {
  const quantity = parseDecimal3(value, path)
  if (quantity === 0n) throw new InvalidDecimalError(path, 'must be greater than 0')
  if (quantity > BigInt(MAX_QUANTITY) * DECIMAL_SCALE) {
    throw new InvalidDecimalError(path, `must be at most ${MAX_QUANTITY}`)
  }
  return quantity
}

/** A percentage (`taxRate`, `discountPercent`): 0–100, at most 3 fraction digits. */
export function parsePercent(value: DecimalInput, path = ''): bigint {
  const percent = parseDecimal3(value, path)
  if (percent > BigInt(MAX_PERCENT) * DECIMAL_SCALE) {
    throw new InvalidDecimalError(path, `must be at most ${MAX_PERCENT}`)
  }
  return percent
}
