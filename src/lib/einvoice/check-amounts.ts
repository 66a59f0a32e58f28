import { API_FIELD } from './api-fields.ts'
import { documentTotals } from './build.ts'
import { type EInvoiceDocument, type VatCategory, ZERO_RATE_CATEGORIES } from './document.ts'
import { type EInvoiceProblem, problem } from './problem.ts'
import { taxDrift, vatGroupKey } from './vat.ts'

/**
 * The calculation rules: sums of lines, allowances and breakdown (BR-CO-10..16), each group's taxable
 * amount (BR-x-08), no tax on zero-rated groups (BR-x-09), and the group tax within BR-CO-17's tolerance.
 */
export function checkAmounts(doc: EInvoiceDocument): EInvoiceProblem[] {
  const problems: EInvoiceProblem[] = []
  const expected = documentTotals(doc.lines, doc.allowances, doc.vatBreakdown, doc.totals.prepaid)
  const totals: [keyof typeof expected, string][] = [
    ['lineNetTotal', 'BR-CO-10'],
    ['allowanceTotal', 'BR-CO-11'],
    ['taxExclusive', 'BR-CO-13'],
    ['taxTotal', 'BR-CO-14'],
    ['taxInclusive', 'BR-CO-15'],
    ['amountDue', 'BR-CO-16'],
  ]
  for (const [total, rule] of totals) {
    if (doc.totals[total] !== expected[total]) {
      problems.push(
        problem(
          API_FIELD.items,
          rule,
          `${total} is ${doc.totals[total]}, its parts add up to ${expected[total]}`,
        ),
      )
    }
  }
  if (doc.vatBreakdown.length === 0) {
    problems.push(problem(API_FIELD.items, 'BR-CO-18', 'the document needs at least one VAT breakdown'))
  }
  problems.push(...checkGroupBases(doc))
  for (const group of doc.vatBreakdown) {
    if (ZERO_RATE_CATEGORIES.has(group.vatCategory) && group.taxAmount !== 0) {
      problems.push(
        problem(
          API_FIELD.items,
          `BR-${group.vatCategory}-09`,
          `category ${group.vatCategory} carries no tax`,
        ),
      )
    }
  }
  for (const group of taxDrift(doc.vatBreakdown, doc.currency.minorDigits)) {
    if (!group.exceedsTolerance) continue
    const message =
      `the ${group.vatCategory} ${group.vatRate} % tax is ${group.taxAmount}, ${group.drift} minor units from ` +
      `${group.expectedTax} computed once on the category, beyond the norm's tolerance: use "per_category"`
    problems.push(problem(API_FIELD.taxCalculation, 'BR-CO-17', message))
    // Standard-rated groups are held to the same tolerance a second time, by their category's own rule.
    if (group.vatCategory === 'S') problems.push(problem(API_FIELD.taxCalculation, 'BR-S-09', message))
  }
  return problems
}

/** BT-116 of each group must be its lines' net amounts less its allowances, and every group must be listed. */
function checkGroupBases(doc: EInvoiceDocument): EInvoiceProblem[] {
  const bases = new Map<string, { category: VatCategory; amount: number }>()
  const add = (category: VatCategory, rate: string, amount: number) => {
    const key = vatGroupKey(category, rate)
    const entry = bases.get(key) ?? { category, amount: 0 }
    entry.amount += amount
    bases.set(key, entry)
  }
  try {
    for (const line of doc.lines) add(line.vatCategory, line.vatRate, line.netAmount)
    for (const allowance of doc.allowances) add(allowance.vatCategory, allowance.vatRate, -allowance.amount)
  } catch {
    return [] // an unreadable rate is already reported with its line
  }
  const problems: EInvoiceProblem[] = []
  const listed = new Set<string>()
  for (const group of doc.vatBreakdown) {
    const key = vatGroupKey(group.vatCategory, group.vatRate)
    listed.add(key)
    const base = bases.get(key)
    if (base === undefined || base.amount !== group.taxableAmount) {
      problems.push(
        problem(
          API_FIELD.items,
          `BR-${group.vatCategory}-08`,
          `the taxable amount of ${key} % must be its lines less its allowances (${base?.amount ?? 0})`,
        ),
      )
    }
  }
  for (const [key, base] of bases) {
    if (!listed.has(key)) {
      problems.push(problem(API_FIELD.items, `BR-${base.category}-01`, `the VAT breakdown lacks ${key} %`))
    }
  }
  return problems
}
