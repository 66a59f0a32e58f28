import { parsePercent, parseQuantity } from '../../shared/money.ts'
import { API_FIELD, exemptionReasonField, itemField } from './api-fields.ts'
import {
  type EInvoiceDocument,
  EXEMPT_CATEGORIES,
  VAT_CATEGORIES,
  type VatCategory,
  ZERO_RATE_CATEGORIES,
} from './document.ts'
import { filled } from './format.ts'
import { type EInvoiceProblem, problem } from './problem.ts'

/** UN/ECE Recommendation 20 codes are two or three upper-case letters or digits (`C62`, `HUR`, `KGM`). */
const UNIT_CODE = /^[A-Z0-9]{2,3}$/

/** The lines' categories and rates, and what each category used asks of the parties and the delivery. */
export function checkCategories(doc: EInvoiceDocument): EInvoiceProblem[] {
  const problems: EInvoiceProblem[] = []
  doc.lines.forEach((line, index) => {
    problems.push(...checkLine(line, index))
  })
  const used = new Set<VatCategory>([
    ...doc.lines.map((line) => line.vatCategory),
    ...doc.allowances.map((allowance) => allowance.vatCategory),
  ])
  for (const category of used) problems.push(...checkCategoryUse(doc, category, used))
  for (const group of doc.vatBreakdown) {
    if (EXEMPT_CATEGORIES.has(group.vatCategory) && !filled(group.exemptionReason)) {
      problems.push(
        problem(
          exemptionReasonField(group.vatCategory),
          `BR-${group.vatCategory}-10`,
          `category ${group.vatCategory} needs an exemption reason`,
        ),
      )
    }
    if (!EXEMPT_CATEGORIES.has(group.vatCategory) && filled(group.exemptionReason)) {
      problems.push(
        problem(
          exemptionReasonField(group.vatCategory),
          `BR-${group.vatCategory}-10`,
          `category ${group.vatCategory} must not have an exemption reason`,
        ),
      )
    }
  }
  return problems
}

function checkLine(line: EInvoiceDocument['lines'][number], index: number): EInvoiceProblem[] {
  const problems: EInvoiceProblem[] = []
  if (!VAT_CATEGORIES.includes(line.vatCategory)) {
    return [problem(itemField(index, 'taxCategory'), 'BR-CO-4', `${line.vatCategory} is not a VAT category`)]
  }
  if (!UNIT_CODE.test(line.unitCode)) {
    problems.push(
      problem(itemField(index, 'unitCode'), 'BR-CL-23', 'not a UN/ECE Recommendation 20 unit code'),
    )
  }
  if (!decimalIs(line.quantity, parseQuantity)) {
    problems.push(problem(itemField(index, 'quantity'), 'BR-22', 'the quantity must be a decimal above 0'))
  }
  const rate = decimalIs(line.vatRate, parsePercent) ? parsePercent(line.vatRate) : undefined
  if (rate === undefined) {
    problems.push(problem(itemField(index, 'taxRate'), 'BR-CO-4', 'the tax rate must be a percentage'))
  } else if (line.vatCategory === 'S' && rate === 0n) {
    problems.push(problem(itemField(index, 'taxRate'), 'BR-S-05', 'standard rated lines need a rate above 0'))
  } else if (ZERO_RATE_CATEGORIES.has(line.vatCategory) && rate !== 0n) {
    problems.push(
      problem(
        itemField(index, 'taxRate'),
        `BR-${line.vatCategory}-05`,
        `category ${line.vatCategory} requires tax rate 0`,
      ),
    )
  }
  return problems
}

function decimalIs(value: string, parse: (value: string) => bigint): boolean {
  try {
    parse(value)
    return true
  } catch {
    return false
  }
}

/** BR-x-02 (who must be identified), BR-IC-11/12 (intra-community delivery), BR-O-02/11 (outside VAT). */
function checkCategoryUse(
  doc: EInvoiceDocument,
  category: VatCategory,
  used: ReadonlySet<VatCategory>,
): EInvoiceProblem[] {
  const sellerVat = filled(doc.seller.vatId)
  const sellerTaxNumber = sellerVat || filled(doc.seller.taxRegistrationId)
  const buyerVat = filled(doc.buyer.vatId)
  const rule = `BR-${category}-02`
  const problems: EInvoiceProblem[] = []
  switch (category) {
    case 'S':
    case 'Z':
    case 'E':
      if (!sellerTaxNumber) {
        problems.push(
          problem(
            API_FIELD.sellerTaxId,
            rule,
            `category ${category} needs the seller's VAT id or tax number`,
          ),
        )
      }
      break
    case 'AE':
    case 'K':
      if (!sellerVat)
        problems.push(problem(API_FIELD.sellerTaxId, rule, `category ${category} needs the seller's VAT id`))
      if (!buyerVat)
        problems.push(problem(API_FIELD.buyerTaxId, rule, `category ${category} needs the buyer's VAT id`))
      break
    case 'G':
      if (!sellerVat)
        problems.push(problem(API_FIELD.sellerTaxId, rule, "category G needs the seller's VAT id"))
      break
    case 'O':
      if (sellerVat)
        problems.push(problem(API_FIELD.sellerTaxId, rule, 'category O excludes a seller VAT id'))
      if (buyerVat) problems.push(problem(API_FIELD.buyerTaxId, rule, 'category O excludes a buyer VAT id'))
      if (used.size > 1) {
        problems.push(problem(API_FIELD.items, 'BR-O-11', 'category O cannot be mixed with other categories'))
      }
      break
  }
  if (category === 'K') {
    if (!filled(doc.delivery?.date)) {
      problems.push(
        problem(API_FIELD.deliveryDate, 'BR-IC-11', 'intra-community supply needs the delivery date'),
      )
    }
    if (!filled(doc.delivery?.deliverTo?.country)) {
      problems.push(
        problem(
          API_FIELD.deliverToCountry,
          'BR-IC-12',
          'intra-community supply needs the deliver-to country',
        ),
      )
    }
  }
  return problems
}
