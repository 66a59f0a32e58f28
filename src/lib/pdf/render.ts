import PDFDocument from 'pdfkit'
import { creditNoteView } from './credit-note-view.ts'
import { documentId } from './document-id.ts'
import { checkFacturxOptions, embedFacturx, FACTURX_DOCUMENT_OPTIONS } from './facturx.ts'
import { BOLD, documentFonts, REGULAR } from './fonts.ts'
import { drawHeader } from './header.ts'
import { invoiceView } from './invoice-view.ts'
import {
  BODY_BOTTOM,
  type Doc,
  FOOTER_Y,
  LEFT,
  line,
  lineRight,
  MARGIN,
  PAGE,
  RIGHT,
  rule,
  STYLE,
} from './layout.ts'
import type { RenderOptions } from './options.ts'
import { drawItems } from './table.ts'
import { planSummary } from './totals.ts'
import type { CreditNoteSnapshot, DocumentSnapshot, InvoiceSnapshot } from './types.ts'
import type { DocumentView } from './view.ts'

const PRODUCER = 'Invoice API'

function createDocument(view: DocumentView, options: RenderOptions): Doc {
  const { regular, bold } = documentFonts()
  const doc = new PDFDocument({
    // A Factur-X document is a PDF/A-3b (PDF 1.7); a plain one keeps pdfkit's defaults.
    ...(options.facturx ? FACTURX_DOCUMENT_OPTIONS : {}),
    size: 'A4',
    // Text that flows past the body (long notes) continues on a new page before reaching the footer.
    margins: { top: MARGIN, left: MARGIN, right: MARGIN, bottom: PAGE.height - BODY_BOTTOM },
    bufferPages: true,
    lang: view.locale,
    displayTitle: true,
    // A parsed font instead of a name spares pdfkit loading its default Helvetica for every document.
    font: regular as unknown as string,
    info: {
      Title: `${view.title} ${view.number}`,
      Subject: view.subject,
      ...(view.from.companyName ? { Author: view.from.companyName } : {}),
      Producer: PRODUCER,
      Creator: PRODUCER,
      CreationDate: view.date,
      ModDate: view.date,
    },
  })
  // pdfkit derives the trailer /ID from the info dictionary alone; tie it to the whole snapshot instead
  // (and to the embedded XML, when there is one).
  const identity = options.facturx ? { document: view.identity, facturx: options.facturx } : view.identity
  Object.assign(doc, { _id: documentId(identity) })
  doc.registerFont(REGULAR, regular as unknown as Uint8Array)
  doc.registerFont(BOLD, bold as unknown as Uint8Array)
  return doc
}

function collect(doc: Doc): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = []
    doc.on('data', (chunk: Uint8Array) => chunks.push(chunk))
    doc.on('error', reject)
    doc.on('end', () => {
      const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0))
      let offset = 0
      for (const chunk of chunks) {
        bytes.set(chunk, offset)
        offset += chunk.byteLength
      }
      resolve(bytes)
    })
  })
}

function drawFooters(doc: Doc, view: DocumentView): void {
  const { start, count } = doc.bufferedPageRange()
  const owner = view.from.companyName?.trim()
  const left = owner ? `${view.number} · ${owner}` : view.number
  for (let i = 0; i < count; i++) {
    doc.switchToPage(start + i)
    rule(doc, FOOTER_Y - 8)
    line(doc, left, LEFT, FOOTER_Y, STYLE.footer)
    lineRight(doc, `Page ${i + 1} of ${count}`, RIGHT, FOOTER_Y, STYLE.footer)
  }
}

/** Lays out any kind of document: header, items over as many pages as needed, summary, page footers. */
async function renderView(view: DocumentView, options: RenderOptions = {}): Promise<Uint8Array> {
  if (options.facturx) checkFacturxOptions(options.facturx)
  const doc = createDocument(view, options)
  const bytes = collect(doc)

  const nextPage = () => {
    doc.addPage()
    line(doc, `${view.title} ${view.number} (continued)`, LEFT, MARGIN, STYLE.muted)
    return MARGIN + 24
  }

  const summary = planSummary(doc, view)
  let y = drawHeader(doc, view)
  y = drawItems(doc, view, y, nextPage, summary.keep)
  if (y + summary.keep > BODY_BOTTOM) y = nextPage()
  summary.draw(y, nextPage)

  drawFooters(doc, view)
  if (options.facturx) embedFacturx(doc, view, options.facturx)
  doc.end()
  return bytes
}

/**
 * Renders an issued invoice to PDF bytes; the same snapshot (and options) always give the same bytes. With
 * `options.facturx`, a Factur-X PDF/A-3b carrying that XML as `factur-x.xml`.
 */
export async function renderInvoicePdf(
  snapshot: InvoiceSnapshot,
  options?: RenderOptions,
): Promise<Uint8Array> {
  return renderView(invoiceView(snapshot), options)
}

/** Renders an issued credit note to PDF bytes; as `renderInvoicePdf`. */
export async function renderCreditNotePdf(
  snapshot: CreditNoteSnapshot,
  options?: RenderOptions,
): Promise<Uint8Array> {
  return renderView(creditNoteView(snapshot), options)
}

/** Renders whichever kind of document the snapshot is; one without `kind` is an invoice. */
export async function renderDocumentPdf(
  snapshot: DocumentSnapshot,
  options?: RenderOptions,
): Promise<Uint8Array> {
  return snapshot.kind === 'credit_note'
    ? renderCreditNotePdf(snapshot, options)
    : renderInvoicePdf(snapshot, options)
}
