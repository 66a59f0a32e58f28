import { decimal3ToString, divRoundHalfAwayFromZero, parsePercent } from '../../shared/money.ts'
import type { VatCategory } from './document.ts'

/** A rate in thousandths of a percent divides by this to give the fraction: 19 % is 19000 / 100000. */
const PERCENT_THOUSANDTHS = 100_000n

/** What one line (or one allowance, negated) contributes to the taxable amount of its VAT group. */
export interface VatBase {
  vatCategory: VatCategory
  vatRate: string
  amount: number
}

export interface VatGroup {
  vatCategory: VatCategory
  /** The rate as its shortest exact text ("19", "7.25"), so "19.0" and "19" fall in one group. */
  vatRate: string
  /** BT-116. */
  taxableAmount: number
  /** BT-117. */
  taxAmount: number
}

/** The key of a VAT breakdown entry: category and rate, the rate compared as a number. */
export function vatGroupKey(vatCategory: VatCategory, vatRate: string): string {
  return `${vatCategory} ${decimal3ToString(parsePercent(vatRate))}`
}

/** BT-117 as the norm computes it: the group's taxable amount times its rate, rounded once, halves away from zero. */
export function groupTax(taxableAmount: number, vatRate: string): number {
  const tax = divRoundHalfAwayFromZero(BigInt(taxableAmount) * parsePercent(vatRate), PERCENT_THOUSANDTHS)
  return Number(tax)
}

/**
 * The VAT breakdown (BG-23) of a document: its bases summed per category and rate, each group taxed once
 * (EN 16931 BR-CO-17), in the order the groups first appear so the output is stable.
 */
export function computeVatBreakdown(bases: readonly VatBase[]): VatGroup[] {
  const groups = new Map<string, VatGroup>()
  for (const base of bases) {
    const key = vatGroupKey(base.vatCategory, base.vatRate)
    const group = groups.get(key)
    if (group) group.taxableAmount += base.amount
    else
      groups.set(key, {
        vatCategory: base.vatCategory,
        vatRate: decimal3ToString(parsePercent(base.vatRate)),
        taxableAmount: base.amount,
        taxAmount: 0,
      })
  }
  return [...groups.values()].map((group) => ({
    ...group,
    taxAmount: groupTax(group.taxableAmount, group.vatRate),
  }))
}

export interface TaxDrift extends VatGroup {
  /** BT-117 as the norm computes it, in minor units. */
  expectedTax: number
  /** taxAmount − expectedTax, in minor units. */
  drift: number
  /** True when the official rules (BR-CO-17) refuse the group's tax. */
  exceedsTolerance: boolean
}

/**
 * How far each group's tax (e.g. the sum of per-line rounded taxes) lies from the norm's per-group tax.
 *
 * BR-CO-17 as the official Schematron tests it: |BT-117| must lie within one *major* unit of
 * round(|BT-116| × rate / 100, 2 decimals) — strictly within in UBL, inclusive in CII; we hold the stricter.
 * In EUR that tolerates 99 cents; in JPY (no minor digits) it tolerates nothing beyond the rounding itself,
 * which is why per-line rounding fails long JPY invoices.
 */
export function taxDrift(groups: readonly VatGroup[], minorDigits: number): TaxDrift[] {
  if (minorDigits > 2) throw new RangeError('the norm carries at most 2 decimals')
  // Work in hundredths of a major unit, the precision of the rule's own rounding.
  const toHundredths = 10n ** BigInt(2 - minorDigits)
  const oneMajorUnit = 100n
  return groups.map((group) => {
    const rate = parsePercent(group.vatRate)
    const tax = BigInt(Math.abs(group.taxAmount)) * toHundredths
    const expected = divRoundHalfAwayFromZero(
      BigInt(Math.abs(group.taxableAmount)) * toHundredths * rate,
      PERCENT_THOUSANDTHS,
    )
    // A rate that rounds to 0 % asks for a tax that rounds to zero major units instead.
    const roundsToZeroRate = rate < 500n
    const exceedsTolerance = roundsToZeroRate
      ? tax * 2n >= oneMajorUnit
      : absBig(tax - expected) >= oneMajorUnit
    const expectedTax = groupTax(group.taxableAmount, group.vatRate)
    return { ...group, expectedTax, drift: group.taxAmount - expectedTax, exceedsTolerance }
  })
}

function absBig(n: bigint): bigint {
  return n < 0n ? -n : n
}

/** A line as the product taxed it: its base after the discount, and its own rounded tax. */
export interface TaxedLine extends VatBase {
  tax: number
}

/**
 * The drift of per-line rounding (`taxCalculation: "per_line"`): each group's sum of line taxes against the
 * norm's single rounding of the group, and whether BR-CO-17 still accepts it.
 */
export function lineTaxDrift(lines: readonly TaxedLine[], minorDigits: number): TaxDrift[] {
  const taxes = new Map<string, number>()
  for (const line of lines) {
    const key = vatGroupKey(line.vatCategory, line.vatRate)
    taxes.set(key, (taxes.get(key) ?? 0) + line.tax)
  }
  const groups = computeVatBreakdown(lines).map((group) => ({
    ...group,
    taxAmount: taxes.get(vatGroupKey(group.vatCategory, group.vatRate)) ?? 0,
  }))
  return taxDrift(groups, minorDigits)
}
