import { AppError } from '../../shared/errors'
import type { EventType } from '../webhooks/model'

/**
 * The invoice lifecycle as one table (API.md "Lifecycle"): what each status allows, which status a balance
 * means, and the event entering a status writes. Every action checks here; the status and event types, the
 * route descriptions and the database's CHECK lists come from these lists (migrations copy them at the time
 * they are written, and `tests/api/lifecycle.test.ts` compares the database with this file).
 */
export const STATUSES = ['draft', 'sent', 'partially_paid', 'paid', 'void', 'credited'] as const
export type InvoiceStatus = (typeof STATUSES)[number]

export const ACTIONS = ['update', 'delete', 'send', 'pay', 'void', 'credit', 'email', 'share'] as const
export type InvoiceAction = (typeof ACTIONS)[number]

/** What an action's guard sees besides the status. */
export interface Balance {
  total: number
  amountPaid: number
  creditedTotal: number
}

type Rule = true | ((balance: Balance) => boolean)

/**
 * Allowed actions per status; an action absent from a status is refused with 409 INVALID_STATUS_TRANSITION.
 * Void is for sent invoices nobody paid or credited; a correction after that is a credit note.
 */
export const LIFECYCLE: Readonly<Record<InvoiceStatus, Partial<Record<InvoiceAction, Rule>>>> = {
  draft: { update: true, delete: true, send: true },
  sent: {
    pay: true,
    credit: true,
    email: true,
    share: true,
    void: (balance) => balance.amountPaid === 0 && balance.creditedTotal === 0,
  },
  partially_paid: { pay: true, credit: true, email: true, share: true },
  paid: { credit: true, email: true, share: true },
  // The hosted page of a void or credited invoice still shows its status, so its link may be rotated.
  void: { share: true },
  credited: { share: true },
}

/** How a refusal reads: "A paid invoice cannot be voided". */
const REFUSED: Record<InvoiceAction, string> = {
  update: 'changed',
  delete: 'deleted',
  send: 'sent',
  pay: 'paid: it takes no payments',
  void: 'voided',
  credit: 'credited',
  email: 'emailed',
  share: 'shared: it has no hosted page until it is issued',
}

export const statusesAllowing = (action: InvoiceAction): InvoiceStatus[] =>
  STATUSES.filter((status) => LIFECYCLE[status][action] !== undefined)

export function isAllowed(status: InvoiceStatus, action: InvoiceAction, balance?: Balance): boolean {
  const rule = LIFECYCLE[status][action]
  if (rule === undefined) return false
  if (rule === true) return true
  return balance !== undefined && rule(balance)
}

/** Throws 409 INVALID_STATUS_TRANSITION unless `status` allows `action` (with `balance` for guarded ones). */
export function assertAllowed(
  invoice: { status: InvoiceStatus } & Partial<Balance>,
  action: InvoiceAction,
): void {
  const balance =
    invoice.total === undefined || invoice.amountPaid === undefined || invoice.creditedTotal === undefined
      ? undefined
      : { total: invoice.total, amountPaid: invoice.amountPaid, creditedTotal: invoice.creditedTotal }
  if (isAllowed(invoice.status, action, balance)) return
  const what = invoice.status.replace('_', ' ')
  const article = /^[aeiou]/.test(what) ? 'An' : 'A'
  throw new AppError('INVALID_STATUS_TRANSITION', `${article} ${what} invoice cannot be ${REFUSED[action]}`)
}

/** What is still due: never below zero, since credits and payments may together pass the total (a refund). */
export const amountDue = (balance: Balance): number =>
  Math.max(0, balance.total - balance.amountPaid - balance.creditedTotal)

/**
 * The status an issued invoice's balance means: `credited` once its credit notes reach its total, else `paid`
 * when nothing is due, `partially_paid` when something was paid, `sent` otherwise.
 */
export function statusOf(balance: Balance): 'sent' | 'partially_paid' | 'paid' | 'credited' {
  if (balance.creditedTotal > 0 && balance.creditedTotal === balance.total) return 'credited'
  if (amountDue(balance) === 0) return 'paid'
  return balance.amountPaid > 0 ? 'partially_paid' : 'sent'
}

/** The event that entering a status writes (drafts are `created`; partial payment is `payment_recorded`). */
export const ENTRY_EVENTS = {
  sent: 'sent',
  paid: 'paid',
  void: 'voided',
  credited: 'credited',
} as const satisfies Partial<Record<InvoiceStatus, string>>

/** The webhook event that entering a status writes (API.md "Webhooks"); drafts announce created/updated/deleted. */
export const STATUS_WEBHOOK_EVENTS = {
  sent: 'invoice.sent',
  partially_paid: 'invoice.partially_paid',
  paid: 'invoice.paid',
  void: 'invoice.voided',
  credited: 'invoice.credited',
} as const satisfies Partial<Record<InvoiceStatus, EventType>>

/** Every event type, in the order of a typical trail: the entry events above and the changes in between. */
export const EVENT_TYPES = [
  'created',
  'updated',
  'sent',
  'payment_recorded',
  'paid',
  'voided',
  'credited',
  'emailed',
  'email_failed',
  'reminder_sent',
  'pdf_regenerated',
] as const satisfies readonly string[]
export type InvoiceEventType = (typeof EVENT_TYPES)[number]
// Every entry event is an event type: the compiler refuses an ENTRY_EVENTS value missing from the list.
const _entryEventsListed: readonly InvoiceEventType[] = Object.values(ENTRY_EVENTS)
void _entryEventsListed

export const PAYMENT_METHODS = ['bank_transfer', 'card', 'cash', 'check', 'other'] as const
export type PaymentMethod = (typeof PAYMENT_METHODS)[number]

export const CREDIT_REASONS = [
  'duplicate',
  'fraudulent',
  'order_change',
  'product_unsatisfactory',
  'other',
] as const
export type CreditReason = (typeof CREDIT_REASONS)[number]
