import { abs } from './rounding.ts'

let supportedCurrencies: ReadonlySet<string> | undefined
const minorDigitsByCurrency = new Map<string, number>()
const formatters = new Map<string, Intl.NumberFormat>()
const MAX_CACHED_FORMATTERS = 256

/** An ISO-4217 code, upper case, that the runtime's Intl data knows (`USD`, `JPY`, `KWD`). */
export function isValidCurrency(code: string): boolean {
  supportedCurrencies ??= new Set(Intl.supportedValuesOf('currency'))
  return supportedCurrencies.has(code)
}

/** The currency's own number of minor digits, from Intl: USD 2, JPY 0, KWD 3. */
export function currencyMinorDigits(currency: string): number {
  const cached = minorDigitsByCurrency.get(currency)
  if (cached !== undefined) return cached
  if (!isValidCurrency(currency)) throw new RangeError(`unknown currency: ${currency}`)
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
    .maximumFractionDigits
  if (digits === undefined) throw new RangeError(`no minor digits known for ${currency}`)
  minorDigitsByCurrency.set(currency, digits)
  return digits
}

/** Minor units as an exact decimal string in major units: `(123456, 2)` → `"1234.56"`, `(-5, 3)` → `"-0.005"`. */
export function minorToDecimalString(minor: number | bigint, minorDigits: number): string {
  if (typeof minor === 'number' && !Number.isSafeInteger(minor)) {
    throw new RangeError(`${minor} is not a safe integer amount in minor units`)
  }
  const amount = BigInt(minor)
  const sign = amount < 0n ? '-' : ''
  const digits = abs(amount)
    .toString()
    .padStart(minorDigits + 1, '0')
  const whole = digits.slice(0, digits.length - minorDigits)
  const fraction = digits.slice(digits.length - minorDigits)
  return fraction === '' ? `${sign}${whole}` : `${sign}${whole}.${fraction}`
}

/**
 * A money amount for people: `formatMoney(123456, 'EUR')` → `€1,234.56`, `formatMoney(1235, 'JPY')` → `¥1,235`.
 * Intl receives the exact decimal string, so no amount is ever divided as a float.
 */
export function formatMoney(minor: number | bigint, currency: string, locale = 'en-US'): string {
  const decimal = minorToDecimalString(minor, currencyMinorDigits(currency))
  return currencyFormatter(currency, locale).format(decimal as Intl.StringNumericLiteral)
}

function currencyFormatter(currency: string, locale: string): Intl.NumberFormat {
  const key = `${locale} ${currency}`
  let formatter = formatters.get(key)
  if (formatter === undefined) {
    const digits = currencyMinorDigits(currency)
    formatter = new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    })
    if (formatters.size >= MAX_CACHED_FORMATTERS) formatters.clear()
    formatters.set(key, formatter)
  }
  return formatter
}
