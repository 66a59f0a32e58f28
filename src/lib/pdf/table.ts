import { formatMoney, formatPercent, formatQuantity } from './format.ts'
import {
  BODY_BOTTOM,
  band,
  type Doc,
  LEFT,
  lineRight,
  paragraph,
  RIGHT,
  rule,
  STYLE,
  useStyle,
} from './layout.ts'
import type { InvoiceItemSnapshot } from './types.ts'
import type { DocumentView } from './view.ts'

const INSET = 6
const GAP = 10
const PAD_Y = 5
const HEAD_HEIGHT = 20
const LINE_GAP = 1.5

type NumericColumn = { label: string; width: number; right: number }

const numericColumns = (() => {
  const widths: [string, number][] = [
    ['Total', 80],
    ['Tax rate', 44],
    ['Unit price', 76],
    ['Quantity', 46],
  ]
  let right = RIGHT - INSET
  const columns: NumericColumn[] = []
  for (const [label, width] of widths) {
    columns.unshift({ label, width, right })
    right -= width + GAP
  }
  return columns
})()

const DESCRIPTION_X = LEFT + INSET
const DESCRIPTION_WIDTH = numericColumns[0]!.right - numericColumns[0]!.width - 2 * GAP - DESCRIPTION_X

type Row = { description: string; height: number; cells: string[] }

export type PageBreak = () => number

function drawTableHeader(doc: Doc, y: number): number {
  band(doc, LEFT, y, RIGHT - LEFT, HEAD_HEIGHT)
  const top = y + (HEAD_HEIGHT - STYLE.head.size * 1.17) / 2
  useStyle(doc, STYLE.head)
  doc.text('Description', DESCRIPTION_X, top, { lineBreak: false })
  for (const column of numericColumns) lineRight(doc, column.label, column.right, top, STYLE.head)
  return y + HEAD_HEIGHT
}

function measureRow(doc: Doc, item: InvoiceItemSnapshot, currency: string, locale: string): Row {
  useStyle(doc, STYLE.cell)
  const text = doc.heightOfString(item.description, { width: DESCRIPTION_WIDTH, lineGap: LINE_GAP })
  return {
    description: item.description,
    height: Math.max(text, doc.currentLineHeight(true)) + 2 * PAD_Y,
    cells: [
      formatQuantity(item.quantity, locale),
      formatMoney(item.unitPrice, currency, locale),
      formatPercent(item.taxRate, locale),
      formatMoney(item.total, currency, locale),
    ],
  }
}

function drawRow(doc: Doc, row: Row, y: number): void {
  paragraph(doc, row.description, DESCRIPTION_X, y + PAD_Y, DESCRIPTION_WIDTH, STYLE.cell)
  row.cells.forEach((cell, i) => {
    const column = numericColumns[i]!
    lineRight(doc, cell, column.right, y + PAD_Y, STYLE.cell, column.width)
  })
  rule(doc, y + row.height)
}

/**
 * Draws the items from `y`, breaking to a new page (via `nextPage`, which returns its first free y)
 * whenever a row does not fit; the header is repeated on every page. The last row is kept together
 * with `keepWithLast` points of what follows, so the totals never stand on a page without items.
 */
export function drawItems(
  doc: Doc,
  view: Pick<DocumentView, 'items' | 'currency' | 'locale'>,
  y: number,
  nextPage: PageBreak,
  keepWithLast: number,
): number {
  let top = drawTableHeader(doc, y)
  let rowsOnPage = 0
  const { items, currency, locale } = view
  for (let i = 0; i < items.length; i++) {
    const row = measureRow(doc, items[i]!, currency, locale)
    const needed = row.height + (i === items.length - 1 ? keepWithLast : 0)
    if (rowsOnPage > 0 && top + needed > BODY_BOTTOM) {
      top = drawTableHeader(doc, nextPage())
      rowsOnPage = 0
    }
    drawRow(doc, row, top)
    top += row.height
    rowsOnPage++
  }
  if (items.length === 0) {
    const empty = { description: 'No items', height: doc.currentLineHeight(true) + 2 * PAD_Y, cells: [] }
    drawRow(doc, empty, top)
    top += empty.height
  }
  return top
}
