import type { Database } from '../../lib/db'
import type { Logger } from '../../lib/logger'
import { AppError, notFound } from '../../shared/errors'
import { parseMinorUnits } from '../../shared/money'
import { getCustomer } from '../customers/service'
import type { Invoice } from '../invoices/model'
import { getInvoice, invoiceSearchText, lockForChange } from '../invoices/service'
import { failed, newPdfKey, type PdfStoreDeps, renderAndStore, within } from './pdf-store'
import {
  appendEvent,
  findInvoice,
  findItems,
  type IssuedRow,
  lockIssuer,
  recordIssue,
  updateInvoice,
} from './repository'
import { billToOf, formatNumber, sellerOf, toSnapshot } from './snapshot'

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
 * Issues a draft in the caller's transaction: the invoice row is locked first, then the user's row, which
 * serialises the numbering of one user. The PDF is rendered and uploaded while both locks are held: gapless
 * numbers need the number taken in the same transaction that commits the issue, so a failed upload must
 * roll the number back with everything else. The price is that a slow store holds up that user's other
 * sends, hence the bounded storage timeout. An object uploaded before a later rollback is an orphan that
 * nothing points at, which is harmless; a consumed number is not.
 */
export async function markAsSent(
  trx: Database,
  deps: IssuingDeps,
  userId: string,
  id: string,
  ifMatch: string | null,
): Promise<Invoice> {
  const row = await lockForChange(trx, userId, id, ifMatch)
  if (row.status !== 'draft') {
    throw new AppError(
      'INVALID_STATUS_TRANSITION',
      `A ${row.status.replace('_', ' ')} invoice cannot be sent`,
    )
  }
  const [items, customer] = await Promise.all([
    findItems(trx, userId, id),
    getCustomer(trx, userId, row.customer_id),
  ])
  if (items.length === 0) {
    throw new AppError('VALIDATION_ERROR', 'An invoice needs at least one item to be sent', {
      details: [{ path: '/items', message: 'must have at least one item to be sent' }],
    })
  }
  const total = parseMinorUnits(row.total)
  if (total < 0) {
    // Refused before anything is rendered or stored: a negative amount is corrected by a credit note.
    throw new AppError('VALIDATION_ERROR', 'An invoice with a negative total cannot be issued', {
      details: [{ path: '/total', message: 'must not be negative to be sent: issue a credit note instead' }],
    })
  }
  const issuer = await lockIssuer(trx, userId)
  if (!issuer) throw notFound('User')

  const seq = Number(issuer.next_invoice_number)
  const frozen = {
    number: formatNumber(issuer.invoice_prefix, seq),
    sent_at: new Date(),
    bill_to: billToOf(customer),
    seller: sellerOf(issuer),
  }
  const key = newPdfKey(userId, id)
  const pdf = await renderAndStore(deps, key, toSnapshot({ ...row, ...frozen }, items))

  // Nothing is due on a zero-total invoice: it is issued straight to paid, or it would turn overdue unpayable.
  const settled = total === 0
  const issued = {
    ...frozen,
    status: settled ? ('paid' as const) : ('sent' as const),
    ...(settled ? { paid_at: frozen.sent_at } : {}),
    number_seq: seq,
    search_text: invoiceSearchText(frozen.number, frozen.bill_to.name),
    pdf_key: key,
    pdf_sha256: pdf.sha256,
    pdf_size: pdf.size,
    pdf_generated_at: pdf.generatedAt,
    updated_at: pdf.generatedAt,
  }
  await recordIssue(trx, userId, id, issued, seq, {
    invoiceId: id,
    userId,
    type: 'sent',
    actorId: userId,
    data: { number: frozen.number, total, pdfSha256: pdf.sha256 },
  })
  if (settled) {
    await appendEvent(trx, { invoiceId: id, userId, type: 'paid', actorId: userId, data: { amountPaid: 0 } })
  }
  return getInvoice(trx, userId, id)
}

type IssuedWithPdf = IssuedRow & {
  number: string
  pdf_key: string
  sent_at: Date
  bill_to: NonNullable<IssuedRow['bill_to']>
  seller: NonNullable<IssuedRow['seller']>
}

const hasPdf = (row: IssuedRow | undefined): row is IssuedWithPdf =>
  row !== undefined &&
  row.pdf_key !== null &&
  row.number !== null &&
  row.sent_at !== null &&
  row.bill_to !== null &&
  row.seller !== null

async function isStored(deps: IssuingDeps, key: string): Promise<boolean> {
  try {
    return await within(deps.storage.exists(key), deps.storageTimeoutMs, 'storage')
  } catch (error) {
    throw failed('The PDF store cannot be reached; retry shortly', error)
  }
}

/**
 * Puts a missing PDF back from the frozen snapshot, under the invoice's lock so that concurrent requests
 * regenerate it once. Rendering is deterministic, so the bytes match the issued ones. Should they not (a
 * renderer or font upgrade), the new bytes are stored anyway, with their hash, an error log line and the old
 * hash in the event: the content is the same frozen snapshot, and a customer without any PDF is worse.
 */
async function regenerate(db: Database, deps: IssuingDeps, userId: string, id: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const row = await findInvoice(trx, userId, id, { forUpdate: true })
    if (!hasPdf(row)) throw noPdf()
    if (await isStored(deps, row.pdf_key)) return
    const items = await findItems(trx, userId, id)
    const pdf = await renderAndStore(deps, row.pdf_key, toSnapshot(row, items))
    const previous = row.pdf_sha256
    if (pdf.sha256 !== previous) {
      deps.logger.error(
        { code: 'PDF_HASH_MISMATCH', invoiceId: id, userId, previousSha256: previous, sha256: pdf.sha256 },
        'the regenerated PDF differs from the issued one; stored with its new hash',
      )
    }
    await updateInvoice(trx, userId, id, {
      pdf_sha256: pdf.sha256,
      pdf_size: pdf.size,
      pdf_generated_at: pdf.generatedAt,
      updated_at: pdf.generatedAt,
    })
    await appendEvent(trx, {
      invoiceId: id,
      userId,
      type: 'pdf_regenerated',
      actorId: userId,
      data:
        pdf.sha256 === previous ? { sha256: pdf.sha256 } : { sha256: pdf.sha256, previousSha256: previous },
    })
  })
}

/** A fresh link to the stored PDF, which is first rendered again from the snapshot if the store lost it. */
export async function pdfLink(db: Database, deps: IssuingDeps, userId: string, id: string): Promise<PdfLink> {
  const row = await findInvoice(db, userId, id)
  if (!row) throw notFound('Invoice')
  if (!hasPdf(row)) throw noPdf()
  if (!(await isStored(deps, row.pdf_key))) await regenerate(db, deps, userId, id)
  const link = await deps.storage.signedDownloadUrl(row.pdf_key, {
    filename: `${row.number}.pdf`,
    ttlSeconds: deps.pdfUrlTtlSeconds,
  })
  return { url: link.url, expiresAt: link.expiresAt.toISOString() }
}
