import { formatPercent } from './format.ts'
import type { BillToSnapshot, InvoiceItemSnapshot, SellerSnapshot } from './types.ts'

/** One amount of the totals block; a negative amount is something taken off (a discount, a payment). */
export type TotalsRow = { label: string; amount: number; bold?: boolean; ruleAbove?: boolean }

/** A captioned paragraph beside or below the totals: an invoice's notes, a credit note's reason and memo. */
export type NoteBlock = { label: string; text: string }

/**
 * One document as the layout pieces draw it: its snapshot's data with the words and amounts chosen for its
 * kind. Header, item table, totals and footer stay the same for every kind; only this differs.
 */
export type DocumentView = {
  /** "Invoice", "Credit note": the big title, the continuation line and the PDF's title. */
  title: string
  number: string
  currency: string
  locale: string
  from: SellerSnapshot
  billTo: BillToSnapshot
  items: InvoiceItemSnapshot[]
  /** Name and value pairs under the title; the one named "Number" is bold. */
  meta: [string, string][]
  /** A sentence above the items naming what the document refers to, when it refers to anything. */
  reference: string | null
  /** The big amount at the top right, with an optional line below it. */
  headline: { label: string; amount: number; caption: string | null }
  /** The rows of the totals block, then the banded result, then rows that explain the result. */
  totals: TotalsRow[]
  result: { label: string; amount: number }
  afterResult: TotalsRow[]
  notes: NoteBlock[]
  /** The PDF's subject. */
  subject: string
  /** The PDF's creation and modification date: when the document was issued, never the clock. */
  date: Date
  /** What the trailer /ID is derived from: the whole snapshot, so different documents never share one. */
  identity: unknown
}

/** Subtotal, the discount when there is one, and tax: the same rows on every kind of document. */
export function lineSumRows(
  sums: { subtotal: number; discountPercent: number; discountTotal: number; taxTotal: number },
  locale: string,
): TotalsRow[] {
  const rows: TotalsRow[] = [{ label: 'Subtotal', amount: sums.subtotal }]
  if (sums.discountPercent !== 0 || sums.discountTotal !== 0) {
    const label = `Discount (${formatPercent(sums.discountPercent, locale)})`
    rows.push({ label, amount: -sums.discountTotal })
  }
  rows.push({ label: 'Tax', amount: sums.taxTotal })
  return rows
}

/** A snapshot's timestamp as a Date; a value that is no date fails the render rather than print a wrong one. */
export function timestamp(value: Date | string, field: string): Date {
  const date = value instanceof Date ? value : new Date(value)
  if (Number.isNaN(date.getTime())) throw new RangeError(`${field} is not a valid date: ${String(value)}`)
  return date
}
