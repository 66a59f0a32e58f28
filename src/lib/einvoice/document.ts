/**
 * The EN 16931 semantic model, as far as this product fills it. Business terms are named in the comments
 * (BT-…, BG-…) so a field can be traced to the norm and to both syntaxes (CII and UBL).
 * Amounts are integer minor units of `currency`; rates and quantities are exact decimal strings.
 */

/** VAT category codes (UNTDID 5305) the product offers. */
export const VAT_CATEGORIES = ['S', 'Z', 'E', 'AE', 'K', 'G', 'O'] as const
export type VatCategory = (typeof VAT_CATEGORIES)[number]

/** Categories that carry no VAT and need an exemption reason (BR-E-10, BR-AE-10, BR-K-10, BR-G-10, BR-O-10). */
export const EXEMPT_CATEGORIES: ReadonlySet<VatCategory> = new Set(['E', 'AE', 'K', 'G', 'O'])

/** Categories whose rate must be 0 (BR-Z-05, BR-E-05, BR-AE-05, BR-K-05, BR-G-05); O has no rate at all. */
export const ZERO_RATE_CATEGORIES: ReadonlySet<VatCategory> = new Set(['Z', 'E', 'AE', 'K', 'G', 'O'])

/** BT-3: 380 commercial invoice, 381 credit note. */
export type DocumentTypeCode = '380' | '381'

export interface EInvoiceCurrency {
  /** BT-5, ISO 4217. */
  code: string
  /** The currency's minor digits; the norm allows at most 2 decimals on amounts (BR-DEC-…). */
  minorDigits: number
}

export interface EInvoiceAddress {
  line1?: string
  line2?: string
  city?: string
  region?: string
  postalCode?: string
  /** ISO 3166-1 alpha-2. */
  country?: string
}

/** BT-34 / BT-49 with its scheme (EAS code list, e.g. `EM` for an email address, `0204` for a Leitweg-ID). */
export interface ElectronicAddress {
  scheme: string
  value: string
}

/** BG-6, required by XRechnung (BR-DE-2, BR-DE-5..7). */
export interface SellerContact {
  name?: string
  phone?: string
  email?: string
}

/** BG-4. */
export interface EInvoiceSeller {
  /** BT-27. */
  name: string
  /** BT-31, with its country prefix (BR-CO-09). */
  vatId?: string
  /** BT-32, a local tax number when there is no VAT id. */
  taxRegistrationId?: string
  /** BG-5. */
  address: EInvoiceAddress
  contact?: SellerContact
  electronicAddress?: ElectronicAddress
}

/** BG-7. */
export interface EInvoiceBuyer {
  /** BT-44. */
  name: string
  /** BT-48. */
  vatId?: string
  /** BG-8. */
  address: EInvoiceAddress
  email?: string
  electronicAddress?: ElectronicAddress
}

/** BG-13. */
export interface EInvoiceDelivery {
  /** BT-72. */
  date?: string
  /** BG-15; BT-80 (its country) is required for intra-community supply (BR-IC-12). */
  deliverTo?: EInvoiceAddress
}

/** BG-16 with BG-17: credit transfer, code 58 (SEPA). */
export interface CreditTransfer {
  code: '58'
  /** BT-84. */
  iban: string
  /** BT-86. */
  bic?: string
  /** BT-85. */
  accountName?: string
}

/** BG-25. */
export interface EInvoiceLine {
  /** BT-126. */
  id: string
  /** BT-153. */
  name: string
  /** BT-154. */
  description?: string
  /** BT-129, an exact decimal > 0 (the writer turns it negative when the price is negative). */
  quantity: string
  /** BT-130, UN/ECE Recommendation 20 (default `C62`, "one"). */
  unitCode: string
  /** BT-146 in minor units; negative for a credit line in the product, written as a positive price (BR-27). */
  unitPrice: number
  /** BT-131 = round(quantity × unitPrice), before the document discount. */
  netAmount: number
  /** BT-151. */
  vatCategory: VatCategory
  /** BT-152, an exact decimal percent ("19", "7.25"); "0" for Z, E, AE, K, G, O. */
  vatRate: string
}

/** BG-20: a document-level allowance, bound to one VAT category and rate (BT-95, BT-96). */
export interface EInvoiceAllowance {
  vatCategory: VatCategory
  vatRate: string
  /** BT-92. */
  amount: number
  /** BT-97. */
  reason: string
  /** BT-98, UNTDID 5189 (`95` discount). */
  reasonCode?: string
}

/** BG-23: one entry per VAT category and rate. */
export interface EInvoiceVatBreakdown {
  vatCategory: VatCategory
  vatRate: string
  /** BT-116 = Σ line net − Σ allowances of the group. */
  taxableAmount: number
  /** BT-117. */
  taxAmount: number
  /** BT-120, required for E, AE, K, G, O. */
  exemptionReason?: string
}

/** BG-22. */
export interface EInvoiceTotals {
  /** BT-106 = Σ BT-131. */
  lineNetTotal: number
  /** BT-107 = Σ BT-92. */
  allowanceTotal: number
  /** BT-109 = BT-106 − BT-107. */
  taxExclusive: number
  /** BT-110 = Σ BT-117. */
  taxTotal: number
  /** BT-112 = BT-109 + BT-110. */
  taxInclusive: number
  /** BT-113. */
  prepaid: number
  /** BT-115 = BT-112 − BT-113. */
  amountDue: number
}

/** BG-3: the invoice a credit note corrects. */
export interface PrecedingInvoice {
  /** BT-25. */
  number: string
  /** BT-26. */
  issueDate?: string
}

export interface EInvoiceDocument {
  typeCode: DocumentTypeCode
  /** BT-1. */
  number: string
  /** BT-2, `YYYY-MM-DD`. */
  issueDate: string
  /** BT-9. */
  dueDate?: string
  currency: EInvoiceCurrency
  /** BT-10, the Leitweg-ID for German public buyers. */
  buyerReference?: string
  /** BT-13. */
  purchaseOrderReference?: string
  /** Required for a credit note. */
  precedingInvoice?: PrecedingInvoice
  /** BT-22. */
  note?: string
  seller: EInvoiceSeller
  buyer: EInvoiceBuyer
  delivery?: EInvoiceDelivery
  /** BT-20. */
  paymentTerms?: string
  paymentMeans: CreditTransfer | null
  lines: EInvoiceLine[]
  allowances: EInvoiceAllowance[]
  vatBreakdown: EInvoiceVatBreakdown[]
  totals: EInvoiceTotals
}

/** The outputs: Factur-X / ZUGFeRD (EN 16931 profile) and XRechnung share the CII syntax. */
export type CiiProfile = 'facturx' | 'xrechnung-cii'
export type EInvoiceFormat = CiiProfile | 'ubl'
