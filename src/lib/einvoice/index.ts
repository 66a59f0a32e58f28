/**
 * EN 16931 e-invoices as pure functions: a document model, its check against the norm's rules, and the
 * CII (Factur-X / ZUGFeRD, XRechnung) and UBL writers. No database, no HTTP: the invoices module maps its
 * frozen snapshot to `EInvoiceInput`, checks, and writes.
 */
export { API_FIELD, exemptionReasonField, itemField } from './api-fields.ts'
export { buildEInvoiceDocument, documentTotals, type EInvoiceInput, type EInvoiceLineInput } from './build.ts'
export { checkDocument } from './check.ts'
export { toCii } from './cii.ts'
export * from './document.ts'
export type { EInvoiceProblem } from './problem.ts'
export { SPECIFICATION_ID } from './profiles.ts'
export { toUbl } from './ubl.ts'
export {
  computeVatBreakdown,
  groupTax,
  lineTaxDrift,
  type TaxDrift,
  type TaxedLine,
  taxDrift,
  type VatBase,
  type VatGroup,
  vatGroupKey,
} from './vat.ts'
