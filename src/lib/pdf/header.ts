import { addressLines, formatMoney } from './format.ts'
import {
  type Doc,
  LEFT,
  line,
  lineRight,
  MARGIN,
  paragraph,
  RIGHT,
  STYLE,
  stack,
  useStyle,
  WIDTH,
} from './layout.ts'
import type { BillToSnapshot, SellerSnapshot } from './types.ts'
import type { DocumentView } from './view.ts'

const COLUMN = 270
const META_LABEL_X = RIGHT - 190

const present = (value: string | null | undefined): value is string => Boolean(value?.trim())

function sellerLines(from: SellerSnapshot, locale: string): string[] {
  return [
    ...addressLines(from.address, locale),
    from.email,
    from.phone,
    present(from.taxId) ? `Tax ID: ${from.taxId}` : null,
  ].filter(present)
}

function billToLines(billTo: BillToSnapshot, locale: string): string[] {
  return [
    ...addressLines(billTo.address, locale),
    billTo.email,
    present(billTo.taxId) ? `Tax ID: ${billTo.taxId}` : null,
  ].filter(present)
}

const LABEL_SPACING = 0.6

/** A small capitalised caption starting at `x`, or ending at `x` when `alignRight`. */
function label(doc: Doc, text: string, x: number, y: number, alignRight = false): void {
  useStyle(doc, STYLE.label)
  const caps = text.toUpperCase()
  const options = { lineBreak: false, characterSpacing: LABEL_SPACING }
  doc.text(caps, alignRight ? x - doc.widthOfString(caps, options) : x, y, options)
}

/**
 * Seller, title, number and dates, bill-to and the headline amount, then the reference line if the
 * document has one; returns the y below them.
 */
export function drawHeader(doc: Doc, view: DocumentView): number {
  const { locale } = view
  let left = MARGIN
  if (present(view.from.companyName)) {
    useStyle(doc, STYLE.seller)
    doc.text(view.from.companyName, LEFT, left, { width: COLUMN })
    left = doc.y + 3
  }
  left = stack(doc, sellerLines(view.from, locale), LEFT, left, COLUMN, STYLE.muted)

  lineRight(doc, view.title, RIGHT, MARGIN - 4, STYLE.title)
  let right = MARGIN + 38
  for (const [name, value] of view.meta) {
    line(doc, name, META_LABEL_X, right, STYLE.muted)
    lineRight(doc, value, RIGHT, right, { ...STYLE.body, bold: name === 'Number' }, RIGHT - META_LABEL_X - 70)
    right += 14
  }

  const top = Math.max(left, right) + 22
  label(doc, 'Bill to', LEFT, top)
  useStyle(doc, STYLE.name)
  doc.text(view.billTo.name, LEFT, top + 14, { width: COLUMN })
  left = stack(doc, billToLines(view.billTo, locale), LEFT, doc.y + 2, COLUMN, STYLE.muted)

  const { headline } = view
  label(doc, headline.label, RIGHT, top, true)
  const amount = formatMoney(headline.amount, view.currency, locale)
  lineRight(doc, amount, RIGHT, top + 13, STYLE.amountDue, RIGHT - LEFT - COLUMN - 20)
  if (headline.caption) lineRight(doc, headline.caption, RIGHT, top + 36, STYLE.muted)
  right = top + 50

  const bottom = Math.max(left, right) + 20
  if (!view.reference) return bottom
  return paragraph(doc, view.reference, LEFT, bottom, WIDTH, STYLE.name) + 14
}
