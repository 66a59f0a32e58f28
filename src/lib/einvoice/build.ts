import type {
  EInvoiceAllowance,
  EInvoiceDocument,
  EInvoiceLine,
  EInvoiceTotals,
  EInvoiceVatBreakdown,
  VatCategory,
} from './document.ts'
import { EXEMPT_CATEGORIES } from './document.ts'
import { computeVatBreakdown, vatGroupKey } from './vat.ts'

/** A line as the product computed it: its net amount, its share of the invoice discount and its tax. */
export interface EInvoiceLineInput extends EInvoiceLine {
  /** The line's `discount` (API.md "Money arithmetic"); becomes part of its group's document allowance. */
  discount?: number
  /** The line's `tax`; when every line has one, a group's BT-117 is their sum (the document's own figures). */
  tax?: number
}

export interface EInvoiceInput
  extends Omit<EInvoiceDocument, 'lines' | 'allowances' | 'vatBreakdown' | 'totals'> {
  lines: EInvoiceLineInput[]
  /** BT-120 per category, required for each of E, AE, K, G, O used. */
  exemptionReasons?: Partial<Record<VatCategory, string>>
  /** BT-113: what was paid before this document. */
  prepaid?: number
}

const DISCOUNT_REASON = 'Discount'
/** UNTDID 5189 "Discount". */
const DISCOUNT_REASON_CODE = '95'

/**
 * The complete model from the product's figures.
 *
 * The product applies one `discountPercent` to every line. EN 16931 has no line discount that leaves the
 * line net amount intact, so the discounts become document-level allowances, one per VAT category and rate
 * (the sum of that group's line discounts): BT-116 = Σ BT-131 − Σ BT-92 per group, and BR-CO-13..16 hold
 * with exactly the product's subtotal, discount, tax and total.
 *
 * The tax of a group is the sum of its lines' taxes when the lines carry them, so the e-invoice states the
 * same total as the PDF; `taxDrift` tells whether that sum is still within BR-CO-17. Without line taxes the
 * group is taxed once, as the norm does.
 */
export function buildEInvoiceDocument(input: EInvoiceInput): EInvoiceDocument {
  const { lines: lineInputs, exemptionReasons = {}, prepaid = 0, ...header } = input
  const lines = lineInputs.map(({ discount: _discount, tax: _tax, ...line }) => line)
  const allowances = documentAllowances(lineInputs)
  const bases = [
    ...lines.map((line) => ({
      vatCategory: line.vatCategory,
      vatRate: line.vatRate,
      amount: line.netAmount,
    })),
    ...allowances.map((a) => ({ vatCategory: a.vatCategory, vatRate: a.vatRate, amount: -a.amount })),
  ]
  const lineTaxes = lineTaxesByGroup(lineInputs)
  const vatBreakdown: EInvoiceVatBreakdown[] = computeVatBreakdown(bases).map((group) => {
    const entry: EInvoiceVatBreakdown = { ...group }
    const ownTax = lineTaxes?.get(vatGroupKey(group.vatCategory, group.vatRate))
    if (ownTax !== undefined) entry.taxAmount = ownTax
    const reason = exemptionReasons[group.vatCategory]
    if (EXEMPT_CATEGORIES.has(group.vatCategory) && reason) entry.exemptionReason = reason
    return entry
  })
  return {
    ...header,
    lines,
    allowances,
    vatBreakdown,
    totals: documentTotals(lines, allowances, vatBreakdown, prepaid),
  }
}

function documentAllowances(lines: readonly EInvoiceLineInput[]): EInvoiceAllowance[] {
  const groups = new Map<string, EInvoiceAllowance>()
  for (const line of lines) {
    if (!line.discount) continue
    const key = vatGroupKey(line.vatCategory, line.vatRate)
    const group = groups.get(key)
    if (group) group.amount += line.discount
    else
      groups.set(key, {
        vatCategory: line.vatCategory,
        vatRate: line.vatRate,
        amount: line.discount,
        reason: DISCOUNT_REASON,
        reasonCode: DISCOUNT_REASON_CODE,
      })
  }
  return [...groups.values()].filter((allowance) => allowance.amount !== 0)
}

function lineTaxesByGroup(lines: readonly EInvoiceLineInput[]): Map<string, number> | undefined {
  if (lines.length === 0 || lines.some((line) => line.tax === undefined)) return undefined
  const taxes = new Map<string, number>()
  for (const line of lines) {
    const key = vatGroupKey(line.vatCategory, line.vatRate)
    taxes.set(key, (taxes.get(key) ?? 0) + line.tax!)
  }
  return taxes
}

/** BG-22 from its parts, by the calculation rules BR-CO-10, -11, -13, -14, -15 and -16. */
export function documentTotals(
  lines: readonly Pick<EInvoiceLine, 'netAmount'>[],
  allowances: readonly Pick<EInvoiceAllowance, 'amount'>[],
  vatBreakdown: readonly Pick<EInvoiceVatBreakdown, 'taxAmount'>[],
  prepaid = 0,
): EInvoiceTotals {
  const lineNetTotal = sum(lines.map((line) => line.netAmount))
  const allowanceTotal = sum(allowances.map((allowance) => allowance.amount))
  const taxExclusive = lineNetTotal - allowanceTotal
  const taxTotal = sum(vatBreakdown.map((group) => group.taxAmount))
  const taxInclusive = taxExclusive + taxTotal
  return {
    lineNetTotal,
    allowanceTotal,
    taxExclusive,
    taxTotal,
    taxInclusive,
    prepaid,
    amountDue: taxInclusive - prepaid,
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0)
}
