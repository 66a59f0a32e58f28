import { API_FIELD } from './api-fields.ts'
import { checkAmounts } from './check-amounts.ts'
import { checkCategories } from './check-categories.ts'
import type { EInvoiceDocument, EInvoiceFormat } from './document.ts'
import { filled, MAX_MINOR_DIGITS } from './format.ts'
import { type EInvoiceProblem, problem } from './problem.ts'

export type { EInvoiceProblem } from './problem.ts'

/** A VAT identifier starts with the issuing country's code (ISO 3166-1 alpha-2, or EL for Greece). */
const VAT_ID_PREFIX = /^[A-Z]{2}/

/**
 * Everything the official rules would refuse in the document, found before anything is generated, so an
 * invalid e-invoice is never emitted: missing parties' data, categories without their rates or reasons,
 * totals that do not add up, tax that drifts beyond BR-CO-17, and what the norm cannot carry at all
 * (three-decimal currencies). XRechnung adds the German rules (BR-DE-…) on top of EN 16931.
 */
export function checkDocument(doc: EInvoiceDocument, format: EInvoiceFormat): EInvoiceProblem[] {
  if (doc.currency.minorDigits > MAX_MINOR_DIGITS) {
    return [
      problem(
        API_FIELD.currency,
        'BR-DEC',
        `${doc.currency.code} has ${doc.currency.minorDigits} minor digits; EN 16931 amounts carry at most 2 decimals`,
      ),
    ]
  }
  return [
    ...checkHeader(doc, format),
    ...checkSeller(doc),
    ...checkBuyer(doc),
    ...checkCategories(doc),
    ...checkAmounts(doc),
    ...(format === 'xrechnung-cii' ? checkXRechnung(doc) : []),
  ]
}

function checkHeader(doc: EInvoiceDocument, format: EInvoiceFormat): EInvoiceProblem[] {
  const problems: EInvoiceProblem[] = []
  if (!filled(doc.number)) problems.push(problem(API_FIELD.number, 'BR-02', 'the document has no number'))
  // A UBL credit note carries its due date with the payment means, so without them it has none.
  const dueDateWritten =
    filled(doc.dueDate) && (format !== 'ubl' || doc.typeCode === '380' || doc.paymentMeans !== null)
  if (doc.totals.amountDue > 0 && !dueDateWritten && !filled(doc.paymentTerms)) {
    problems.push(
      problem(API_FIELD.dueDate, 'BR-CO-25', 'an amount is due, so a due date or payment terms are required'),
    )
  }
  if (doc.paymentMeans && !filled(doc.paymentMeans.iban)) {
    problems.push(problem(API_FIELD.iban, 'BR-61', 'payment by credit transfer needs the IBAN'))
    problems.push(problem(API_FIELD.iban, 'BR-50', 'a credit transfer needs the account identifier (IBAN)'))
  }
  return problems
}

function checkSeller(doc: EInvoiceDocument): EInvoiceProblem[] {
  const { seller } = doc
  const problems: EInvoiceProblem[] = []
  if (!filled(seller.name)) problems.push(problem(API_FIELD.sellerName, 'BR-06', 'the seller has no name'))
  if (!filled(seller.address.country)) {
    problems.push(problem(API_FIELD.sellerCountry, 'BR-09', "the seller's address has no country"))
  }
  // No seller identifier or legal registration (BT-29, BT-30) is written, so only the VAT id satisfies
  // BR-CO-26; a local tax number (BT-32) does not, in either syntax.
  if (!filled(seller.vatId)) {
    problems.push(
      problem(
        API_FIELD.sellerTaxId,
        'BR-CO-26',
        'the seller needs a VAT identifier; a tax number alone does not identify it',
      ),
    )
  }
  if (filled(seller.vatId) && !VAT_ID_PREFIX.test(seller.vatId)) {
    problems.push(
      problem(
        API_FIELD.sellerTaxId,
        'BR-CO-09',
        "a VAT identifier starts with its country's two-letter code",
      ),
    )
  }
  return problems
}

function checkBuyer(doc: EInvoiceDocument): EInvoiceProblem[] {
  const { buyer } = doc
  const problems: EInvoiceProblem[] = []
  if (!filled(buyer.name)) problems.push(problem(API_FIELD.buyerName, 'BR-07', 'the buyer has no name'))
  if (!filled(buyer.address.country)) {
    problems.push(problem(API_FIELD.buyerCountry, 'BR-11', "the buyer's address has no country"))
  }
  if (filled(buyer.vatId) && !VAT_ID_PREFIX.test(buyer.vatId)) {
    problems.push(
      problem(API_FIELD.buyerTaxId, 'BR-CO-09', "a VAT identifier starts with its country's two-letter code"),
    )
  }
  return problems
}

/** The German CIUS: Leitweg-ID, a reachable seller contact, full addresses and payment instructions. */
function checkXRechnung(doc: EInvoiceDocument): EInvoiceProblem[] {
  const problems: EInvoiceProblem[] = []
  const need = (value: string | undefined, path: string, rule: string, message: string) => {
    if (!filled(value)) problems.push(problem(path, rule, message))
  }
  need(
    doc.buyerReference,
    API_FIELD.buyerReference,
    'BR-DE-15',
    'XRechnung needs the buyer reference (Leitweg-ID)',
  )
  const contact = doc.seller.contact ?? {}
  if (!filled(contact.name) && !filled(contact.phone) && !filled(contact.email)) {
    problems.push(problem(API_FIELD.sellerContactName, 'BR-DE-2', 'XRechnung needs a seller contact'))
  }
  need(contact.name, API_FIELD.sellerContactName, 'BR-DE-5', "XRechnung needs the seller contact's name")
  need(contact.phone, API_FIELD.sellerPhone, 'BR-DE-6', "XRechnung needs the seller contact's phone")
  need(contact.email, API_FIELD.sellerEmail, 'BR-DE-7', "XRechnung needs the seller contact's email")
  need(doc.seller.address.city, API_FIELD.sellerCity, 'BR-DE-3', "XRechnung needs the seller's city")
  need(
    doc.seller.address.postalCode,
    API_FIELD.sellerPostalCode,
    'BR-DE-4',
    "XRechnung needs the seller's postal code",
  )
  need(doc.buyer.address.city, API_FIELD.buyerCity, 'BR-DE-8', "XRechnung needs the buyer's city")
  need(
    doc.buyer.address.postalCode,
    API_FIELD.buyerPostalCode,
    'BR-DE-9',
    "XRechnung needs the buyer's postal code",
  )
  const deliverTo = doc.delivery?.deliverTo
  if (deliverTo) {
    need(
      deliverTo.city,
      API_FIELD.deliverToCity,
      'BR-DE-10',
      'XRechnung needs the city of the delivery address',
    )
    need(
      deliverTo.postalCode,
      API_FIELD.deliverToPostalCode,
      'BR-DE-11',
      'XRechnung needs the postal code of the delivery address',
    )
  }
  if (doc.paymentMeans === null) {
    problems.push(
      problem(API_FIELD.bankAccount, 'BR-DE-1', 'XRechnung needs payment instructions (a bank account)'),
    )
  }
  if (doc.vatBreakdown.some((group) => group.vatCategory === 'O')) {
    problems.push(
      problem(
        API_FIELD.items,
        'BR-DE-14',
        'XRechnung needs a VAT rate in every breakdown, which category O has not',
      ),
    )
  }
  return problems
}
