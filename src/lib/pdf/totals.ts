import { formatMoney } from './format.ts'
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
import type { DocumentView, NoteBlock, TotalsRow } from './view.ts'

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

/** Space between two note blocks (a credit note's reason and memo). */
const NOTE_GAP = 10
/** A caption with a first line under it: less room than this left on the page, and the block starts on the next. */
const CAPTION_WITH_LINE = 28

type Totals = Pick<DocumentView, 'totals' | 'result' | 'afterResult' | 'currency' | 'locale'>

function drawRows(doc: Doc, rows: TotalsRow[], money: (amount: number) => string, y: number): number {
  let top = y
  for (const row of rows) {
    if (row.ruleAbove) rule(doc, top - 3, BLOCK_LEFT, RIGHT)
    const style = { ...STYLE.body, bold: row.bold }
    line(doc, row.label, BLOCK_LEFT + INSET, top, style)
    lineRight(doc, money(row.amount), RIGHT - INSET, top, style, BLOCK_WIDTH / 2)
    top += ROW
  }
  return top
}

/** The rows, the result in a band, and the rows that explain the result; returns the y below them. */
function drawTotals(doc: Doc, view: Totals, y: number): number {
  const money = (amount: number) => formatMoney(amount, view.currency, view.locale)
  const top = drawRows(doc, view.totals, money, y) + 4
  band(doc, BLOCK_LEFT, top, BLOCK_WIDTH, DUE_ROW)
  const resultStyle = { bold: true, size: 10.5 }
  line(doc, view.result.label, BLOCK_LEFT + INSET, top + 6, resultStyle)
  lineRight(doc, money(view.result.amount), RIGHT - INSET, top + 6, resultStyle, BLOCK_WIDTH / 2)
  if (view.afterResult.length === 0) return top + DUE_ROW
  return drawRows(doc, view.afterResult, money, top + DUE_ROW + 6)
}

const totalsHeight = (view: Totals) =>
  view.totals.length * ROW +
  4 +
  DUE_ROW +
  (view.afterResult.length === 0 ? 0 : 6 + view.afterResult.length * ROW)

function notesHeight(doc: Doc, notes: NoteBlock[], width: number): number {
  let height = 0
  for (const [i, note] of notes.entries()) {
    useStyle(doc, STYLE.body)
    height +=
      (i === 0 ? 0 : NOTE_GAP) + 14 + doc.heightOfString(note.text, { width, lineGap: NOTES_LINE_GAP })
  }
  return height
}

/** Each block under its caption; with `nextPage`, a caption that would end a page starts the next one. */
function drawNotes(
  doc: Doc,
  notes: NoteBlock[],
  x: number,
  y: number,
  width: number,
  nextPage?: () => number,
): number {
  let top = y
  for (const [i, note] of notes.entries()) {
    if (i > 0) top += NOTE_GAP
    if (i > 0 && nextPage && top + CAPTION_WITH_LINE > BODY_BOTTOM) top = nextPage()
    useStyle(doc, STYLE.label)
    doc.text(note.label.toUpperCase(), x, top, { lineBreak: false, characterSpacing: 0.6 })
    top = paragraph(doc, note.text, x, top + 14, width, STYLE.body)
  }
  return top
}

/** `keep` is the height that must stay on the page of the last item row. */
export type Summary = { keep: number; draw: (y: number, nextPage: () => number) => void }

/** Totals on the right with short notes beside them, or long notes below at full width. */
export function planSummary(doc: Doc, view: Totals & Pick<DocumentView, 'notes'>): Summary {
  const { notes } = view
  const totals = GAP_ABOVE + totalsHeight(view)
  const beside = notes.length > 0 ? GAP_ABOVE + notesHeight(doc, notes, NOTES_BESIDE_WIDTH) : 0
  if (beside <= GAP_ABOVE + NOTES_BESIDE_MAX) {
    return {
      keep: Math.max(totals, beside),
      draw: (y) => {
        drawNotes(doc, notes, LEFT, y + GAP_ABOVE, NOTES_BESIDE_WIDTH)
        drawTotals(doc, view, y + GAP_ABOVE)
      },
    }
  }
  const below = 2 * GAP_ABOVE + notesHeight(doc, notes, WIDTH)
  return {
    keep: totals,
    draw: (y, nextPage) => {
      let top = drawTotals(doc, view, y + GAP_ABOVE) + 2 * GAP_ABOVE
      // Notes that fit on one page start on a fresh one rather than split; longer ones flow.
      if (top + below > BODY_BOTTOM && below < BODY_BOTTOM - MARGIN) top = nextPage()
      drawNotes(doc, notes, LEFT, top, WIDTH, nextPage)
    },
  }
}
