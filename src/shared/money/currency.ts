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

/**
 * ISO 4217 List One as of 2026: the codes of currencies in use. Intl also knows historic codes (DEM, HRK),
 * fund codes (BOV, CLF, USN), precious metals (XAU) and the testing and "no currency" codes (XTS, XXX),
 * none of which an invoice can be written in. ANG left the list for XCG, HRK for EUR, SLL for SLE, ZWL for ZWG.
 */
const ACTIVE_CURRENCIES: ReadonlySet<string> = new Set(
  (
    'AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF ' +
    'CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD ' +
    'HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL ' +
    'LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP ' +
    'PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT ' +
    'TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG'
  ).split(' '),
)

/** A currency an invoice, customer or profile may be written in: active ISO 4217 only (and known to Intl). */
export function isActiveCurrency(code: string): boolean {
  return ACTIVE_CURRENCIES.has(code) && isValidCurrency(code)
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
