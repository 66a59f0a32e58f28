import type {
  CiiProfile,
  EInvoiceAddress,
  EInvoiceAllowance,
  EInvoiceBuyer,
  EInvoiceDocument,
  EInvoiceLine,
  EInvoiceSeller,
  EInvoiceVatBreakdown,
  VatCategory,
} from './document.ts'
import {
  amountText,
  assertWritable,
  date102,
  filled,
  optional,
  quantityAndPrice,
  rateText,
} from './format.ts'
import { BUSINESS_PROCESS_ID, SPECIFICATION_ID } from './profiles.ts'
import { node, serialize, type XmlNode } from './xml.ts'

const NAMESPACES = {
  '@xmlns:rsm': 'urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100',
  '@xmlns:qdt': 'urn:un:unece:uncefact:data:standard:QualifiedDataType:100',
  '@xmlns:ram': 'urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100',
  '@xmlns:udt': 'urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100',
}

/**
 * The document as UN/CEFACT Cross Industry Invoice D16B: the XML of Factur-X / ZUGFeRD (profile EN 16931)
 * and of XRechnung in CII syntax. Element order follows the D16B schema's sequences.
 * Write only documents `checkDocument` finds no problem in; this function does not judge the data.
 */
export function toCii(doc: EInvoiceDocument, profile: CiiProfile): string {
  assertWritable(doc)
  return serialize({
    'rsm:CrossIndustryInvoice': {
      ...NAMESPACES,
      'rsm:ExchangedDocumentContext': node({
        'ram:BusinessProcessSpecifiedDocumentContextParameter': idNode(BUSINESS_PROCESS_ID[profile]),
        'ram:GuidelineSpecifiedDocumentContextParameter': { 'ram:ID': SPECIFICATION_ID[profile] },
      }),
      'rsm:ExchangedDocument': node({
        'ram:ID': doc.number,
        'ram:TypeCode': doc.typeCode,
        'ram:IssueDateTime': dateTimeString(doc.issueDate),
        'ram:IncludedNote': filled(doc.note) ? { 'ram:Content': doc.note } : undefined,
      }),
      'rsm:SupplyChainTradeTransaction': {
        'ram:IncludedSupplyChainTradeLineItem': doc.lines.map((line) => lineItem(doc, line)),
        'ram:ApplicableHeaderTradeAgreement': node({
          'ram:BuyerReference': optional(doc.buyerReference),
          'ram:SellerTradeParty': seller(doc.seller),
          'ram:BuyerTradeParty': buyer(doc.buyer),
          'ram:BuyerOrderReferencedDocument': filled(doc.purchaseOrderReference)
            ? { 'ram:IssuerAssignedID': doc.purchaseOrderReference }
            : undefined,
        }),
        'ram:ApplicableHeaderTradeDelivery': delivery(doc),
        'ram:ApplicableHeaderTradeSettlement': settlement(doc),
      },
    },
  })
}

function lineItem(doc: EInvoiceDocument, line: EInvoiceLine): XmlNode {
  const { quantity, price } = quantityAndPrice(doc, line)
  return {
    'ram:AssociatedDocumentLineDocument': { 'ram:LineID': line.id },
    'ram:SpecifiedTradeProduct': node({
      'ram:Name': line.name,
      'ram:Description': optional(line.description),
    }),
    'ram:SpecifiedLineTradeAgreement': { 'ram:NetPriceProductTradePrice': { 'ram:ChargeAmount': price } },
    'ram:SpecifiedLineTradeDelivery': { 'ram:BilledQuantity': { '@unitCode': line.unitCode, '#': quantity } },
    'ram:SpecifiedLineTradeSettlement': {
      'ram:ApplicableTradeTax': tradeTax(line.vatCategory, line.vatRate),
      'ram:SpecifiedTradeSettlementLineMonetarySummation': {
        'ram:LineTotalAmount': amountText(doc, line.netAmount),
      },
    },
  }
}

/** BT-151/152 and BT-95/96: category O ("not subject to VAT") carries no rate at all. */
function tradeTax(category: VatCategory, rate: string): XmlNode {
  return node({
    'ram:TypeCode': 'VAT',
    'ram:CategoryCode': category,
    'ram:RateApplicablePercent': category === 'O' ? undefined : rateText(rate),
  })
}

function seller(party: EInvoiceSeller): XmlNode {
  const contact = party.contact
  return node({
    'ram:Name': party.name,
    'ram:DefinedTradeContact':
      contact && (filled(contact.name) || filled(contact.phone) || filled(contact.email))
        ? node({
            'ram:PersonName': optional(contact.name),
            'ram:TelephoneUniversalCommunication': filled(contact.phone)
              ? { 'ram:CompleteNumber': contact.phone }
              : undefined,
            'ram:EmailURIUniversalCommunication': filled(contact.email)
              ? { 'ram:URIID': contact.email }
              : undefined,
          })
        : undefined,
    'ram:PostalTradeAddress': address(party.address),
    'ram:URIUniversalCommunication': electronicAddress(party.electronicAddress),
    'ram:SpecifiedTaxRegistration': [
      ...(filled(party.vatId) ? [{ 'ram:ID': { '@schemeID': 'VA', '#': party.vatId } }] : []),
      ...(filled(party.taxRegistrationId)
        ? [{ 'ram:ID': { '@schemeID': 'FC', '#': party.taxRegistrationId } }]
        : []),
    ],
  })
}

function buyer(party: EInvoiceBuyer): XmlNode {
  return node({
    'ram:Name': party.name,
    'ram:DefinedTradeContact': filled(party.email)
      ? { 'ram:EmailURIUniversalCommunication': { 'ram:URIID': party.email } }
      : undefined,
    'ram:PostalTradeAddress': address(party.address),
    'ram:URIUniversalCommunication': electronicAddress(party.electronicAddress),
    'ram:SpecifiedTaxRegistration': filled(party.vatId)
      ? { 'ram:ID': { '@schemeID': 'VA', '#': party.vatId } }
      : undefined,
  })
}

function address(value: EInvoiceAddress): XmlNode {
  return node({
    'ram:PostcodeCode': optional(value.postalCode),
    'ram:LineOne': optional(value.line1),
    'ram:LineTwo': optional(value.line2),
    'ram:CityName': optional(value.city),
    'ram:CountryID': optional(value.country),
    'ram:CountrySubDivisionName': optional(value.region),
  })
}

function electronicAddress(value: EInvoiceSeller['electronicAddress']): XmlNode | undefined {
  return value && filled(value.value)
    ? { 'ram:URIID': { '@schemeID': value.scheme, '#': value.value } }
    : undefined
}

function delivery(doc: EInvoiceDocument): XmlNode {
  const deliverTo = doc.delivery?.deliverTo
  return node({
    'ram:ShipToTradeParty': deliverTo ? { 'ram:PostalTradeAddress': address(deliverTo) } : undefined,
    'ram:ActualDeliverySupplyChainEvent': filled(doc.delivery?.date)
      ? { 'ram:OccurrenceDateTime': dateTimeString(doc.delivery.date) }
      : undefined,
  })
}

function settlement(doc: EInvoiceDocument): XmlNode {
  const means = doc.paymentMeans
  const totals = doc.totals
  return node({
    'ram:InvoiceCurrencyCode': doc.currency.code,
    'ram:SpecifiedTradeSettlementPaymentMeans': means
      ? node({
          'ram:TypeCode': means.code,
          'ram:PayeePartyCreditorFinancialAccount': node({
            'ram:IBANID': optional(means.iban),
            'ram:AccountName': optional(means.accountName),
          }),
          'ram:PayeeSpecifiedCreditorFinancialInstitution': filled(means.bic)
            ? { 'ram:BICID': means.bic }
            : undefined,
        })
      : undefined,
    'ram:ApplicableTradeTax': doc.vatBreakdown.map((group) => breakdown(doc, group)),
    'ram:SpecifiedTradeAllowanceCharge': doc.allowances.map((allowance) => documentAllowance(doc, allowance)),
    'ram:SpecifiedTradePaymentTerms':
      filled(doc.paymentTerms) || filled(doc.dueDate)
        ? node({
            'ram:Description': optional(doc.paymentTerms),
            'ram:DueDateDateTime': filled(doc.dueDate) ? dateTimeString(doc.dueDate) : undefined,
          })
        : undefined,
    'ram:SpecifiedTradeSettlementHeaderMonetarySummation': node({
      'ram:LineTotalAmount': amountText(doc, totals.lineNetTotal),
      'ram:AllowanceTotalAmount':
        doc.allowances.length > 0 ? amountText(doc, totals.allowanceTotal) : undefined,
      'ram:TaxBasisTotalAmount': amountText(doc, totals.taxExclusive),
      'ram:TaxTotalAmount': { '@currencyID': doc.currency.code, '#': amountText(doc, totals.taxTotal) },
      'ram:GrandTotalAmount': amountText(doc, totals.taxInclusive),
      'ram:TotalPrepaidAmount': totals.prepaid !== 0 ? amountText(doc, totals.prepaid) : undefined,
      'ram:DuePayableAmount': amountText(doc, totals.amountDue),
    }),
    'ram:InvoiceReferencedDocument': doc.precedingInvoice
      ? node({
          'ram:IssuerAssignedID': doc.precedingInvoice.number,
          'ram:FormattedIssueDateTime': filled(doc.precedingInvoice.issueDate)
            ? { 'qdt:DateTimeString': { '@format': '102', '#': date102(doc.precedingInvoice.issueDate) } }
            : undefined,
        })
      : undefined,
  })
}

function breakdown(doc: EInvoiceDocument, group: EInvoiceVatBreakdown): XmlNode {
  return node({
    'ram:CalculatedAmount': amountText(doc, group.taxAmount),
    'ram:TypeCode': 'VAT',
    'ram:ExemptionReason': optional(group.exemptionReason),
    'ram:BasisAmount': amountText(doc, group.taxableAmount),
    'ram:CategoryCode': group.vatCategory,
    'ram:RateApplicablePercent': group.vatCategory === 'O' ? undefined : rateText(group.vatRate),
  })
}

function documentAllowance(doc: EInvoiceDocument, allowance: EInvoiceAllowance): XmlNode {
  return node({
    'ram:ChargeIndicator': { 'udt:Indicator': 'false' },
    'ram:ActualAmount': amountText(doc, allowance.amount),
    'ram:ReasonCode': optional(allowance.reasonCode),
    'ram:Reason': allowance.reason,
    'ram:CategoryTradeTax': tradeTax(allowance.vatCategory, allowance.vatRate),
  })
}

function dateTimeString(isoDate: string): XmlNode {
  return { 'udt:DateTimeString': { '@format': '102', '#': date102(isoDate) } }
}

function idNode(id: string | undefined): XmlNode | undefined {
  return id === undefined ? undefined : { 'ram:ID': id }
}
