import { addressLines, formatDate, formatMoney } from './format.ts'
import { type Doc, LEFT, line, lineRight, MARGIN, RIGHT, STYLE, stack, useStyle } from './layout.ts'
import type { InvoiceSnapshot } from './types.ts'

const COLUMN = 270
const META_LABEL_X = RIGHT - 190

const present = (value: string | null | undefined): value is string => Boolean(value?.trim())

function sellerLines(snapshot: InvoiceSnapshot, locale: string): string[] {
  const { from } = snapshot
  return [
    ...addressLines(from.address, locale),
    from.email,
    from.phone,
    present(from.taxId) ? `Tax ID: ${from.taxId}` : null,
  ].filter(present)
}

function billToLines(snapshot: InvoiceSnapshot, locale: string): string[] {
  const { billTo } = snapshot
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

/** Seller, title, number and dates, bill-to and the amount due; returns the y below them. */
export function drawHeader(doc: Doc, snapshot: InvoiceSnapshot, locale: string): number {
  let left = MARGIN
  if (present(snapshot.from.companyName)) {
    useStyle(doc, STYLE.seller)
    doc.text(snapshot.from.companyName, LEFT, left, { width: COLUMN })
    left = doc.y + 3
  }
  left = stack(doc, sellerLines(snapshot, locale), LEFT, left, COLUMN, STYLE.muted)

  lineRight(doc, 'Invoice', RIGHT, MARGIN - 4, STYLE.title)
  let right = MARGIN + 38
  const meta: [string, string][] = [
    ['Number', snapshot.number],
    ['Issue date', formatDate(snapshot.issueDate, locale)],
    ['Due date', formatDate(snapshot.dueDate, locale)],
  ]
  for (const [name, value] of meta) {
    line(doc, name, META_LABEL_X, right, STYLE.muted)
    lineRight(doc, value, RIGHT, right, { ...STYLE.body, bold: name === 'Number' }, RIGHT - META_LABEL_X - 70)
    right += 14
  }

  const top = Math.max(left, right) + 22
  label(doc, 'Bill to', LEFT, top)
  useStyle(doc, STYLE.name)
  doc.text(snapshot.billTo.name, LEFT, top + 14, { width: COLUMN })
  left = stack(doc, billToLines(snapshot, locale), LEFT, doc.y + 2, COLUMN, STYLE.muted)

  label(doc, 'Amount due', RIGHT, top, true)
  const amountDue = formatMoney(snapshot.amountDue, snapshot.currency, locale)
  lineRight(doc, amountDue, RIGHT, top + 13, STYLE.amountDue, RIGHT - LEFT - COLUMN - 20)
  lineRight(doc, `Due ${formatDate(snapshot.dueDate, locale)}`, RIGHT, top + 36, STYLE.muted)
  right = top + 50

  return Math.max(left, right) + 20
}
