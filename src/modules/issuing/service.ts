import type { BillToJson, SellerJson } from '../../../db/schema'
import type { Database, Transaction } from '../../lib/db'
import { isStored, newPdfKey, type PdfStoreDeps, renderAndStore } from '../../lib/documents/store'
import type { Logger } from '../../lib/logger'
import type { RenderOptions } from '../../lib/pdf'
import { AppError } from '../../shared/errors'
import { getCustomer } from '../customers/service'
import type { EInvoiceChecks, EInvoiceLink } from '../einvoice/model'
import {
  assertComplete,
  checkAll,
  type EInvoiceFormatName,
  type EInvoiceSource,
  eInvoiceKey,
  storeAndLink,
  toEInvoiceDocument,
  xmlOf,
} from '../einvoice/service'
import { assertAllowed } from '../invoices/lifecycle'
import type { Invoice } from '../invoices/model'
import type { InvoiceRecord, ItemRecord } from '../invoices/service'
import { announceStatus, findInvoiceRecord, invoiceItems } from '../invoices/service'
import { lockForChange, lockInvoiceRecord, recordIssue, recordPdfRegenerated } from '../invoices/writes'
import { allocateNumber, formatNumber, getMe, sellerOfProfile } from '../me/service'
import type { Outbox } from '../webhooks/outbox'
import { billToOf, toSnapshot } from './snapshot'

export interface IssuingDeps extends PdfStoreDeps {
  logger: Logger
  pdfUrlTtlSeconds: number
}

export interface PdfLink {
  url: string
  expiresAt: string
}

const noPdf = () => new AppError('NOT_FOUND', 'This invoice has no PDF yet')

/**
 * Issues a draft in the caller's transaction: the invoice row is locked first, then the user's row (by taking
 * the number), which serialises the numbering of one user. The PDF is rendered and uploaded while both locks
 * are held: gapless numbers need the number taken in the same transaction that commits the issue, so a failed
 * upload must roll the number back with everything else. The price is that a slow store holds up that user's
 * other sends, hence the bounded storage timeout. An object uploaded before a later rollback is an orphan that
 * nothing points at, which is harmless; a consumed number is not.
 */
export async function markAsSent(
  trx: Transaction,
  deps: IssuingDeps & { outbox: Outbox },
  userId: string,
  id: string,
  ifMatch: string | null,
): Promise<Invoice> {
  const invoice = await lockForChange(trx, userId, id, ifMatch)
  assertAllowed(invoice, 'send')
  const [items, customer, me] = await Promise.all([
    invoiceItems(trx, userId, id),
    getCustomer(trx, userId, invoice.customerId),
    getMe(trx, userId),
  ])
  if (items.length === 0) {
    throw new AppError('VALIDATION_ERROR', 'An invoice needs at least one item to be sent', {
      details: [{ path: '/items', message: 'must have at least one item to be sent' }],
    })
  }
  if (invoice.total < 0) {
    // Refused before anything is rendered or stored: a negative amount is corrected by a credit note.
    throw new AppError('VALIDATION_ERROR', 'An invoice with a negative total cannot be issued', {
      details: [{ path: '/total', message: 'must not be negative to be sent: issue a credit note instead' }],
    })
  }
  const facturx = me.profile.eInvoiceFormat === 'facturx'
  if (facturx) {
    // Checked before the number is taken, so that a refusal leaves the series where it was.
    const { profile } = me
    const parties = {
      number: formatNumber(profile.invoicePrefix, profile.nextInvoiceNumber),
      seller: sellerOfProfile(profile),
      billTo: billToOf(customer),
    }
    assertComplete(toEInvoiceDocument(invoiceSource(invoice, items, parties)), 'facturx')
  }
  const taken = await allocateNumber(trx, userId, 'invoice')
  const frozen = {
    number: taken.number,
    sentAt: new Date(),
    billTo: billToOf(customer),
    seller: taken.seller,
  }
  const key = newPdfKey('invoices', userId, id)
  const pdf = await renderAndStore(
    deps,
    key,
    toSnapshot({ ...invoice, ...frozen }, items),
    { invoiceId: id },
    facturx ? facturxOptions(invoiceSource(invoice, items, frozen)) : undefined,
  )
  const entered = await recordIssue(trx, invoice, {
    ...frozen,
    numberSeq: taken.seq,
    pdf: { key, ...pdf },
    facturx,
    actorId: userId,
  })
  return announceStatus(trx, deps.outbox, userId, id, entered)
}

type Issued = InvoiceRecord & {
  number: string
  sentAt: Date
  billTo: NonNullable<InvoiceRecord['billTo']>
  seller: NonNullable<InvoiceRecord['seller']>
  pdf: NonNullable<InvoiceRecord['pdf']>
}

const isIssued = (invoice: InvoiceRecord): invoice is Issued =>
  invoice.pdf !== null &&
  invoice.number !== null &&
  invoice.sentAt !== null &&
  invoice.billTo !== null &&
  invoice.seller !== null

/**
 * Puts a missing PDF back from the frozen snapshot, under the invoice's lock so that concurrent requests
 * regenerate it once. Rendering is deterministic, so the bytes match the issued ones. Should they not (a
 * renderer or font upgrade), the new bytes are stored anyway, with their hash, an error log line and the old
 * hash in the event: the content is the same frozen snapshot, and a customer without any PDF is worse.
 */
async function regenerate(db: Database, deps: IssuingDeps, userId: string, id: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const invoice = await lockInvoiceRecord(trx, userId, id)
    if (!isIssued(invoice)) throw noPdf()
    if (await isStored(deps, invoice.pdf.key)) return
    const items = await invoiceItems(trx, userId, id)
    const pdf = await renderAndStore(
      deps,
      invoice.pdf.key,
      toSnapshot(invoice, items),
      { invoiceId: id },
      invoice.pdfFacturx ? facturxOptions(invoiceSource(invoice, items, invoice)) : undefined,
    )
    if (pdf.sha256 !== invoice.pdf.sha256) {
      deps.logger.error(
        {
          code: 'PDF_HASH_MISMATCH',
          invoiceId: id,
          userId,
          previousSha256: invoice.pdf.sha256,
          sha256: pdf.sha256,
        },
        'the regenerated PDF differs from the issued one; stored with its new hash',
      )
    }
    await recordPdfRegenerated(trx, invoice, { key: invoice.pdf.key, ...pdf }, userId)
  })
}

/**
 * Where the invoice's PDF is stored and the name it is downloaded (or attached) as; it is first rendered again from
 * the snapshot if the store lost it.
 */
export async function storedPdf(
  db: Database,
  deps: IssuingDeps,
  userId: string,
  id: string,
): Promise<{ key: string; filename: string }> {
  const invoice = await findInvoiceRecord(db, userId, id)
  if (!isIssued(invoice)) throw noPdf()
  if (!(await isStored(deps, invoice.pdf.key))) await regenerate(db, deps, userId, id)
  return { key: invoice.pdf.key, filename: `${invoice.number}.pdf` }
}

/** A fresh link to the stored PDF, which is first rendered again from the snapshot if the store lost it. */
export async function pdfLink(db: Database, deps: IssuingDeps, userId: string, id: string): Promise<PdfLink> {
  const { key, filename } = await storedPdf(db, deps, userId, id)
  const link = await deps.storage.signedDownloadUrl(key, { filename, ttlSeconds: deps.pdfUrlTtlSeconds })
  return { url: link.url, expiresAt: link.expiresAt.toISOString() }
}

/** The e-invoice of an invoice: its own fields and lines, and the parties (frozen, or live for a draft's check). */
export function invoiceSource(
  invoice: InvoiceRecord,
  items: readonly ItemRecord[],
  parties: { number: string; seller: SellerJson; billTo: BillToJson },
): EInvoiceSource {
  return {
    kind: 'invoice',
    number: parties.number,
    issueDate: invoice.issueDate,
    dueDate: invoice.dueDate,
    currency: invoice.currency,
    note: invoice.notes,
    seller: parties.seller,
    billTo: parties.billTo,
    purchaseOrderReference: invoice.purchaseOrderReference,
    deliveryDate: invoice.deliveryDate,
    deliverTo: invoice.deliverTo,
    taxExemptionReasons: invoice.taxExemptionReasons,
    lines: items,
  }
}

/** The PDF of a Factur-X document: a PDF/A-3 carrying the CII (EN 16931 profile) of the same frozen data. */
export const facturxOptions = (source: EInvoiceSource): RenderOptions => ({
  facturx: { xml: xmlOf(toEInvoiceDocument(source), 'facturx'), conformance: 'EN 16931' },
})

/**
 * What each e-invoice format still lacks. An issued invoice is checked as it was frozen; a draft as it would be
 * issued now, with the live profile and customer and the next number.
 */
export async function checkInvoiceEInvoice(
  db: Database,
  userId: string,
  id: string,
): Promise<EInvoiceChecks> {
  const invoice = await findInvoiceRecord(db, userId, id)
  const items = await invoiceItems(db, userId, id)
  if (isIssued(invoice)) return checkAll(toEInvoiceDocument(invoiceSource(invoice, items, invoice)))
  const [me, customer] = await Promise.all([getMe(db, userId), getCustomer(db, userId, invoice.customerId)])
  const parties = {
    number: formatNumber(me.profile.invoicePrefix, me.profile.nextInvoiceNumber),
    seller: sellerOfProfile(me.profile),
    billTo: billToOf(customer),
  }
  return checkAll(toEInvoiceDocument(invoiceSource(invoice, items, parties)))
}

/**
 * A link to the invoice's e-invoice, generated from the frozen snapshot. `facturx` is the PDF of record itself,
 * so it exists only for invoices issued as Factur-X (409 otherwise: one PDF of record); drafts have none (409).
 */
export async function invoiceEInvoiceLink(
  db: Database,
  deps: IssuingDeps,
  userId: string,
  id: string,
  format: EInvoiceFormatName,
): Promise<EInvoiceLink> {
  const invoice = await findInvoiceRecord(db, userId, id)
  if (!isIssued(invoice)) {
    throw new AppError('INVALID_STATUS_TRANSITION', 'A draft has no e-invoice: issue it first')
  }
  if (format === 'facturx') {
    if (!invoice.pdfFacturx) {
      throw new AppError(
        'INVALID_STATUS_TRANSITION',
        'This invoice was issued as a plain PDF; its PDF of record cannot become a Factur-X',
      )
    }
    const link = await pdfLink(db, deps, userId, id)
    return { ...link, format, filename: `${invoice.number}.pdf` }
  }
  const items = await invoiceItems(db, userId, id)
  const xml = xmlOf(toEInvoiceDocument(invoiceSource(invoice, items, invoice)), format)
  return storeAndLink(deps, eInvoiceKey(invoice.pdf.key, format), xml, format, invoice.number)
}
