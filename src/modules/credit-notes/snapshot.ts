import type { CreditNoteSnapshot } from '../../lib/pdf'
import { billToSnapshot, itemSnapshot, sellerSnapshot } from '../issuing/snapshot'
import type { CreditNoteRecord } from './repository'

/** What the PDF shows, from the frozen note only, so that rendering it again gives the same bytes. */
export function toSnapshot(note: CreditNoteRecord): CreditNoteSnapshot {
  return {
    kind: 'credit_note',
    number: note.number,
    invoiceNumber: note.invoiceNumber,
    invoiceIssueDate: note.invoiceIssueDate,
    currency: note.currency,
    issueDate: note.issueDate,
    issuedAt: note.issuedAt,
    reason: note.reason,
    memo: note.memo,
    discountPercent: note.discountPercent,
    from: sellerSnapshot(note.seller),
    billTo: billToSnapshot(note.billTo),
    items: note.items.map(itemSnapshot),
    subtotal: note.subtotal,
    discountTotal: note.discountTotal,
    taxTotal: note.taxTotal,
    total: note.total,
    appliedToBalance: note.appliedToBalance,
    refundDue: note.refundDue,
  }
}
