import type {
  EInvoiceAddress,
  EInvoiceAllowance,
  EInvoiceBuyer,
  EInvoiceDocument,
  EInvoiceLine,
  EInvoiceSeller,
  EInvoiceVatBreakdown,
  ElectronicAddress,
  VatCategory,
} from './document.ts'
import { amountText, assertWritable, filled, optional, quantityAndPrice, rateText } from './format.ts'
import { SPECIFICATION_ID } from './profiles.ts'
import { node, serialize, type XmlNode } from './xml.ts'

const COMMON = {
  '@xmlns:cac': 'urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2',
  '@xmlns:cbc': 'urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2',
}

/** The two UBL document types differ in their root, type code, line and quantity element names. */
const KIND = {
  '380': {
    root: 'Invoice',
    namespace: 'urn:oasis:names:specification:ubl:schema:xsd:Invoice-2',
    typeCode: 'cbc:InvoiceTypeCode',
    line: 'cac:InvoiceLine',
    quantity: 'cbc:InvoicedQuantity',
  },
  '381': {
    root: 'CreditNote',
    namespace: 'urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2',
    typeCode: 'cbc:CreditNoteTypeCode',
    line: 'cac:CreditNoteLine',
    quantity: 'cbc:CreditedQuantity',
  },
} as const

/**
 * The document as an OASIS UBL 2.1 Invoice (380) or CreditNote (381), claiming the EN 16931 core.
 * Element order follows the UBL schemas' sequences. A credit note has no header due date in UBL 2.1: BT-9
 * goes with the payment means there (`PaymentDueDate`).
 */
export function toUbl(doc: EInvoiceDocument): string {
  assertWritable(doc)
  const kind = KIND[doc.typeCode]
  const isInvoice = doc.typeCode === '380'
  const means = doc.paymentMeans
  return serialize({
    [kind.root]: node({
      '@xmlns': kind.namespace,
      ...COMMON,
      'cbc:CustomizationID': SPECIFICATION_ID.ubl,
      'cbc:ID': doc.number,
      'cbc:IssueDate': doc.issueDate,
      'cbc:DueDate': isInvoice ? optional(doc.dueDate) : undefined,
      [kind.typeCode]: doc.typeCode,
      'cbc:Note': optional(doc.note),
      'cbc:DocumentCurrencyCode': doc.currency.code,
      'cbc:BuyerReference': optional(doc.buyerReference),
      'cac:OrderReference': filled(doc.purchaseOrderReference)
        ? { 'cbc:ID': doc.purchaseOrderReference }
        : undefined,
      'cac:BillingReference': doc.precedingInvoice
        ? {
            'cac:InvoiceDocumentReference': node({
              'cbc:ID': doc.precedingInvoice.number,
              'cbc:IssueDate': optional(doc.precedingInvoice.issueDate),
            }),
          }
        : undefined,
      'cac:AccountingSupplierParty': { 'cac:Party': seller(doc.seller) },
      'cac:AccountingCustomerParty': { 'cac:Party': buyer(doc.buyer) },
      'cac:Delivery': delivery(doc),
      'cac:PaymentMeans': means
        ? node({
            'cbc:PaymentMeansCode': means.code,
            'cbc:PaymentDueDate': isInvoice ? undefined : optional(doc.dueDate),
            'cac:PayeeFinancialAccount': node({
              'cbc:ID': optional(means.iban),
              'cbc:Name': optional(means.accountName),
              'cac:FinancialInstitutionBranch': filled(means.bic) ? { 'cbc:ID': means.bic } : undefined,
            }),
          })
        : undefined,
      'cac:PaymentTerms': filled(doc.paymentTerms) ? { 'cbc:Note': doc.paymentTerms } : undefined,
      'cac:AllowanceCharge': doc.allowances.map((allowance) => documentAllowance(doc, allowance)),
      'cac:TaxTotal': {
        'cbc:TaxAmount': money(doc, doc.totals.taxTotal),
        'cac:TaxSubtotal': doc.vatBreakdown.map((group) => taxSubtotal(doc, group)),
      },
      'cac:LegalMonetaryTotal': legalMonetaryTotal(doc),
      [kind.line]: doc.lines.map((line) => documentLine(doc, line, kind.quantity)),
    }),
  })
}

function money(doc: EInvoiceDocument, minor: number): XmlNode {
  return { '@currencyID': doc.currency.code, '#': amountText(doc, minor) }
}

function seller(party: EInvoiceSeller): XmlNode {
  const contact = party.contact
  return node({
    'cbc:EndpointID': endpoint(party.electronicAddress),
    'cac:PartyName': { 'cbc:Name': party.name },
    'cac:PostalAddress': address(party.address),
    'cac:PartyTaxScheme': [
      ...(filled(party.vatId) ? [taxScheme(party.vatId, 'VAT')] : []),
      ...(filled(party.taxRegistrationId) ? [taxScheme(party.taxRegistrationId, 'FC')] : []),
    ],
    'cac:PartyLegalEntity': { 'cbc:RegistrationName': party.name },
    'cac:Contact':
      contact && (filled(contact.name) || filled(contact.phone) || filled(contact.email))
        ? node({
            'cbc:Name': optional(contact.name),
            'cbc:Telephone': optional(contact.phone),
            'cbc:ElectronicMail': optional(contact.email),
          })
        : undefined,
  })
}

function buyer(party: EInvoiceBuyer): XmlNode {
  return node({
    'cbc:EndpointID': endpoint(party.electronicAddress),
    'cac:PartyName': { 'cbc:Name': party.name },
    'cac:PostalAddress': address(party.address),
    'cac:PartyTaxScheme': filled(party.vatId) ? taxScheme(party.vatId, 'VAT') : undefined,
    'cac:PartyLegalEntity': { 'cbc:RegistrationName': party.name },
    'cac:Contact': filled(party.email) ? { 'cbc:ElectronicMail': party.email } : undefined,
  })
}

/** BT-31 is a tax scheme `VAT` entry; BT-32 (a local tax number) one of any other scheme. */
function taxScheme(companyId: string, scheme: 'VAT' | 'FC'): XmlNode {
  return { 'cbc:CompanyID': companyId, 'cac:TaxScheme': { 'cbc:ID': scheme } }
}

function endpoint(value: ElectronicAddress | undefined): XmlNode | undefined {
  return value && filled(value.value) ? { '@schemeID': value.scheme, '#': value.value } : undefined
}

function address(value: EInvoiceAddress): XmlNode {
  return node({
    'cbc:StreetName': optional(value.line1),
    'cbc:AdditionalStreetName': optional(value.line2),
    'cbc:CityName': optional(value.city),
    'cbc:PostalZone': optional(value.postalCode),
    'cbc:CountrySubentity': optional(value.region),
    'cac:Country': filled(value.country) ? { 'cbc:IdentificationCode': value.country } : undefined,
  })
}

function delivery(doc: EInvoiceDocument): XmlNode | undefined {
  const date = optional(doc.delivery?.date)
  const deliverTo = doc.delivery?.deliverTo
  if (date === undefined && deliverTo === undefined) return undefined
  return node({
    'cbc:ActualDeliveryDate': date,
    'cac:DeliveryLocation': deliverTo ? { 'cac:Address': address(deliverTo) } : undefined,
  })
}

/** BT-95/96 and BT-151/152: category O ("not subject to VAT") carries no rate at all. */
function taxCategory(category: VatCategory, rate: string, extra: XmlNode = {}): XmlNode {
  return node({
    'cbc:ID': category,
    'cbc:Percent': category === 'O' ? undefined : rateText(rate),
    ...extra,
    'cac:TaxScheme': { 'cbc:ID': 'VAT' },
  })
}

function documentAllowance(doc: EInvoiceDocument, allowance: EInvoiceAllowance): XmlNode {
  return node({
    'cbc:ChargeIndicator': 'false',
    'cbc:AllowanceChargeReasonCode': optional(allowance.reasonCode),
    'cbc:AllowanceChargeReason': allowance.reason,
    'cbc:Amount': money(doc, allowance.amount),
    'cac:TaxCategory': taxCategory(allowance.vatCategory, allowance.vatRate),
  })
}

function taxSubtotal(doc: EInvoiceDocument, group: EInvoiceVatBreakdown): XmlNode {
  return {
    'cbc:TaxableAmount': money(doc, group.taxableAmount),
    'cbc:TaxAmount': money(doc, group.taxAmount),
    'cac:TaxCategory': taxCategory(group.vatCategory, group.vatRate, {
      'cbc:TaxExemptionReason': optional(group.exemptionReason),
    }),
  }
}

function legalMonetaryTotal(doc: EInvoiceDocument): XmlNode {
  const totals = doc.totals
  return node({
    'cbc:LineExtensionAmount': money(doc, totals.lineNetTotal),
    'cbc:TaxExclusiveAmount': money(doc, totals.taxExclusive),
    'cbc:TaxInclusiveAmount': money(doc, totals.taxInclusive),
    'cbc:AllowanceTotalAmount': doc.allowances.length > 0 ? money(doc, totals.allowanceTotal) : undefined,
    'cbc:PrepaidAmount': totals.prepaid !== 0 ? money(doc, totals.prepaid) : undefined,
    'cbc:PayableAmount': money(doc, totals.amountDue),
  })
}

function documentLine(doc: EInvoiceDocument, line: EInvoiceLine, quantityElement: string): XmlNode {
  const { quantity, price } = quantityAndPrice(doc, line)
  return {
    'cbc:ID': line.id,
    [quantityElement]: { '@unitCode': line.unitCode, '#': quantity },
    'cbc:LineExtensionAmount': money(doc, line.netAmount),
    'cac:Item': node({
      'cbc:Description': optional(line.description),
      'cbc:Name': line.name,
      'cac:ClassifiedTaxCategory': taxCategory(line.vatCategory, line.vatRate),
    }),
    'cac:Price': { 'cbc:PriceAmount': { '@currencyID': doc.currency.code, '#': price } },
  }
}
