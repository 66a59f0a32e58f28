import type { AddressJson, BillToJson, SellerJson, TaxCategory } from '../../../db/schema'
import {
  buildEInvoiceDocument,
  type EInvoiceAddress,
  type EInvoiceDocument,
  type EInvoiceLineInput,
} from '../../lib/einvoice'
import { currencyMinorDigits, decimal3ToString, parseDecimal3, parsePercent } from '../../shared/money'

/** One line of an invoice or credit note as the product computed it. */
export interface EInvoiceSourceLine {
  description: string
  quantity: number
  unitPrice: number
  taxRate: number
  unitCode: string
  taxCategory: TaxCategory
  subtotal: number
  discount: number
  tax: number
}

/**
 * What an e-invoice is made from: the frozen document (or, for the check of a draft, the live profile and
 * customer) and its lines. Nothing here is looked up: the same source gives the same XML.
 */
export interface EInvoiceSource {
  kind: 'invoice' | 'credit_note'
  number: string
  issueDate: string
  dueDate: string | null
  currency: string
  note: string | null
  seller: SellerJson
  billTo: BillToJson
  purchaseOrderReference: string | null
  deliveryDate: string | null
  deliverTo: AddressJson | null
  taxExemptionReasons: Partial<Record<TaxCategory, string>> | null
  /** The invoice a credit note corrects (BG-3). */
  precedingInvoice?: { number: string; issueDate: string }
  lines: readonly EInvoiceSourceLine[]
}

const present = (value: string | null | undefined) => (value == null || value === '' ? undefined : value)

function address(value: AddressJson | null | undefined): EInvoiceAddress {
  if (!value) return {}
  const result: EInvoiceAddress = {}
  for (const key of ['line1', 'line2', 'city', 'region', 'postalCode', 'country'] as const) {
    const field = present(value[key])
    if (field !== undefined) result[key] = field
  }
  return result
}

/** `{ a: undefined }` → `{}`: the model leaves absent terms out rather than carrying undefined. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}

/**
 * The EN 16931 model of a document. The profile's `taxId` is the seller's VAT identifier (BT-31) and the
 * customer's the buyer's (BT-48); the profile's email is the seller's electronic address (BT-34) and contact
 * email, the customer's email the buyer's (BT-49); the bank account is a SEPA credit transfer (code 58). Each
 * line brings its own tax, so the document states exactly the totals of the PDF, whatever `taxCalculation`.
 */
export function toEInvoiceDocument(source: EInvoiceSource): EInvoiceDocument {
  const { seller, billTo } = source
  const sellerEmail = present(seller.electronicAddress) ?? present(seller.email)
  const contact = compact({
    name: present(seller.contactName),
    phone: present(seller.phone),
    email: present(seller.email),
  })
  const lines: EInvoiceLineInput[] = source.lines.map((line, index) => ({
    id: String(index + 1),
    name: line.description,
    quantity: decimal3ToString(parseDecimal3(line.quantity)),
    unitCode: line.unitCode,
    unitPrice: line.unitPrice,
    netAmount: line.subtotal,
    vatCategory: line.taxCategory,
    vatRate: decimal3ToString(parsePercent(line.taxRate)),
    discount: line.discount,
    tax: line.tax,
  }))
  const delivery =
    source.deliveryDate || source.deliverTo
      ? compact({
          date: present(source.deliveryDate),
          deliverTo: source.deliverTo ? address(source.deliverTo) : undefined,
        })
      : undefined
  const bank = seller.bankAccount
  return buildEInvoiceDocument(
    compact({
      typeCode: source.kind === 'invoice' ? '380' : '381',
      number: source.number,
      issueDate: source.issueDate,
      dueDate: present(source.dueDate),
      currency: { code: source.currency, minorDigits: currencyMinorDigits(source.currency) },
      buyerReference: present(billTo.buyerReference),
      purchaseOrderReference: present(source.purchaseOrderReference),
      precedingInvoice: source.precedingInvoice,
      note: present(source.note),
      seller: compact({
        name: seller.companyName ?? '',
        vatId: present(seller.taxId),
        address: address(seller.address),
        contact: Object.keys(contact).length > 0 ? contact : undefined,
        electronicAddress: sellerEmail ? { scheme: 'EM', value: sellerEmail } : undefined,
      }),
      buyer: compact({
        name: billTo.name,
        vatId: present(billTo.taxId),
        address: address(billTo.address),
        email: present(billTo.email),
        electronicAddress: present(billTo.email) ? { scheme: 'EM', value: billTo.email! } : undefined,
      }),
      delivery,
      paymentTerms: source.precedingInvoice
        ? `Credit note for invoice ${source.precedingInvoice.number} of ${source.precedingInvoice.issueDate}; any balance is refunded.`
        : undefined,
      paymentMeans: bank
        ? compact({
            code: '58' as const,
            iban: bank.iban,
            bic: present(bank.bic),
            accountName: present(bank.accountName),
          })
        : null,
      lines,
      exemptionReasons: source.taxExemptionReasons ?? {},
    }),
  )
}
