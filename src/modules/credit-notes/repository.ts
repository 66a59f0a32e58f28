import { type Insertable, type Selectable, sql } from 'kysely'
import { jsonArrayFrom } from 'kysely/helpers/postgres'
import type {
  BillToJson,
  CreditNoteItemsTable,
  CreditNotesTable,
  CreditReason,
  SellerJson,
} from '../../../db/schema'
import { crossTenant, type Database, type Transaction } from '../../lib/db'
import { type LineMoney, parseDecimal3, parseMinorUnits } from '../../shared/money'

export type NewCreditNote = Insertable<CreditNotesTable>
export type NewCreditNoteItem = Insertable<CreditNoteItemsTable>

export interface CreditNoteItemRecord extends LineMoney {
  id: string
  invoiceItemId: string
  description: string
  quantity: number
  unitPrice: number
  taxRate: number
}

/** A credit note as the module reads it: camelCase, money as integer minor units. */
export interface CreditNoteRecord {
  id: string
  userId: string
  number: string
  numberSeq: number
  invoiceId: string
  invoiceNumber: string
  invoiceIssueDate: string
  customerId: string
  reason: CreditReason
  memo: string | null
  currency: string
  discountPercent: number
  items: CreditNoteItemRecord[]
  subtotal: number
  discountTotal: number
  taxTotal: number
  total: number
  appliedToBalance: number
  refundDue: number
  billTo: BillToJson
  seller: SellerJson
  pdf: { key: string; sha256: string; size: number; generatedAt: Date }
  /** The stored PDF is a Factur-X with its CII embedded. */
  pdfFacturx: boolean
  /** The hosted page's secret (`/i/{token}`). */
  hostedToken: string
  version: number
  issueDate: string
  issuedAt: Date
  createdAt: Date
}

const money = (value: number | string) => parseMinorUnits(value)
const instant = (value: Date | string) => (value instanceof Date ? value : new Date(value))

type ItemJson = { [K in keyof CreditNoteItemRecord]: CreditNoteItemRecord[K] | string }

interface ViewRow extends Selectable<CreditNotesTable> {
  invoice_number: string | null
  invoice_issue_date: string
  items: ItemJson[]
}

function toRecord(row: ViewRow): CreditNoteRecord {
  return {
    id: row.id,
    userId: row.user_id,
    number: row.number,
    numberSeq: money(row.number_seq),
    invoiceId: row.invoice_id,
    invoiceNumber: row.invoice_number ?? '',
    invoiceIssueDate: row.invoice_issue_date,
    customerId: row.customer_id,
    reason: row.reason,
    memo: row.memo,
    currency: row.currency,
    discountPercent: Number(row.discount_percent),
    items: row.items.map((item) => ({
      id: String(item.id),
      invoiceItemId: String(item.invoiceItemId),
      description: String(item.description),
      quantity: Number(item.quantity),
      unitPrice: money(item.unitPrice),
      taxRate: Number(item.taxRate),
      subtotal: money(item.subtotal),
      discount: money(item.discount),
      tax: money(item.tax),
      total: money(item.total),
    })),
    subtotal: money(row.subtotal),
    discountTotal: money(row.discount_total),
    taxTotal: money(row.tax_total),
    total: money(row.total),
    appliedToBalance: money(row.applied_to_balance),
    refundDue: money(row.refund_due),
    billTo: row.bill_to,
    seller: row.seller,
    pdf: {
      key: row.pdf_key,
      sha256: row.pdf_sha256,
      size: row.pdf_size,
      generatedAt: instant(row.pdf_generated_at),
    },
    pdfFacturx: row.pdf_facturx,
    hostedToken: row.hosted_token,
    version: row.version,
    issueDate: row.issue_date,
    issuedAt: instant(row.issued_at),
    createdAt: instant(row.created_at),
  }
}

function creditNoteView(db: Database) {
  return db
    .selectFrom('credit_notes as cn')
    .innerJoin('invoices as i', 'i.id', 'cn.invoice_id')
    .selectAll('cn')
    .select((eb) => [
      'i.number as invoice_number',
      'i.issue_date as invoice_issue_date',
      jsonArrayFrom(
        eb
          .selectFrom('credit_note_items as it')
          .select(['it.id', 'it.invoice_item_id as invoiceItemId', 'it.description', 'it.quantity'])
          .select(['it.unit_price as unitPrice', 'it.tax_rate as taxRate'])
          .select(['it.subtotal', 'it.discount', 'it.tax', 'it.total'])
          .whereRef('it.credit_note_id', '=', 'cn.id')
          .orderBy('it.position'),
      ).as('items'),
    ])
}

export async function findCreditNote(
  db: Database,
  userId: string,
  id: string,
): Promise<CreditNoteRecord | undefined> {
  const row = await creditNoteView(db)
    .where('cn.user_id', '=', userId)
    .where('cn.id', '=', id)
    .executeTakeFirst()
  return row && toRecord(row as ViewRow)
}

/**
 * The credit note whose hosted page secret is `token`, whoever owns it: the token is the only key the public page
 * has, so this one read runs without the tenant guard on purpose.
 */
export async function findCreditNoteByHostedToken(
  db: Database,
  token: string,
): Promise<CreditNoteRecord | undefined> {
  const row = await creditNoteView(crossTenant(db)).where('cn.hosted_token', '=', token).executeTakeFirst()
  return row && toRecord(row as ViewRow)
}

export interface ListCreditNotesOptions {
  take: number
  /** The number of the last note served: the list runs newest number first. */
  afterSeq: number | undefined
  invoiceId: string | undefined
  customerId: string | undefined
  issuedFrom: string | undefined
  issuedTo: string | undefined
}

/** Newest number first: the number is unique per user, so it alone is an exact keyset. */
export async function listCreditNotes(
  db: Database,
  userId: string,
  options: ListCreditNotesOptions,
): Promise<CreditNoteRecord[]> {
  const rows = await creditNoteView(db)
    .where('cn.user_id', '=', userId)
    .$if(options.invoiceId !== undefined, (qb) => qb.where('cn.invoice_id', '=', options.invoiceId!))
    .$if(options.customerId !== undefined, (qb) => qb.where('cn.customer_id', '=', options.customerId!))
    .$if(options.issuedFrom !== undefined, (qb) => qb.where('cn.issue_date', '>=', options.issuedFrom!))
    .$if(options.issuedTo !== undefined, (qb) => qb.where('cn.issue_date', '<=', options.issuedTo!))
    .$if(options.afterSeq !== undefined, (qb) => qb.where('cn.number_seq', '<', String(options.afterSeq!)))
    .orderBy('cn.number_seq', 'desc')
    .limit(options.take)
    .execute()
  return rows.map((row) => toRecord(row as ViewRow))
}

/** What earlier credit notes took of each line of an invoice: quantity in thousandths, and amounts. */
export interface CreditedLine {
  quantity: bigint
  money: LineMoney
}

export async function creditedByLine(
  trx: Transaction,
  userId: string,
  invoiceId: string,
): Promise<Map<string, CreditedLine>> {
  const rows = await trx
    .selectFrom('credit_note_items as it')
    .innerJoin('credit_notes as cn', 'cn.id', 'it.credit_note_id')
    .where('cn.user_id', '=', userId)
    .where('cn.invoice_id', '=', invoiceId)
    .groupBy('it.invoice_item_id')
    .select('it.invoice_item_id')
    .select([
      sql<string>`sum(it.quantity)::text`.as('quantity'),
      sql<string>`sum(it.subtotal)::text`.as('subtotal'),
      sql<string>`sum(it.discount)::text`.as('discount'),
      sql<string>`sum(it.tax)::text`.as('tax'),
      sql<string>`sum(it.total)::text`.as('total'),
    ])
    .execute()
  return new Map(
    rows.map((row) => [
      row.invoice_item_id,
      {
        quantity: parseDecimal3(row.quantity),
        money: {
          subtotal: money(row.subtotal),
          discount: money(row.discount),
          tax: money(row.tax),
          total: money(row.total),
        },
      },
    ]),
  )
}

/** The note, then its lines: the lines reference the note, and the deferred checks read both at commit. */
export async function insertCreditNote(
  trx: Transaction,
  note: NewCreditNote,
  items: readonly NewCreditNoteItem[],
): Promise<void> {
  await trx.insertInto('credit_notes').values(note).execute()
  await trx.insertInto('credit_note_items').values(items).execute()
}

/** A PDF put back from the snapshot: the only change a credit note ever takes. */
export async function updateStoredPdf(
  trx: Transaction,
  userId: string,
  id: string,
  pdf: { sha256: string; size: number; generatedAt: Date },
): Promise<void> {
  await trx
    .updateTable('credit_notes')
    .set({ pdf_sha256: pdf.sha256, pdf_size: pdf.size, pdf_generated_at: pdf.generatedAt })
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .execute()
}

/** A new hosted page token: the old link stops working at once. */
export async function updateHostedToken(trx: Transaction, userId: string, id: string, token: string) {
  await trx
    .updateTable('credit_notes')
    .set({ hosted_token: token, version: sql<number>`version + 1` })
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .execute()
}

/** The note locked, so that concurrent requests put a lost PDF back once. */
export async function lockCreditNote(trx: Transaction, userId: string, id: string): Promise<boolean> {
  const row = await trx
    .selectFrom('credit_notes')
    .select('id')
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst()
  return row !== undefined
}
