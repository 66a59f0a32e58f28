import { BOLD, REGULAR, regularFont } from './fonts.ts'

export type Doc = PDFKit.PDFDocument

/** A4 in points. */
export const PAGE = { width: 595.28, height: 841.89 }
export const MARGIN = 50
export const LEFT = MARGIN
export const RIGHT = PAGE.width - MARGIN
export const WIDTH = RIGHT - LEFT
/** Body content (table rows, totals, notes) ends above this line; the footer lives below it. */
export const BODY_BOTTOM = PAGE.height - MARGIN - 22
export const FOOTER_Y = PAGE.height - MARGIN + 14

export const COLOR = {
  text: '#111827',
  muted: '#6b7280',
  rule: '#e5e7eb',
  band: '#f3f4f6',
}

export type TextStyle = { bold?: boolean; size: number; color?: string }

export const STYLE = {
  title: { bold: true, size: 24 },
  seller: { bold: true, size: 13 },
  name: { bold: true, size: 10.5 },
  amountDue: { bold: true, size: 16 },
  body: { size: 9 },
  muted: { size: 9, color: COLOR.muted },
  label: { bold: true, size: 7.5, color: COLOR.muted },
  cell: { size: 9 },
  head: { bold: true, size: 8, color: COLOR.muted },
  footer: { size: 7.5, color: COLOR.muted },
} satisfies Record<string, TextStyle>

export function useStyle(doc: Doc, style: TextStyle): Doc {
  return doc
    .font(style.bold ? BOLD : REGULAR)
    .fontSize(style.size)
    .fillColor(style.color ?? COLOR.text)
}

/** One unwrapped line whose top-left corner is (x, y). */
export function line(doc: Doc, text: string, x: number, y: number, style: TextStyle): void {
  useStyle(doc, style)
  doc.text(text, x, y, { lineBreak: false })
}

/** One unwrapped line ending at `right`, shrunk to `maxWidth` if it would be wider. */
export function lineRight(
  doc: Doc,
  text: string,
  right: number,
  y: number,
  style: TextStyle,
  maxWidth = Number.POSITIVE_INFINITY,
): void {
  useStyle(doc, style)
  let width = doc.widthOfString(text)
  let top = y
  if (width > maxWidth) {
    const size = (style.size * maxWidth) / width
    const { ascent, unitsPerEm } = regularFont()
    top += ((style.size - size) * ascent) / unitsPerEm
    doc.fontSize(size)
    width = maxWidth
  }
  doc.text(text, right - width, top, { lineBreak: false })
}

/** Text wrapped at `width`; returns the y below it. */
export function paragraph(
  doc: Doc,
  text: string,
  x: number,
  y: number,
  width: number,
  style: TextStyle,
): number {
  useStyle(doc, style)
  doc.text(text, x, y, { width, lineGap: 1.5 })
  return doc.y
}

/** Lines stacked from `y`, each wrapped at `width`; returns the y below the last. */
export function stack(
  doc: Doc,
  lines: string[],
  x: number,
  y: number,
  width: number,
  style: TextStyle,
): number {
  let bottom = y
  for (const text of lines) bottom = paragraph(doc, text, x, bottom, width, style)
  return bottom
}

export function rule(doc: Doc, y: number, from = LEFT, to = RIGHT, color = COLOR.rule, width = 0.75): void {
  doc.save().moveTo(from, y).lineTo(to, y).lineWidth(width).strokeColor(color).stroke().restore()
}

export function band(
  doc: Doc,
  x: number,
  y: number,
  width: number,
  height: number,
  color = COLOR.band,
): void {
  doc.save().rect(x, y, width, height).fillColor(color).fill().restore()
}
