import { DEFAULT_LOCALE, formatDate } from './format.ts'
import type { CreditNoteReason, CreditNoteSnapshot } from './types.ts'
import { type DocumentView, lineSumRows, type NoteBlock, timestamp } from './view.ts'

const REASONS: Record<CreditNoteReason, string> = {
  duplicate: 'Duplicate',
  fraudulent: 'Fraudulent',
  order_change: 'Order change',
  product_unsatisfactory: 'Product unsatisfactory',
  other: 'Other',
}

/** The reason in words; an unknown reason fails the render rather than print a code to the customer. */
export function reasonInWords(reason: CreditNoteReason): string {
  const words = Object.hasOwn(REASONS, reason) ? REASONS[reason] : undefined
  if (!words) throw new RangeError(`unknown credit note reason: ${String(reason)}`)
  return words
}

/**
 * A credit note as the layout draws it: the invoice it corrects instead of a due date, the credit total
 * instead of the amount due, how the credit was settled (applied to the balance, refunded), and the reason
 * and memo where an invoice has its notes.
 */
export function creditNoteView(snapshot: CreditNoteSnapshot): DocumentView {
  const locale = snapshot.locale ?? DEFAULT_LOCALE
  const issuedAt = timestamp(snapshot.issuedAt, 'issuedAt')
  const afterResult = [{ label: 'Applied to balance', amount: snapshot.appliedToBalance }]
  if (snapshot.refundDue > 0) afterResult.push({ label: 'Refund due', amount: snapshot.refundDue })
  const notes: NoteBlock[] = [{ label: 'Reason', text: reasonInWords(snapshot.reason) }]
  const memo = snapshot.memo?.trim()
  if (memo) notes.push({ label: 'Memo', text: memo })
  const invoiceDate = formatDate(snapshot.invoiceIssueDate, locale)
  return {
    title: 'Credit note',
    number: snapshot.number,
    currency: snapshot.currency,
    locale,
    from: snapshot.from,
    billTo: snapshot.billTo,
    items: snapshot.items,
    meta: [
      ['Number', snapshot.number],
      ['Issue date', formatDate(snapshot.issueDate, locale)],
      ['Invoice', snapshot.invoiceNumber],
    ],
    reference: `Credit note ${snapshot.number} — for invoice ${snapshot.invoiceNumber} of ${invoiceDate}`,
    headline: { label: 'Credit total', amount: snapshot.total, caption: null },
    totals: lineSumRows(snapshot, locale),
    result: { label: 'Credit total', amount: snapshot.total },
    afterResult,
    notes,
    subject: `Credit note ${snapshot.number} for invoice ${snapshot.invoiceNumber} to ${snapshot.billTo.name}`,
    date: issuedAt,
    identity: { ...snapshot, issuedAt: issuedAt.toISOString() },
  }
}
