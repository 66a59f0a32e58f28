import { formatMoney, formatPercent } from './format.ts'
import {
  BODY_BOTTOM,
  band,
  type Doc,
  LEFT,
  line,
  lineRight,
  MARGIN,
  paragraph,
  RIGHT,
  rule,
  STYLE,
  useStyle,
  WIDTH,
} from './layout.ts'
import type { InvoiceSnapshot } from './types.ts'

const BLOCK_WIDTH = 230
const BLOCK_LEFT = RIGHT - BLOCK_WIDTH
const INSET = 6
const ROW = 16
const DUE_ROW = 24
const GAP_ABOVE = 14
const NOTES_BESIDE_WIDTH = BLOCK_LEFT - LEFT - 30
const NOTES_LINE_GAP = 1.5
/** Notes taller than this beside the totals go below them at full width instead. */
const NOTES_BESIDE_MAX = 160

type TotalsRow = { label: string; amount: number; bold?: boolean; ruleAbove?: boolean }

function totalsRows(snapshot: InvoiceSnapshot, locale: string): TotalsRow[] {
  const rows: TotalsRow[] = [{ label: 'Subtotal', amount: snapshot.subtotal }]
  if (snapshot.discountPercent !== 0 || snapshot.discountTotal !== 0) {
    const label = `Discount (${formatPercent(snapshot.discountPercent, locale)})`
    rows.push({ label, amount: -snapshot.discountTotal })
  }
  rows.push({ label: 'Tax', amount: snapshot.taxTotal })
  rows.push({ label: 'Total', amount: snapshot.total, bold: true, ruleAbove: true })
  if (snapshot.amountPaid !== 0) rows.push({ label: 'Amount paid', amount: -snapshot.amountPaid })
  return rows
}

function drawTotals(doc: Doc, snapshot: InvoiceSnapshot, locale: string, y: number): number {
  const money = (amount: number) => formatMoney(amount, snapshot.currency, locale)
  let top = y
  for (const row of totalsRows(snapshot, locale)) {
    if (row.ruleAbove) rule(doc, top - 3, BLOCK_LEFT, RIGHT)
    const style = { ...STYLE.body, bold: row.bold }
    line(doc, row.label, BLOCK_LEFT + INSET, top, style)
    lineRight(doc, money(row.amount), RIGHT - INSET, top, style, BLOCK_WIDTH / 2)
    top += ROW
  }
  top += 4
  band(doc, BLOCK_LEFT, top, BLOCK_WIDTH, DUE_ROW)
  const dueStyle = { bold: true, size: 10.5 }
  line(doc, 'Amount due', BLOCK_LEFT + INSET, top + 6, dueStyle)
  lineRight(doc, money(snapshot.amountDue), RIGHT - INSET, top + 6, dueStyle, BLOCK_WIDTH / 2)
  return top + DUE_ROW
}

const totalsHeight = (snapshot: InvoiceSnapshot, locale: string) =>
  totalsRows(snapshot, locale).length * ROW + 4 + DUE_ROW

function notesHeight(doc: Doc, notes: string, width: number): number {
  useStyle(doc, STYLE.body)
  return 14 + doc.heightOfString(notes, { width, lineGap: NOTES_LINE_GAP })
}

function drawNotes(doc: Doc, notes: string, x: number, y: number, width: number): number {
  useStyle(doc, STYLE.label)
  doc.text('NOTES', x, y, { lineBreak: false, characterSpacing: 0.6 })
  return paragraph(doc, notes, x, y + 14, width, STYLE.body)
}

/** `keep` is the height that must stay on the page of the last item row. */
export type Summary = { keep: number; draw: (y: number, nextPage: () => number) => void }

/** Totals on the right with short notes beside them, or long notes below at full width. */
export function planSummary(doc: Doc, snapshot: InvoiceSnapshot, locale: string): Summary {
  const notes = snapshot.notes?.trim() ?? ''
  const totals = GAP_ABOVE + totalsHeight(snapshot, locale)
  const beside = notes ? GAP_ABOVE + notesHeight(doc, notes, NOTES_BESIDE_WIDTH) : 0
  if (beside <= GAP_ABOVE + NOTES_BESIDE_MAX) {
    return {
      keep: Math.max(totals, beside),
      draw: (y) => {
        if (notes) drawNotes(doc, notes, LEFT, y + GAP_ABOVE, NOTES_BESIDE_WIDTH)
        drawTotals(doc, snapshot, locale, y + GAP_ABOVE)
      },
    }
  }
  const below = 2 * GAP_ABOVE + notesHeight(doc, notes, WIDTH)
  return {
    keep: totals,
    draw: (y, nextPage) => {
      let top = drawTotals(doc, snapshot, locale, y + GAP_ABOVE) + 2 * GAP_ABOVE
      // Notes that fit on one page start on a fresh one rather than split; longer ones flow.
      if (top + below > BODY_BOTTOM && below < BODY_BOTTOM - MARGIN) top = nextPage()
      drawNotes(doc, notes, LEFT, top, WIDTH)
    },
  }
}
