import type { Database } from '../../lib/db'
import { AppError } from '../../shared/errors'
import { HOSTED_PREFIX, HOSTED_TOKEN } from '../../shared/links'
import { type CreditNoteDeps, creditNotePdfLink, findCreditNoteByHostedToken } from '../credit-notes/service'
import { findInvoiceByHostedToken } from '../invoices/service'
import { type IssuingDeps, pdfLink } from '../issuing/service'
import { getMe } from '../me/service'
import { creditNotePage, type DocumentPage, invoicePage } from './view'

/** What the page's token names: one issued invoice or one credit note, and the user who owns it. */
interface Hosted {
  kind: 'invoice' | 'credit-note'
  id: string
  userId: string
  page: (pdfPath: string) => Promise<DocumentPage>
}

/** One answer for every token that names nothing we show: unknown, rotated, malformed, or a draft's. */
const notFound = () => new AppError('NOT_FOUND', 'No document at this link')

/**
 * The document behind a token. The token's shape is checked before the database is asked, so that garbage
 * costs nothing; the invoice and credit note tables are asked together (a token names at most one row of
 * either: each is unique and 256 random bits).
 */
async function resolve(db: Database, token: string): Promise<Hosted> {
  if (!HOSTED_TOKEN.test(token)) throw notFound()
  const [invoice, note] = await Promise.all([
    findInvoiceByHostedToken(db, token),
    findCreditNoteByHostedToken(db, token),
  ])
  if (invoice) {
    const { userId } = invoice
    return {
      kind: 'invoice',
      id: invoice.invoice.id,
      userId,
      page: async (pdfPath) => invoicePage(invoice.invoice, (await getMe(db, userId)).profile, pdfPath),
    }
  }
  if (note) {
    const { userId } = note
    return {
      kind: 'credit-note',
      id: note.note.id,
      userId,
      page: async (pdfPath) =>
        creditNotePage(note.note, note.invoiceIssueDate, (await getMe(db, userId)).profile, pdfPath),
    }
  }
  throw notFound()
}

export const hostedPdfPath = (token: string) => `${HOSTED_PREFIX}/${token}/pdf`

/** The page of the document behind `token`; `NOT_FOUND` for anything else. */
export async function hostedPage(db: Database, token: string): Promise<DocumentPage> {
  const hosted = await resolve(db, token)
  return hosted.page(hostedPdfPath(token))
}

/**
 * A fresh presigned link to the document's PDF, through the owning modules (which put a lost PDF back first),
 * so the page's link never expires while the page is open.
 */
export async function hostedPdfLink(
  db: Database,
  deps: { invoices: IssuingDeps; creditNotes: CreditNoteDeps },
  token: string,
): Promise<string> {
  const hosted = await resolve(db, token)
  const link =
    hosted.kind === 'invoice'
      ? await pdfLink(db, deps.invoices, hosted.userId, hosted.id)
      : await creditNotePdfLink(db, deps.creditNotes, hosted.userId, hosted.id)
  return link.url
}
