import { type Selectable, sql } from 'kysely'
import { jsonArrayFrom } from 'kysely/helpers/postgres'
import type {
  AddressJson,
  BillToJson,
  InvoiceStatus,
  InvoicesTable,
  PaymentMethod,
  SellerJson,
  TaxCalculation,
  TaxCategory,
} from '../../../db/schema'
import type { Database } from '../../lib/db'
import { parseMinorUnits } from '../../shared/money'

/*
 * The records of the invoice module, and the one query that reads an invoice with everything its answer shows.
 * Rows become records here, at the edge: camelCase, money as integer minor units, decimals as numbers.
 */

export type InvoiceRow = Selectable<InvoicesTable>

/** Where an issued document's PDF is stored, and what was stored. */
export interface StoredPdfRef {
  key: string
  sha256: string
  size: number
  generatedAt: Date
}

/**
 * An invoice as the rest of the module reads it: camelCase, money as integer minor units, decimals as numbers
 * (three fraction digits at most, exact in a double), timestamps as instants.
 */
export interface InvoiceRecord {
  id: string
  userId: string
  customerId: string
  number: string | null
  numberSeq: number | null
  status: InvoiceStatus
  currency: string
  issueDate: string
  dueDate: string
  discountPercent: number
  notes: string | null
  billTo: BillToJson | null
  seller: SellerJson | null
  /** Frozen from the profile when the draft was created. */
  taxCalculation: TaxCalculation
  taxExemptionReasons: Partial<Record<TaxCategory, string>> | null
  purchaseOrderReference: string | null
  deliveryDate: string | null
  deliverTo: AddressJson | null
  /** The stored PDF is a Factur-X with its CII embedded. */
  pdfFacturx: boolean
  subtotal: number
  discountTotal: number
  taxTotal: number
  total: number
  amountPaid: number
  creditedTotal: number
  pdf: StoredPdfRef | null
  /** The hosted page's secret; the page and `hostedUrl` exist once the invoice is issued. */
  hostedToken: string
  sentAt: Date | null
  paidAt: Date | null
  voidedAt: Date | null
  version: number
  createdAt: Date
  updatedAt: Date
}

export interface ItemRecord {
  id: string
  description: string
  quantity: number
  unitPrice: number
  taxRate: number
  subtotal: number
  discount: number
  tax: number
  total: number
  unitCode: string
  /** The line's VAT category, the default ('S' when taxed, else 'Z') resolved. */
  taxCategory: TaxCategory
}

/** A stored category; null (lines written before categories existed) reads as the API's default. */
export const categoryOf = (category: TaxCategory | null | undefined, taxRate: number): TaxCategory =>
  category ?? (taxRate > 0 ? 'S' : 'Z')

export interface PaymentRecord {
  id: string
  invoiceId: string
  amount: number
  paidAt: Date
  method: PaymentMethod
  reference: string | null
  createdAt: Date
}

export interface CreditNoteRef {
  id: string
  number: string
  total: number
  issuedAt: Date
}

/** An invoice with everything its answer shows, read in one round trip. */
export interface InvoiceView extends InvoiceRecord {
  isOverdue: boolean
  items: ItemRecord[]
  payments: PaymentRecord[]
  creditNotes: CreditNoteRef[]
  customer: BillToJson
  profile: SellerJson
}

const money = (value: number | string) => parseMinorUnits(value)
/** `json_agg` gives timestamps as text and numbers as numbers; table columns give instants and decimal text. */
const instant = (value: Date | string) => (value instanceof Date ? value : new Date(value))

export function toRecord(row: InvoiceRow): InvoiceRecord {
  return {
    id: row.id,
    userId: row.user_id,
    customerId: row.customer_id,
    number: row.number,
    numberSeq: row.number_seq === null ? null : money(row.number_seq),
    status: row.status,
    currency: row.currency,
    issueDate: row.issue_date,
    dueDate: row.due_date,
    discountPercent: Number(row.discount_percent),
    notes: row.notes,
    billTo: row.bill_to,
    seller: row.seller,
    taxCalculation: row.tax_calculation,
    taxExemptionReasons: row.tax_exemption_reasons,
    purchaseOrderReference: row.purchase_order_reference,
    deliveryDate: row.delivery_date,
    deliverTo: row.deliver_to,
    pdfFacturx: row.pdf_facturx,
    subtotal: money(row.subtotal),
    discountTotal: money(row.discount_total),
    taxTotal: money(row.tax_total),
    total: money(row.total),
    amountPaid: money(row.amount_paid),
    creditedTotal: money(row.credited_total),
    pdf:
      row.pdf_key && row.pdf_sha256 && row.pdf_size !== null && row.pdf_generated_at
        ? {
            key: row.pdf_key,
            sha256: row.pdf_sha256,
            size: row.pdf_size,
            generatedAt: instant(row.pdf_generated_at),
          }
        : null,
    hostedToken: row.hosted_token,
    sentAt: row.sent_at && instant(row.sent_at),
    paidAt: row.paid_at && instant(row.paid_at),
    voidedAt: row.voided_at && instant(row.voided_at),
    version: row.version,
    createdAt: instant(row.created_at),
    updatedAt: instant(row.updated_at),
  }
}

type Loose<T> = {
  [K in keyof T]: T[K] extends number ? number | string : T[K] extends Date ? Date | string : T[K]
}

export function toItem(
  row: Omit<Loose<ItemRecord>, 'taxCategory'> & { taxCategory: TaxCategory | null },
): ItemRecord {
  return {
    id: row.id,
    description: row.description,
    quantity: Number(row.quantity),
    unitPrice: money(row.unitPrice),
    taxRate: Number(row.taxRate),
    subtotal: money(row.subtotal),
    discount: money(row.discount),
    tax: money(row.tax),
    total: money(row.total),
    unitCode: row.unitCode,
    taxCategory: categoryOf(row.taxCategory, Number(row.taxRate)),
  }
}

export function toPaymentRecord(row: Loose<PaymentRecord>): PaymentRecord {
  return {
    id: row.id,
    invoiceId: row.invoiceId,
    amount: money(row.amount),
    paidAt: instant(row.paidAt),
    method: row.method,
    reference: row.reference,
    createdAt: instant(row.createdAt),
  }
}

/** The raw row of the view query: the invoice's columns and its parts as JSON. */
export interface ViewRow extends InvoiceRow {
  is_overdue: boolean
  items: (Omit<Loose<ItemRecord>, 'taxCategory'> & { taxCategory: TaxCategory | null })[]
  payments: Loose<PaymentRecord>[]
  credit_notes: Loose<CreditNoteRef>[]
  customer_name: string
  customer_email: string | null
  customer_tax_id: string | null
  customer_address: AddressJson | null
  profile_company_name: string | null
  profile_email: string | null
  profile_phone: string | null
  profile_tax_id: string | null
  profile_address: AddressJson | null
}

export function toView(row: ViewRow): InvoiceView {
  return {
    ...toRecord(row),
    isOverdue: row.is_overdue,
    items: row.items.map(toItem),
    payments: row.payments.map(toPaymentRecord),
    creditNotes: row.credit_notes.map((note) => ({
      id: note.id,
      number: note.number,
      total: money(note.total),
      issuedAt: instant(note.issuedAt),
    })),
    customer: {
      name: row.customer_name,
      email: row.customer_email,
      taxId: row.customer_tax_id,
      address: row.customer_address,
    },
    profile: {
      companyName: row.profile_company_name,
      email: row.profile_email,
      phone: row.profile_phone,
      taxId: row.profile_tax_id,
      address: row.profile_address,
    },
  }
}

export function invoiceView(db: Database) {
  return db
    .selectFrom('invoices as i')
    .innerJoin('users as u', 'u.id', 'i.user_id')
    .innerJoin('customers as c', 'c.id', 'i.customer_id')
    .selectAll('i')
    .select((eb) => [
      sql<boolean>`i.status in ('sent', 'partially_paid') and i.due_date < (now() at time zone u.timezone)::date`.as(
        'is_overdue',
      ),
      jsonArrayFrom(
        eb
          .selectFrom('invoice_items as it')
          .select([
            'it.id',
            'it.description',
            'it.quantity',
            'it.unit_price as unitPrice',
            'it.tax_rate as taxRate',
          ])
          .select(['it.subtotal', 'it.discount', 'it.tax', 'it.total'])
          .select(['it.unit_code as unitCode', 'it.tax_category as taxCategory'])
          .whereRef('it.invoice_id', '=', 'i.id')
          .orderBy('it.position'),
      ).as('items'),
      jsonArrayFrom(
        eb
          .selectFrom('payments as p')
          .select(['p.id', 'p.invoice_id as invoiceId', 'p.amount', 'p.paid_at as paidAt', 'p.method'])
          .select(['p.reference', 'p.created_at as createdAt'])
          .whereRef('p.invoice_id', '=', 'i.id')
          .orderBy('p.created_at')
          .orderBy('p.id'),
      ).as('payments'),
      jsonArrayFrom(
        eb
          .selectFrom('credit_notes as cn')
          .select(['cn.id', 'cn.number', 'cn.total', 'cn.issued_at as issuedAt'])
          .whereRef('cn.invoice_id', '=', 'i.id')
          .orderBy('cn.number_seq'),
      ).as('credit_notes'),
      'c.name as customer_name',
      'c.email as customer_email',
      'c.tax_id as customer_tax_id',
      'c.address as customer_address',
      'u.company_name as profile_company_name',
      'u.profile_email as profile_email',
      'u.phone as profile_phone',
      'u.tax_id as profile_tax_id',
      'u.address as profile_address',
    ])
}
