import { decimal3ToString, minorToDecimalString, parsePercent, parseQuantity } from '../../shared/money.ts'
import type { EInvoiceDocument, EInvoiceLine } from './document.ts'

/** EN 16931 amounts carry at most two decimals (BR-DEC-…). */
export const MAX_MINOR_DIGITS = 2

/**
 * Refuses what no valid e-invoice can say: a currency with three minor digits (KWD, BHD, …) would need
 * amounts the rules reject, and rounding them away would change the invoice. `checkDocument` reports it first.
 */
export function assertWritable(doc: EInvoiceDocument): void {
  if (doc.currency.minorDigits > MAX_MINOR_DIGITS) {
    throw new RangeError(
      `${doc.currency.code} has ${doc.currency.minorDigits} minor digits: EN 16931 carries at most 2`,
    )
  }
}

/** An amount in the document's currency as the XML carries it: major units, the currency's decimals. */
export function amountText(doc: EInvoiceDocument, minor: number): string {
  return minorToDecimalString(minor, doc.currency.minorDigits)
}

/** A rate as its shortest exact decimal: "19", "7.25". */
export function rateText(rate: string): string {
  return decimal3ToString(parsePercent(rate))
}

/** `2026-01-15` → `20260115`, the CII date format 102. */
export function date102(isoDate: string): string {
  return isoDate.replaceAll('-', '')
}

/**
 * Quantity and price of a line as written. BR-27 forbids a negative price, so a negative unit price
 * (a credit line) is written as a negative quantity at the positive price; the line amount keeps its sign.
 */
export function quantityAndPrice(
  doc: EInvoiceDocument,
  line: EInvoiceLine,
): { quantity: string; price: string } {
  const quantity = parseQuantity(line.quantity)
  const negative = line.unitPrice < 0
  return {
    quantity: decimal3ToString(negative ? -quantity : quantity),
    price: amountText(doc, Math.abs(line.unitPrice)),
  }
}

/** Present and not blank. */
export function filled(value: string | undefined | null): value is string {
  return typeof value === 'string' && value.trim() !== ''
}

/** The value when present and not blank, else nothing: blank fields are left out of the XML. */
export function optional(value: string | undefined): string | undefined {
  return filled(value) ? value : undefined
}
