import { DEFAULT_LOCALE, formatDate } from './format.ts'
import type { InvoiceSnapshot } from './types.ts'
import { type DocumentView, lineSumRows, timestamp } from './view.ts'

/** An invoice as the layout draws it: due date, amount paid and amount due, notes. */
export function invoiceView(snapshot: InvoiceSnapshot & { kind?: 'invoice' }): DocumentView {
  const locale = snapshot.locale ?? DEFAULT_LOCALE
  const sentAt = timestamp(snapshot.sentAt, 'sentAt')
  const dueDate = formatDate(snapshot.dueDate, locale)
  const totals = lineSumRows(snapshot, locale)
  totals.push({ label: 'Total', amount: snapshot.total, bold: true, ruleAbove: true })
  if (snapshot.amountPaid !== 0) totals.push({ label: 'Amount paid', amount: -snapshot.amountPaid })
  const notes = snapshot.notes?.trim() ?? ''
  return {
    title: 'Invoice',
    number: snapshot.number,
    currency: snapshot.currency,
    locale,
    from: snapshot.from,
    billTo: snapshot.billTo,
    items: snapshot.items,
    meta: [
      ['Number', snapshot.number],
      ['Issue date', formatDate(snapshot.issueDate, locale)],
      ['Due date', dueDate],
    ],
    reference: null,
    headline: { label: 'Amount due', amount: snapshot.amountDue, caption: `Due ${dueDate}` },
    totals,
    result: { label: 'Amount due', amount: snapshot.amountDue },
    afterResult: [],
    notes: notes ? [{ label: 'Notes', text: notes }] : [],
    subject: `Invoice ${snapshot.number} to ${snapshot.billTo.name}`,
    date: sentAt,
    // `kind` is left out (undefined keys are not hashed): an invoice is the same document with or without it.
    identity: { ...snapshot, kind: undefined, sentAt: sentAt.toISOString() },
  }
}
