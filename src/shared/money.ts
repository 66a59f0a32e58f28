/**
 * The money arithmetic of the service: integer minor units, exact decimals in thousandths, BigInt only.
 * See API.md, "Money arithmetic".
 */
export {
  computeInvoice,
  computeLine,
  computeTotals,
  type InvoiceAmounts,
  type InvoiceInput,
  type InvoiceTotals,
  type LineAmounts,
  type LineInput,
  type LineMoney,
  MAX_AMOUNT,
  MAX_UNIT_PRICE,
  MIN_UNIT_PRICE,
  parseMinorUnits,
  type TaxCalculation,
} from './money/amounts.ts'
export { type CreditableLine, creditLine, sumMoney } from './money/credits.ts'
export {
  currencyMinorDigits,
  formatMoney,
  isActiveCurrency,
  isValidCurrency,
  minorToDecimalString,
} from './money/currency.ts'
export {
  DECIMAL_FRACTION_DIGITS,
  type DecimalInput,
  decimal3ToString,
  formatDecimal3,
  MAX_DECIMAL3_THOUSANDTHS,
  MAX_PERCENT,
  MAX_QUANTITY,
  parseDecimal3,
  parsePercent,
  parseQuantity,
} from './money/decimal.ts'
export {
  InvalidAmountError,
  InvalidDecimalError,
  MoneyInputError,
  MoneyOverflowError,
} from './money/errors.ts'
export { divRoundHalfAwayFromZero } from './money/rounding.ts'
