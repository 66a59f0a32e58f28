import type { ColumnType, Generated } from 'kysely'
// The lifecycle table of the invoice module is the one list of statuses, events, methods and reasons.
import type {
  CreditReason,
  InvoiceEventType,
  InvoiceStatus,
  PaymentMethod,
} from '../src/modules/invoices/lifecycle'

export type { CreditReason, InvoiceEventType, InvoiceStatus, PaymentMethod }

/** `bigint` columns arrive as strings through postgres.js; repositories convert them at their edge. */
export type Int8 = ColumnType<string, number | bigint | string, number | bigint | string>
/** `numeric` columns arrive as exact decimal strings. */
export type Numeric = ColumnType<string, number | string, number | string>
/** The same, for columns with a database default (optional on insert). */
export type Int8Default = ColumnType<string, number | bigint | string | undefined, number | bigint | string>
export type NumericDefault = ColumnType<string, number | string | undefined, number | string>
export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
/** jsonb: postgres.js serialises the value itself, so objects go in as objects (never pre-stringified). */
export type Json<T> = ColumnType<T, T, T>

export interface AddressJson {
  line1: string | null
  line2: string | null
  city: string | null
  region: string | null
  postalCode: string | null
  country: string | null
}

export interface UsersTable {
  id: Generated<string>
  cognito_sub: string
  email: string | null
  company_name: string | null
  profile_email: string | null
  phone: string | null
  tax_id: string | null
  address: Json<AddressJson> | null
  default_currency: string | null
  payment_terms_days: Generated<number>
  default_tax_rate: NumericDefault
  invoice_prefix: Generated<string>
  next_invoice_number: Int8Default
  /** The highest invoice number issued so far; `next_invoice_number` can never go at or below it. */
  last_invoice_number: Int8Default
  credit_note_prefix: Generated<string>
  next_credit_note_number: Int8Default
  /** The highest credit note number issued so far. */
  last_credit_note_number: Int8Default
  timezone: Generated<string>
  /** BCP 47, formats amounts and dates on pages and emails. */
  locale: Generated<string>
  contact_name: string | null
  payment_instructions: string | null
  bank_account: Json<BankAccountJson> | null
  reminders_enabled: Generated<boolean>
  /** Days after the due date at which a reminder goes out, ascending. */
  reminder_days: Generated<number[]>
  /** How line taxes are rounded on new invoices (API.md "Money arithmetic"). */
  tax_calculation: ColumnType<TaxCalculation, TaxCalculation | undefined, TaxCalculation>
  /** `facturx`: issued PDFs are Factur-X PDF/A-3 documents with their CII embedded. */
  e_invoice_format: ColumnType<
    EInvoiceFormatSetting,
    EInvoiceFormatSetting | undefined,
    EInvoiceFormatSetting
  >
  version: Generated<number>
  created_at: Timestamp
  updated_at: Timestamp
}

export type TaxCalculation = 'per_line' | 'per_category'
export type EInvoiceFormatSetting = 'none' | 'facturx'
/** EN 16931 VAT category codes (UNTDID 5305). */
export type TaxCategory = 'S' | 'Z' | 'E' | 'AE' | 'K' | 'G' | 'O'

export interface BankAccountJson {
  iban: string
  bic: string | null
  accountName: string | null
}

export type EmailStatus = 'queued' | 'sending' | 'retrying' | 'sent' | 'failed'

export interface EmailsTable {
  id: Generated<string>
  user_id: string
  invoice_id: string | null
  credit_note_id: string | null
  kind: 'document' | 'reminder'
  reminder_step: number | null
  recipients: string[]
  cc: Generated<string[]>
  subject: string
  message: string | null
  attach_pdf: boolean
  status: Generated<EmailStatus>
  attempts: Generated<number>
  attempt_job: string | null
  message_id: string
  last_error: string | null
  next_attempt_at: Date | null
  sent_at: Date | null
  created_at: Timestamp
  updated_at: Timestamp
}

export interface CustomersTable {
  id: Generated<string>
  user_id: string
  name: string
  email: string | null
  phone: string | null
  tax_id: string | null
  address: Json<AddressJson> | null
  currency: string | null
  notes: string | null
  /** EN 16931 BT-10, e.g. a Leitweg-ID. */
  buyer_reference: string | null
  /** Name and email folded for search (no diacritics, lower case); written by the service with them. */
  search_text: string
  version: Generated<number>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface IdempotencyKeysTable {
  user_id: string
  key: string
  request_hash: string
  state: 'in_progress' | 'done'
  response_status: number | null
  response_body: Json<unknown> | null
  response_headers: Json<Record<string, string>> | null
  locked_at: Timestamp
  created_at: Timestamp
}

/** Calendar dates travel as `YYYY-MM-DD` strings both ways (postgres.js is told not to parse them). */
export type CalendarDate = ColumnType<string, string, string>

/**
 * The seller frozen at issue. The last three fields were added with e-invoicing: documents issued before carry
 * none of them.
 */
export interface SellerJson {
  companyName: string | null
  email: string | null
  phone: string | null
  taxId: string | null
  address: AddressJson | null
  contactName?: string | null
  bankAccount?: BankAccountJson | null
  /** BT-34, the seller's electronic address: the profile's email. */
  electronicAddress?: string | null
}

/** The buyer frozen at issue; `buyerReference` since e-invoicing. */
export interface BillToJson {
  name: string
  email: string | null
  taxId: string | null
  address: AddressJson | null
  buyerReference?: string | null
}

export interface InvoicesTable {
  id: Generated<string>
  user_id: string
  customer_id: string
  number: string | null
  number_seq: Int8 | null
  status: ColumnType<InvoiceStatus, InvoiceStatus | undefined, InvoiceStatus>
  currency: string
  issue_date: CalendarDate
  due_date: CalendarDate
  discount_percent: NumericDefault
  notes: string | null
  bill_to: Json<BillToJson> | null
  seller: Json<SellerJson> | null
  search_text: ColumnType<string, string | undefined, string>
  subtotal: Int8Default
  discount_total: Int8Default
  tax_total: Int8Default
  total: Int8Default
  amount_paid: Int8Default
  /** The sum of the invoice's credit notes. */
  credited_total: Int8Default
  pdf_key: string | null
  pdf_sha256: string | null
  pdf_size: number | null
  pdf_generated_at: Date | null
  sent_at: Date | null
  paid_at: Date | null
  voided_at: Date | null
  /** When `invoice.overdue` was announced (once per invoice). */
  overdue_announced_at: Date | null
  /** The hosted page's secret (`/i/{token}`); every row has one, the page serves issued invoices only. */
  hosted_token: Generated<string>
  /** Frozen from the profile when the draft is created. */
  tax_calculation: ColumnType<TaxCalculation, TaxCalculation | undefined, TaxCalculation>
  tax_exemption_reasons: Json<Partial<Record<TaxCategory, string>>> | null
  purchase_order_reference: string | null
  delivery_date: CalendarDate | null
  deliver_to: Json<AddressJson> | null
  /** The stored PDF is a Factur-X (PDF/A-3 with its CII embedded). */
  pdf_facturx: Generated<boolean>
  version: Generated<number>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface InvoiceItemsTable {
  id: Generated<string>
  invoice_id: string
  user_id: string
  position: number
  description: string
  quantity: Numeric
  unit_price: Int8
  tax_rate: Numeric
  subtotal: Int8
  discount: Int8
  tax: Int8
  total: Int8
  unit_code: ColumnType<string, string | undefined, string>
  /** Null reads as the default: 'S' when the line is taxed, else 'Z'. */
  tax_category: TaxCategory | null
}

export interface PaymentsTable {
  id: Generated<string>
  invoice_id: string
  user_id: string
  amount: Int8
  /** The invoice's currency, copied so that sums per currency need not look up the invoice. */
  currency: string
  paid_at: ColumnType<Date, Date | string, Date | string>
  method: PaymentMethod
  reference: string | null
  created_at: Timestamp
}

export interface InvoiceEventsTable {
  seq: Generated<Int8>
  id: Generated<string>
  invoice_id: string
  user_id: string
  type: InvoiceEventType
  at: Timestamp
  actor_id: string | null
  data: ColumnType<unknown, unknown | undefined, unknown>
}

/** Open invoices per currency and due date, kept by triggers (migration 20261126210000). */
export interface ReportOpenBalancesTable {
  user_id: string
  currency: string
  due_date: CalendarDate
  amount_due: Int8
  invoices: number
}

/** Drafts per currency, kept by a trigger deferred to commit. */
export interface ReportDraftCountsTable {
  user_id: string
  currency: string
  drafts: number
}

/** Issued totals by issue date and payments by UTC day of `paid_at`, kept by triggers. */
export interface ReportDailyTotalsTable {
  user_id: string
  currency: string
  day: CalendarDate
  invoiced: Int8
  issued: number
  collected: Int8
  payments: number
  /** Credit notes by their issue date (invoiced in reports is net of them). */
  credited: Int8
  credit_notes: number
}

/** The same sums per calendar month (`month` is its first day), kept by the same triggers. */
export interface ReportMonthlyTotalsTable {
  user_id: string
  currency: string
  month: CalendarDate
  invoiced: Int8
  issued: number
  collected: Int8
  payments: number
  /** Credit notes by their issue date (invoiced in reports is net of them). */
  credited: Int8
  credit_notes: number
}

export interface CreditNotesTable {
  id: Generated<string>
  user_id: string
  invoice_id: string
  customer_id: string
  number: string
  number_seq: Int8
  reason: CreditReason
  memo: string | null
  currency: string
  discount_percent: Numeric
  subtotal: Int8
  discount_total: Int8
  tax_total: Int8
  total: Int8
  applied_to_balance: Int8
  refund_due: Int8
  bill_to: Json<BillToJson>
  seller: Json<SellerJson>
  issue_date: CalendarDate
  issued_at: ColumnType<Date, Date | string, never>
  pdf_key: string
  pdf_sha256: string
  pdf_size: number
  pdf_generated_at: ColumnType<Date, Date | string, Date | string>
  /** The hosted page's secret (`/i/{token}`). */
  hosted_token: Generated<string>
  /** The stored PDF is a Factur-X (PDF/A-3 with its CII embedded). */
  pdf_facturx: Generated<boolean>
  /** Moves when the hosted link is rotated, the only change a credit note takes besides a restored PDF. */
  version: Generated<number>
  created_at: Timestamp
}

export interface CreditNoteItemsTable {
  id: Generated<string>
  credit_note_id: string
  user_id: string
  invoice_item_id: string
  position: number
  description: string
  quantity: Numeric
  unit_price: Int8
  tax_rate: Numeric
  subtotal: Int8
  discount: Int8
  tax: Int8
  total: Int8
}

/** Where a user raised `nextInvoiceNumber` past the number after the last one used. */
export interface InvoiceNumberSkipsTable {
  user_id: string
  series: ColumnType<'invoice' | 'credit_note', 'invoice' | 'credit_note' | undefined, never>
  after_seq: Int8
  next_seq: Int8
  at: Generated<Timestamp>
}

/** The event log and outbox (migration 20261202130000). */
export interface EventsTable {
  seq: ColumnType<string, never, never>
  id: Generated<string>
  user_id: string
  type: string
  created_at: Timestamp
  data: Json<{ object: unknown }>
}

export interface WebhookEndpointsTable {
  id: Generated<string>
  user_id: string
  url: string
  events: string[]
  description: string | null
  enabled: Generated<boolean>
  disabled_reason: string | null
  secret: string
  previous_secret: string | null
  previous_secret_expires_at: Date | null
  version: Generated<number>
  created_at: Timestamp
  updated_at: Timestamp
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'retrying' | 'failed'

export interface WebhookDeliveriesTable {
  id: Generated<string>
  user_id: string
  endpoint_id: string
  event_id: string
  status: ColumnType<DeliveryStatus, DeliveryStatus | undefined, DeliveryStatus>
  attempts: Generated<number>
  last_attempt_at: Date | null
  next_attempt_at: Date | null
  last_status_code: number | null
  last_error: string | null
  attempt_job: string | null
  created_at: Timestamp
}

export interface DB {
  users: UsersTable
  invoice_number_skips: InvoiceNumberSkipsTable
  idempotency_keys: IdempotencyKeysTable
  invoices: InvoicesTable
  invoice_items: InvoiceItemsTable
  payments: PaymentsTable
  invoice_events: InvoiceEventsTable
  credit_notes: CreditNotesTable
  credit_note_items: CreditNoteItemsTable
  emails: EmailsTable
  events: EventsTable
  webhook_endpoints: WebhookEndpointsTable
  webhook_deliveries: WebhookDeliveriesTable
  customers: CustomersTable
  report_open_balances: ReportOpenBalancesTable
  report_draft_counts: ReportDraftCountsTable
  report_daily_totals: ReportDailyTotalsTable
  report_monthly_totals: ReportMonthlyTotalsTable
}
