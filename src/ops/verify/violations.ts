/** What `db:verify` can find wrong, one kind per invariant of API.md ("Running it"). */
export const VIOLATION_KINDS = [
  // Gapless unique numbers per user and series (invoices, credit notes).
  'number_gap',
  'number_duplicate',
  'number_format',
  'number_counter',
  // Totals are the sums of the lines, and each line follows from its quantity, price and rates.
  'invoice_totals',
  'item_total',
  'item_amounts',
  'item_owner',
  // Payments.
  'amount_paid',
  'overpaid',
  'status',
  'payment_mismatch',
  // Credit notes: the invoice's credited_total is the sum of its notes, each note the sum of its lines and of its
  // invoice's user, currency, customer and lines, and the credits of an invoice line never pass the line.
  'credited_total',
  'credit_note_totals',
  'credit_note_mismatch',
  'credit_exceeds_line',
  // The trigger-kept report tables against a recount.
  'report_open_balances',
  'report_draft_counts',
  'report_daily_totals',
  'report_monthly_totals',
  // Issued documents in the object store.
  'pdf_metadata',
  'object_missing',
  'object_mismatch',
  'object_unreadable',
] as const

export type ViolationKind = (typeof VIOLATION_KINDS)[number]

export interface Violation {
  kind: ViolationKind
  userId: string
  /** The invoice concerned (the one a credit note corrects); null for a user's counter or a report-table row. */
  invoiceId: string | null
  /** The credit note concerned, when it is one. */
  creditNoteId?: string | undefined
  /** The number of the document concerned: the credit note's when there is one. */
  number: string | null
  /** What within it: a line (`line 3`), a report row (`EUR 2026-01-10`), an object key. */
  subject?: string | undefined
  expected: string
  found: string
}

const quoted = (value: string) => (/^[^\s"=]*$/.test(value) && value !== '' ? value : JSON.stringify(value))

/** One line per violation: the kind first, then `name=value` fields (values with spaces are JSON strings). */
export function formatViolation(violation: Violation): string {
  const fields = [
    violation.kind,
    `user=${violation.userId}`,
    `invoice=${violation.invoiceId ?? '-'}`,
    ...(violation.creditNoteId === undefined ? [] : [`credit_note=${violation.creditNoteId}`]),
    `number=${quoted(violation.number ?? '-')}`,
    ...(violation.subject === undefined ? [] : [`at=${quoted(violation.subject)}`]),
    `expected=${quoted(violation.expected)}`,
    `found=${quoted(violation.found)}`,
  ]
  return fields.join(' ')
}
