import type { VatCategory } from './document.ts'

/**
 * Where each business term comes from in the API (API.md "Resources" and "E-invoicing"): a problem names
 * the field a user must fill, not the XML element. Seller data lives on the profile, buyer data on the
 * customer, the rest on the invoice (or credit note) and its items.
 */
export const API_FIELD = {
  /** BT-1 */ number: '/number',
  /** BT-9 */ dueDate: '/dueDate',
  /** BT-5 */ currency: '/currency',
  /** BT-27 */ sellerName: '/profile/companyName',
  /** BT-31 (or BT-32 for a local tax number) */ sellerTaxId: '/profile/taxId',
  /** BT-35 */ sellerStreet: '/profile/address/line1',
  /** BT-37 */ sellerCity: '/profile/address/city',
  /** BT-38 */ sellerPostalCode: '/profile/address/postalCode',
  /** BT-40 */ sellerCountry: '/profile/address/country',
  /** BT-41 */ sellerContactName: '/profile/contactName',
  /** BT-42 */ sellerPhone: '/profile/phone',
  /** BT-43 */ sellerEmail: '/profile/email',
  /** BG-16 / BG-17 */ bankAccount: '/profile/bankAccount',
  /** BT-84 */ iban: '/profile/bankAccount/iban',
  /** BT-117 computed per line or per category */ taxCalculation: '/profile/taxCalculation',
  /** BT-44 */ buyerName: '/customer/name',
  /** BT-48 */ buyerTaxId: '/customer/taxId',
  /** BT-52 */ buyerCity: '/customer/address/city',
  /** BT-53 */ buyerPostalCode: '/customer/address/postalCode',
  /** BT-55 */ buyerCountry: '/customer/address/country',
  /** BT-10 */ buyerReference: '/customer/buyerReference',
  /** BT-72 */ deliveryDate: '/deliveryDate',
  /** BT-77 */ deliverToCity: '/deliverTo/city',
  /** BT-78 */ deliverToPostalCode: '/deliverTo/postalCode',
  /** BT-80 */ deliverToCountry: '/deliverTo/country',
  /** BG-25, the lines and their sums */ items: '/items',
} as const

/** BT-120 of a category's VAT breakdown. */
export function exemptionReasonField(category: VatCategory): string {
  return `/taxExemptionReasons/${category}`
}

/** BT-129 quantity, BT-130 unitCode, BT-151 taxCategory, BT-152 taxRate of item `index` (0-based, as in the API). */
export function itemField(index: number, field: 'quantity' | 'unitCode' | 'taxCategory' | 'taxRate'): string {
  return `/items/${index}/${field}`
}
