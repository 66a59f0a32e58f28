import type { Database, Transaction } from '../../lib/db'
import { isStored, newPdfKey, type PdfStoreDeps, renderAndStore } from '../../lib/documents/store'
import type { Logger } from '../../lib/logger'
import { todayIn } from '../../shared/dates'
import { AppError, type ErrorDetail, notFound } from '../../shared/errors'
import { trimStrings } from '../../shared/input'
import { hostedUrl, newHostedToken } from '../../shared/links'
import {
  type CreditableLine,
  creditLine,
  decimal3ToString,
  type LineMoney,
  parseDecimal3,
  parseQuantity,
  sumMoney,
  type TaxCalculation,
} from '../../shared/money'
import { decodeCursor, keys, type Page, pageSize, toPage } from '../../shared/pagination'
import type { EInvoiceLink } from '../einvoice/model'
import {
  assertComplete,
  type EInvoiceFormatName,
  type EInvoiceSource,
  eInvoiceKey,
  storeAndLink,
  toEInvoiceDocument,
  xmlOf as xmlOfComplete,
} from '../einvoice/service'
import { assertAllowed } from '../invoices/lifecycle'
import { billToAnswer, sellerAnswer } from '../invoices/mapper'
import {
  announceStatus,
  findInvoiceRecord,
  type InvoiceRecord,
  type ItemRecord,
  invoiceItems,
} from '../invoices/service'
import { applyCredit, lockForChange } from '../invoices/writes'
import { facturxOptions } from '../issuing/service'
import { allocateNumber, formatNumber, getMe, sellerOfProfile } from '../me/service'
import type { Outbox } from '../webhooks/outbox'
import type { CreditNote, CreditNoteCreate, CreditNoteListQuery } from './model'
import {
  type CreditedLine,
  type CreditNoteRecord,
  creditedByLine,
  findCreditNote,
  findCreditNoteByHostedToken as findNoteByHostedToken,
  insertCreditNote,
  listCreditNotes as listRecords,
  lockCreditNote,
  type NewCreditNoteItem,
  updateHostedToken,
  updateStoredPdf,
} from './repository'
import { toSnapshot } from './snapshot'

export const ETAG_KIND = 'credit-note'
const LIST_SORT = 'credit-notes:-number'

export interface CreditNoteDeps extends PdfStoreDeps {
  logger: Logger
  pdfUrlTtlSeconds: number
  outbox: Outbox
}

const validation = (details: ErrorDetail[]) =>
  new AppError('VALIDATION_ERROR', 'Request validation failed', { details })

const exceeds = (message: string, details: ErrorDetail[]) =>
  new AppError('CREDIT_EXCEEDS_INVOICE', message, { details })

export function toCreditNote(record: CreditNoteRecord): CreditNote {
  return {
    id: record.id,
    number: record.number,
    invoiceId: record.invoiceId,
    invoiceNumber: record.invoiceNumber,
    customerId: record.customerId,
    reason: record.reason,
    memo: record.memo,
    currency: record.currency,
    items: record.items,
    subtotal: record.subtotal,
    discountTotal: record.discountTotal,
    taxTotal: record.taxTotal,
    total: record.total,
    appliedToBalance: record.appliedToBalance,
    refundDue: record.refundDue,
    billTo: billToAnswer(record.billTo),
    from: sellerAnswer(record.seller),
    pdf: {
      sha256: record.pdf.sha256,
      size: record.pdf.size,
      generatedAt: record.pdf.generatedAt.toISOString(),
    },
    hostedUrl: hostedUrl(record.hostedToken),
    issueDate: record.issueDate,
    issuedAt: record.issuedAt.toISOString(),
    createdAt: record.createdAt.toISOString(),
  }
}

interface PlannedLine {
  item: ItemRecord
  quantity: bigint
  amounts: LineMoney
}

/**
 * The lines a request credits, each priced by the money module against what earlier notes took of its invoice
 * line. Without `items`, everything not yet credited. Errors name the request's fields.
 */
function planLines(
  items: readonly ItemRecord[],
  credited: ReadonlyMap<string, CreditedLine>,
  discountPercent: number,
  requested: CreditNoteCreate['items'],
  taxCalculation: TaxCalculation,
): PlannedLine[] {
  const creditable = (item: ItemRecord): CreditableLine => {
    const earlier = credited.get(item.id)
    return {
      quantity: parseDecimal3(item.quantity),
      unitPrice: item.unitPrice,
      taxRate: item.taxRate,
      amounts: item,
      creditedQuantity: earlier?.quantity ?? 0n,
      credited: earlier?.money ?? { subtotal: 0, discount: 0, tax: 0, total: 0 },
    }
  }
  const plan = (item: ItemRecord, quantity: bigint): PlannedLine => ({
    item,
    quantity,
    amounts: creditLine(creditable(item), discountPercent, quantity, taxCalculation),
  })

  if (requested === undefined) {
    return items.flatMap((item) => {
      const line = creditable(item)
      const left = line.quantity - line.creditedQuantity
      return left > 0n ? [plan(item, left)] : []
    })
  }

  const byId = new Map(items.map((item) => [item.id, item]))
  const seen = new Set<string>()
  const problems: ErrorDetail[] = []
  const overruns: ErrorDetail[] = []
  const lines: PlannedLine[] = []
  requested.forEach((entry, index) => {
    const item = byId.get(entry.invoiceItemId)
    if (!item) {
      problems.push({ path: `/items/${index}/invoiceItemId`, message: 'is not a line of this invoice' })
      return
    }
    if (seen.has(item.id)) {
      problems.push({ path: `/items/${index}/invoiceItemId`, message: 'names a line already credited above' })
      return
    }
    seen.add(item.id)
    const quantity = parseQuantity(entry.quantity, `/items/${index}/quantity`)
    const line = creditable(item)
    const left = line.quantity - line.creditedQuantity
    if (quantity > left) {
      overruns.push({
        path: `/items/${index}/quantity`,
        message: `must be at most ${decimal3ToString(left).replace(/\.?0+$/, '') || '0'}, what is left of the line`,
      })
      return
    }
    lines.push(plan(item, quantity))
  })
  if (problems.length > 0) throw validation(problems)
  if (overruns.length > 0) throw exceeds('A quantity exceeds what is left to credit of its line', overruns)
  return lines
}

/**
 * Issues a credit note in the caller's transaction, under the same guarantees as issuing an invoice: the
 * invoice is locked first (so concurrent notes and payments apply one after the other and never together pass
 * the invoice), then the user's row by taking the next number of the credit-note series; the PDF is rendered
 * and stored while both are held, and any failure rolls the number and the credit back with everything else.
 */
export async function issueCreditNote(
  trx: Transaction,
  deps: CreditNoteDeps,
  userId: string,
  invoiceId: string,
  body: CreditNoteCreate,
  ifMatch: string | null,
): Promise<CreditNote> {
  const input = trimStrings(body)
  const invoice = await lockForChange(trx, userId, invoiceId, ifMatch)
  assertAllowed(invoice, 'credit')
  const [items, credited, me] = await Promise.all([
    invoiceItems(trx, userId, invoiceId),
    creditedByLine(trx, userId, invoiceId),
    getMe(trx, userId),
  ])
  const lines = planLines(items, credited, invoice.discountPercent, input.items, invoice.taxCalculation)
  const totals = sumMoney(lines.map((line) => line.amounts))
  if (lines.length === 0 || totals.total <= 0) {
    throw validation([{ path: '/items', message: "the credit note's total must be greater than 0" }])
  }
  if (totals.total > invoice.total - invoice.creditedTotal) {
    throw exceeds(
      `The credit note exceeds what is left to credit (${invoice.total - invoice.creditedTotal})`,
      [{ path: '/items', message: `the total must be at most ${invoice.total - invoice.creditedTotal}` }],
    )
  }

  if (invoice.billTo === null || invoice.number === null) {
    throw new Error(`issued invoice ${invoice.id} has no frozen bill-to or number`)
  }
  const facturx = me.profile.eInvoiceFormat === 'facturx'
  const draftLines = lines.map((line) => ({
    invoiceItemId: line.item.id,
    description: line.item.description,
    quantity: Number(decimal3ToString(line.quantity)),
    unitPrice: line.item.unitPrice,
    taxRate: line.item.taxRate,
    ...line.amounts,
  }))
  if (facturx) {
    // Checked before the number is taken: a refusal leaves the credit note series where it was.
    const { profile } = me
    const planned = {
      number: formatNumber(profile.creditNotePrefix, profile.nextCreditNoteNumber),
      issueDate: todayIn(profile.timezone),
      memo: input.memo ?? null,
      seller: sellerOfProfile(profile),
      billTo: invoice.billTo,
      items: draftLines,
    }
    assertComplete(toEInvoiceDocument(creditNoteSource(planned, invoice, items)), 'facturx')
  }
  const taken = await allocateNumber(trx, userId, 'credit_note')
  const id = crypto.randomUUID()
  const issuedAt = new Date()
  const note = {
    id,
    number: taken.number,
    issueDate: todayIn(taken.timezone),
    issuedAt,
    // The buyer as the invoice froze it; the seller is the profile as it is now, like an invoice's at issue.
    billTo: invoice.billTo,
    seller: taken.seller,
  }
  const applied = await applyCredit(trx, invoice, {
    id,
    number: note.number,
    total: totals.total,
    at: issuedAt,
    actorId: userId,
  })
  const key = newPdfKey('credit-notes', userId, id)
  const record: CreditNoteRecord = {
    ...note,
    userId,
    numberSeq: taken.seq,
    invoiceId,
    invoiceNumber: invoice.number,
    invoiceIssueDate: invoice.issueDate,
    customerId: invoice.customerId,
    reason: input.reason,
    memo: input.memo ?? null,
    currency: invoice.currency,
    discountPercent: invoice.discountPercent,
    items: draftLines.map((line) => ({ id: crypto.randomUUID(), ...line })),
    subtotal: totals.subtotal,
    discountTotal: totals.discount,
    taxTotal: totals.tax,
    total: totals.total,
    appliedToBalance: applied.appliedToBalance,
    refundDue: applied.refundDue,
    pdf: { key, sha256: '', size: 0, generatedAt: issuedAt },
    pdfFacturx: facturx,
    hostedToken: newHostedToken(),
    version: 1,
    createdAt: issuedAt,
  }
  const pdf = await renderAndStore(
    deps,
    key,
    toSnapshot(record),
    { creditNoteId: id, invoiceId },
    facturx ? facturxOptions(creditNoteSource(record, invoice, items)) : undefined,
  )
  await insertCreditNote(
    trx,
    {
      id,
      user_id: userId,
      invoice_id: invoiceId,
      customer_id: record.customerId,
      number: record.number,
      number_seq: record.numberSeq,
      reason: record.reason,
      memo: record.memo,
      currency: record.currency,
      discount_percent: record.discountPercent,
      subtotal: record.subtotal,
      discount_total: record.discountTotal,
      tax_total: record.taxTotal,
      total: record.total,
      applied_to_balance: record.appliedToBalance,
      refund_due: record.refundDue,
      bill_to: record.billTo,
      seller: record.seller,
      issue_date: record.issueDate,
      issued_at: issuedAt,
      pdf_key: key,
      pdf_sha256: pdf.sha256,
      pdf_size: pdf.size,
      pdf_generated_at: pdf.generatedAt,
      pdf_facturx: facturx,
      hosted_token: record.hostedToken,
    },
    record.items.map(
      (item, position): NewCreditNoteItem => ({
        id: item.id,
        credit_note_id: id,
        user_id: userId,
        invoice_item_id: item.invoiceItemId,
        position,
        description: item.description,
        quantity: decimal3ToString(lines[position]!.quantity),
        unit_price: item.unitPrice,
        tax_rate: String(item.taxRate),
        subtotal: item.subtotal,
        discount: item.discount,
        tax: item.tax,
        total: item.total,
      }),
    ),
  )
  const created = await getCreditNote(trx, userId, id)
  await deps.outbox.record(trx, userId, 'credit_note.created', created)
  if (applied.status !== invoice.status)
    await announceStatus(trx, deps.outbox, userId, invoiceId, [applied.status])
  return created
}

/** A new hosted page link for a credit note; the old one stops working at once. */
export async function rotateCreditNoteLink(
  trx: Transaction,
  userId: string,
  id: string,
): Promise<{ hostedUrl: string }> {
  if (!(await lockCreditNote(trx, userId, id))) throw notFound('Credit note')
  const token = newHostedToken()
  await updateHostedToken(trx, userId, id, token)
  return { hostedUrl: hostedUrl(token) }
}

/** The note and its ETag's version (it moves when the hosted link is rotated). */
export async function getCreditNoteVersioned(
  db: Database,
  userId: string,
  id: string,
): Promise<{ note: CreditNote; version: number }> {
  const record = await findCreditNote(db, userId, id)
  if (!record) throw notFound('Credit note')
  return { note: toCreditNote(record), version: record.version }
}

/**
 * The credit note behind a hosted page token, with its owner (whose profile the page reads) and the issue date of
 * the invoice it corrects, or undefined for an unknown or rotated token. The caller has checked the token's shape.
 */
export async function findCreditNoteByHostedToken(
  db: Database,
  token: string,
): Promise<{ note: CreditNote; userId: string; invoiceIssueDate: string } | undefined> {
  const record = await findNoteByHostedToken(db, token)
  return (
    record && { note: toCreditNote(record), userId: record.userId, invoiceIssueDate: record.invoiceIssueDate }
  )
}

export async function getCreditNote(db: Database, userId: string, id: string): Promise<CreditNote> {
  const record = await findCreditNote(db, userId, id)
  if (!record) throw notFound('Credit note')
  return toCreditNote(record)
}

export async function listCreditNotes(
  db: Database,
  userId: string,
  query: CreditNoteListQuery,
): Promise<Page<CreditNote>> {
  const limit = pageSize(query.limit)
  if (query.issuedFrom && query.issuedTo && query.issuedTo < query.issuedFrom) {
    throw validation([{ path: '/query/issuedTo', message: 'must not be before issuedFrom' }])
  }
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, LIST_SORT, [keys.integer])
  const records = await listRecords(db, userId, {
    take: limit + 1,
    afterSeq: after?.[0],
    invoiceId: query.invoiceId,
    customerId: query.customerId,
    issuedFrom: query.issuedFrom,
    issuedTo: query.issuedTo,
  })
  return toPage(records, limit, LIST_SORT, (record) => [record.numberSeq], toCreditNote)
}

/**
 * Puts a lost PDF back from the frozen note, under the note's lock so that concurrent requests do it once.
 * Rendering is deterministic; should the bytes differ anyway (a renderer upgrade), they are stored with their
 * new hash and an error log line, as for invoices.
 */
async function regenerate(
  db: Database,
  deps: Omit<CreditNoteDeps, 'outbox'>,
  userId: string,
  id: string,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (!(await lockCreditNote(trx, userId, id))) throw notFound('Credit note')
    const record = await findCreditNote(trx, userId, id)
    if (!record || (await isStored(deps, record.pdf.key))) return
    const options = record.pdfFacturx
      ? facturxOptions(await storedCreditNoteSource(trx, userId, record))
      : undefined
    const pdf = await renderAndStore(deps, record.pdf.key, toSnapshot(record), { creditNoteId: id }, options)
    if (pdf.sha256 !== record.pdf.sha256) {
      deps.logger.error(
        {
          code: 'PDF_HASH_MISMATCH',
          creditNoteId: id,
          userId,
          previousSha256: record.pdf.sha256,
          sha256: pdf.sha256,
        },
        'the regenerated credit note PDF differs from the issued one; stored with its new hash',
      )
    }
    await updateStoredPdf(trx, userId, id, pdf)
  })
}

/** Where the note's PDF is stored and the name it is downloaded (or attached) as; put back first if the store lost it. */
export async function storedCreditNotePdf(
  db: Database,
  deps: Omit<CreditNoteDeps, 'outbox'>,
  userId: string,
  id: string,
): Promise<{ key: string; filename: string }> {
  const record = await findCreditNote(db, userId, id)
  if (!record) throw notFound('Credit note')
  if (!(await isStored(deps, record.pdf.key))) await regenerate(db, deps, userId, id)
  return { key: record.pdf.key, filename: `${record.number}.pdf` }
}

/** A fresh link to the stored PDF, first rendered again from the note if the store lost it. */
export async function creditNotePdfLink(db: Database, deps: CreditNoteDeps, userId: string, id: string) {
  const { key, filename } = await storedCreditNotePdf(db, deps, userId, id)
  const link = await deps.storage.signedDownloadUrl(key, { filename, ttlSeconds: deps.pdfUrlTtlSeconds })
  return { url: link.url, expiresAt: link.expiresAt.toISOString() }
}

/**
 * The e-invoice of a credit note (type 381, referencing its invoice): the note's own frozen parties and lines, and
 * from its invoice, which cannot change once issued, the fields of the invoice and each line's unit and category.
 */
export function creditNoteSource(
  note: Pick<CreditNoteRecord, 'number' | 'issueDate' | 'memo' | 'seller' | 'billTo'> & {
    items: readonly (Omit<CreditNoteRecord['items'][number], 'id'> & { id?: string })[]
  },
  invoice: InvoiceRecord,
  invoiceLines: readonly ItemRecord[],
): EInvoiceSource {
  const byId = new Map(invoiceLines.map((line) => [line.id, line]))
  return {
    kind: 'credit_note',
    number: note.number,
    issueDate: note.issueDate,
    dueDate: null,
    currency: invoice.currency,
    note: note.memo,
    seller: note.seller,
    billTo: note.billTo,
    purchaseOrderReference: invoice.purchaseOrderReference,
    deliveryDate: invoice.deliveryDate,
    deliverTo: invoice.deliverTo,
    taxExemptionReasons: invoice.taxExemptionReasons,
    precedingInvoice: { number: invoice.number ?? '', issueDate: invoice.issueDate },
    lines: note.items.map((item) => {
      const line = byId.get(item.invoiceItemId)
      return {
        ...item,
        unitCode: line?.unitCode ?? 'C62',
        taxCategory: line?.taxCategory ?? (item.taxRate > 0 ? 'S' : 'Z'),
      }
    }),
  }
}

async function storedCreditNoteSource(
  db: Database,
  userId: string,
  record: CreditNoteRecord,
): Promise<EInvoiceSource> {
  const [invoice, lines] = await Promise.all([
    findInvoiceRecord(db, userId, record.invoiceId),
    invoiceItems(db, userId, record.invoiceId),
  ])
  return creditNoteSource(record, invoice, lines)
}

/**
 * A link to the credit note's e-invoice, generated from the frozen note: `xrechnung-cii` and `ubl` always;
 * `facturx` is the PDF of record, so only for a note issued as Factur-X (409 otherwise).
 */
export async function creditNoteEInvoiceLink(
  db: Database,
  deps: CreditNoteDeps,
  userId: string,
  id: string,
  format: EInvoiceFormatName,
): Promise<EInvoiceLink> {
  const record = await findCreditNote(db, userId, id)
  if (!record) throw notFound('Credit note')
  if (format === 'facturx') {
    if (!record.pdfFacturx) {
      throw new AppError(
        'INVALID_STATUS_TRANSITION',
        'This credit note was issued as a plain PDF; its PDF of record cannot become a Factur-X',
      )
    }
    const link = await creditNotePdfLink(db, deps, userId, id)
    return { ...link, format, filename: `${record.number}.pdf` }
  }
  const doc = toEInvoiceDocument(await storedCreditNoteSource(db, userId, record))
  const xml = xmlOfComplete(doc, format)
  return storeAndLink(deps, eInvoiceKey(record.pdf.key, format), xml, format, record.number)
}
