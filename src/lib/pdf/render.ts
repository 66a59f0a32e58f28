import PDFDocument from 'pdfkit'
import { documentId } from './document-id.ts'
import { BOLD, documentFonts, REGULAR } from './fonts.ts'
import { DEFAULT_LOCALE } from './format.ts'
import { drawHeader } from './header.ts'
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
import { drawItems } from './table.ts'
import { planSummary } from './totals.ts'
import type { InvoiceSnapshot } from './types.ts'

const PRODUCER = 'Invoice API'

function toDate(value: Date | string): Date {
  const date = value instanceof Date ? value : new Date(value)
  if (Number.isNaN(date.getTime())) throw new RangeError(`sentAt is not a valid date: ${String(value)}`)
  return date
}

function createDocument(snapshot: InvoiceSnapshot, sentAt: Date, locale: string): Doc {
  const { regular, bold } = documentFonts()
  const doc = new PDFDocument({
    size: 'A4',
    // Text that flows past the body (long notes) continues on a new page before reaching the footer.
    margins: { top: MARGIN, left: MARGIN, right: MARGIN, bottom: PAGE.height - BODY_BOTTOM },
    bufferPages: true,
    lang: locale,
    displayTitle: true,
    // A parsed font instead of a name spares pdfkit loading its default Helvetica for every document.
    font: regular as unknown as string,
    info: {
      Title: `Invoice ${snapshot.number}`,
      Subject: `Invoice ${snapshot.number} to ${snapshot.billTo.name}`,
      ...(snapshot.from.companyName ? { Author: snapshot.from.companyName } : {}),
      Producer: PRODUCER,
      Creator: PRODUCER,
      CreationDate: sentAt,
      ModDate: sentAt,
    },
  })
  // pdfkit derives the trailer /ID from the info dictionary alone; tie it to the whole snapshot instead.
  Object.assign(doc, { _id: documentId({ ...snapshot, sentAt: sentAt.toISOString() }) })
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

function drawFooters(doc: Doc, snapshot: InvoiceSnapshot): void {
  const { start, count } = doc.bufferedPageRange()
  const owner = snapshot.from.companyName?.trim()
  const left = owner ? `${snapshot.number} · ${owner}` : snapshot.number
  for (let i = 0; i < count; i++) {
    doc.switchToPage(start + i)
    rule(doc, FOOTER_Y - 8)
    line(doc, left, LEFT, FOOTER_Y, STYLE.footer)
    lineRight(doc, `Page ${i + 1} of ${count}`, RIGHT, FOOTER_Y, STYLE.footer)
  }
}

/** Renders an issued invoice to PDF bytes; the same snapshot always gives the same bytes. */
export async function renderInvoicePdf(snapshot: InvoiceSnapshot): Promise<Uint8Array> {
  const locale = snapshot.locale ?? DEFAULT_LOCALE
  const sentAt = toDate(snapshot.sentAt)
  const doc = createDocument(snapshot, sentAt, locale)
  const bytes = collect(doc)

  const nextPage = () => {
    doc.addPage()
    line(doc, `Invoice ${snapshot.number} (continued)`, LEFT, MARGIN, STYLE.muted)
    return MARGIN + 24
  }

  const summary = planSummary(doc, snapshot, locale)
  let y = drawHeader(doc, snapshot, locale)
  y = drawItems(doc, snapshot, locale, y, nextPage, summary.keep)
  if (y + summary.keep > BODY_BOTTOM) y = nextPage()
  summary.draw(y, nextPage)

  drawFooters(doc, snapshot)
  doc.end()
  return bytes
}
