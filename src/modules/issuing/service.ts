import type { Database, Transaction } from '../../lib/db'
import { isStored, newPdfKey, type PdfStoreDeps, renderAndStore } from '../../lib/documents/store'
import type { Logger } from '../../lib/logger'
import { AppError } from '../../shared/errors'
import { getCustomer } from '../customers/service'
import { assertAllowed } from '../invoices/lifecycle'
import type { Invoice } from '../invoices/model'
import type { InvoiceRecord } from '../invoices/service'
import { announceStatus, findInvoiceRecord, invoiceItems } from '../invoices/service'
import { lockForChange, lockInvoiceRecord, recordIssue, recordPdfRegenerated } from '../invoices/writes'
import { allocateNumber } from '../me/service'
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
  const [items, customer] = await Promise.all([
    invoiceItems(trx, userId, id),
    getCustomer(trx, userId, invoice.customerId),
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
  const taken = await allocateNumber(trx, userId, 'invoice')
  const frozen = {
    number: taken.number,
    sentAt: new Date(),
    billTo: billToOf(customer),
    seller: taken.seller,
  }
  const key = newPdfKey('invoices', userId, id)
  const pdf = await renderAndStore(deps, key, toSnapshot({ ...invoice, ...frozen }, items), { invoiceId: id })
  const entered = await recordIssue(trx, invoice, {
    ...frozen,
    numberSeq: taken.seq,
    pdf: { key, ...pdf },
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
    const pdf = await renderAndStore(deps, invoice.pdf.key, toSnapshot(invoice, items), { invoiceId: id })
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
