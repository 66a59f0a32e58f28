import { reasonInWords } from '../../lib/pdf/credit-note-view'
import {
  addressLines,
  DEFAULT_LOCALE,
  formatDate,
  formatMoney,
  formatPercent,
  formatQuantity,
} from '../../lib/pdf/format'
import type { Address } from '../../lib/pdf/types'
import type { CreditNote } from '../credit-notes/model'
import { isAllowed } from '../invoices/lifecycle'
import type { Invoice } from '../invoices/model'
import type { Me } from '../me/model'

/*
 * What a hosted page shows, as display text: amounts, quantities, rates and dates already formatted in the
 * profile's locale, so that the templates only place and escape text. Pure functions of the answers the owning
 * modules give (the invoice or credit note, and the profile).
 */

type Profile = Me['profile']

export interface Party {
  name: string
  lines: string[]
}

export interface LineView {
  description: string
  quantity: string
  unitPrice: string
  taxRate: string
  total: string
}

export interface TotalRow {
  label: string
  amount: string
  /** The row that says what is owed (amount due, refund due): drawn stronger. */
  strong?: boolean
}

/** `tone` picks the banner's colours; `title` is also what the page's heading area says first. */
export interface Banner {
  tone: 'paid' | 'void' | 'credited' | 'overdue' | 'open' | 'info'
  title: string
  text: string
}

export interface PaymentView {
  instructions: string | null
  bank: { iban: string; bic: string | null; accountName: string | null } | null
}

export interface DocumentPage {
  kind: 'invoice' | 'credit-note'
  locale: string
  /** The document's title as the page's `<title>` and heading say it: "Invoice INV-0001". */
  title: string
  heading: string
  number: string
  banner: Banner
  facts: { label: string; value: string }[]
  from: Party
  billTo: Party
  lines: LineView[]
  totals: TotalRow[]
  notes: { label: string; text: string }[]
  payment: PaymentView | null
  pdfPath: string
}

/**
 * The profile's locale when the runtime's Intl knows it, else en-US: a stored tag that passes the profile's
 * pattern but names nothing Intl accepts must not turn the page into a 500.
 */
export function pageLocale(locale: string | null | undefined): string {
  if (!locale) return DEFAULT_LOCALE
  try {
    const [canonical] = Intl.getCanonicalLocales(locale)
    if (canonical && Intl.NumberFormat.supportedLocalesOf([canonical]).length > 0) return canonical
  } catch {}
  return DEFAULT_LOCALE
}

/** "DE89370400440532013000" → "DE89 3704 0044 0532 0130 00", the way IBANs are printed (ISO 13616). */
export function formatIban(iban: string): string {
  return (
    iban
      .replace(/\s+/g, '')
      .toUpperCase()
      .match(/.{1,4}/g)
      ?.join(' ') ?? iban
  )
}

function party(
  name: string | null,
  details: { email: string | null; phone?: string | null; taxId: string | null; address: Address | null },
  locale: string,
  extra: string[] = [],
): Party {
  const lines = [...addressLines(details.address, locale), ...extra]
  if (details.email) lines.push(details.email)
  if (details.phone) lines.push(details.phone)
  if (details.taxId) lines.push(`Tax ID: ${details.taxId}`)
  return { name: name?.trim() || '—', lines }
}

function lineViews(
  items: readonly {
    description: string
    quantity: number
    unitPrice: number
    taxRate: number
    total: number
  }[],
  currency: string,
  locale: string,
): LineView[] {
  return items.map((item) => ({
    description: item.description,
    quantity: formatQuantity(item.quantity, locale),
    unitPrice: formatMoney(item.unitPrice, currency, locale),
    taxRate: formatPercent(item.taxRate, locale),
    total: formatMoney(item.total, currency, locale),
  }))
}

function invoiceBanner(invoice: Invoice, locale: string): Banner {
  const money = (minor: number) => formatMoney(minor, invoice.currency, locale)
  const due = formatDate(invoice.dueDate, locale)
  switch (invoice.status) {
    case 'paid':
      return { tone: 'paid', title: 'Paid', text: 'This invoice is paid in full. Nothing is due.' }
    case 'void':
      return { tone: 'void', title: 'Void', text: 'This invoice was voided. It is not payable.' }
    case 'credited': {
      const notes = invoice.creditNotes.map((note) => note.number).join(', ')
      return {
        tone: 'credited',
        title: 'Credited',
        text: `This invoice was credited in full${notes ? ` (${notes})` : ''}. Nothing is due.`,
      }
    }
    default:
      if (invoice.isOverdue) {
        return { tone: 'overdue', title: 'Overdue', text: `${money(invoice.amountDue)} was due on ${due}.` }
      }
      return invoice.status === 'partially_paid'
        ? {
            tone: 'open',
            title: 'Partially paid',
            text: `${money(invoice.amountDue)} is still due, by ${due}.`,
          }
        : { tone: 'open', title: 'Open', text: `${money(invoice.amountDue)} is due by ${due}.` }
  }
}

/** Payment details only while something is due: never on a void, credited or paid invoice. */
function paymentView(invoice: Invoice, profile: Profile): PaymentView | null {
  const payable = isAllowed(invoice.status, 'pay') && invoice.amountDue > 0
  if (!payable) return null
  const instructions = profile.paymentInstructions?.trim() || null
  const account = profile.bankAccount
  const bank = account
    ? { iban: formatIban(account.iban), bic: account.bic || null, accountName: account.accountName || null }
    : null
  return instructions || bank ? { instructions, bank } : null
}

const contactLine = (profile: Profile) => (profile.contactName ? [`Contact: ${profile.contactName}`] : [])

export function invoicePage(invoice: Invoice, profile: Profile, pdfPath: string): DocumentPage {
  const locale = pageLocale(profile.locale)
  const money = (minor: number) => formatMoney(minor, invoice.currency, locale)
  const number = invoice.number ?? ''
  const totals: TotalRow[] = [{ label: 'Subtotal', amount: money(invoice.subtotal) }]
  if (invoice.discountTotal !== 0) {
    totals.push({
      label: `Discount (${formatPercent(invoice.discountPercent, locale)})`,
      amount: money(-invoice.discountTotal),
    })
  }
  totals.push(
    { label: 'Tax', amount: money(invoice.taxTotal) },
    { label: 'Total', amount: money(invoice.total) },
  )
  if (invoice.amountPaid !== 0) totals.push({ label: 'Amount paid', amount: money(-invoice.amountPaid) })
  if (invoice.creditedTotal !== 0) totals.push({ label: 'Credited', amount: money(-invoice.creditedTotal) })
  totals.push({ label: 'Amount due', amount: money(invoice.amountDue), strong: true })
  const notes = invoice.notes?.trim() ? [{ label: 'Notes', text: invoice.notes.trim() }] : []
  return {
    kind: 'invoice',
    locale,
    title: `Invoice ${number}`,
    heading: 'Invoice',
    number,
    banner: invoiceBanner(invoice, locale),
    facts: [
      { label: 'Invoice number', value: number },
      { label: 'Issue date', value: formatDate(invoice.issueDate, locale) },
      { label: 'Due date', value: formatDate(invoice.dueDate, locale) },
      { label: 'Amount due', value: money(invoice.amountDue) },
    ],
    from: party(invoice.from.companyName, invoice.from, locale, contactLine(profile)),
    billTo: party(invoice.billTo.name, invoice.billTo, locale),
    lines: lineViews(invoice.items, invoice.currency, locale),
    totals,
    notes,
    payment: paymentView(invoice, profile),
    pdfPath,
  }
}

export function creditNotePage(
  note: CreditNote,
  invoiceIssueDate: string,
  profile: Profile,
  pdfPath: string,
): DocumentPage {
  const locale = pageLocale(profile.locale)
  const money = (minor: number) => formatMoney(minor, note.currency, locale)
  const totals: TotalRow[] = [{ label: 'Subtotal', amount: money(note.subtotal) }]
  if (note.discountTotal !== 0) totals.push({ label: 'Discount', amount: money(-note.discountTotal) })
  totals.push(
    { label: 'Tax', amount: money(note.taxTotal) },
    { label: 'Total credited', amount: money(note.total) },
    { label: 'Applied to balance', amount: money(note.appliedToBalance) },
    { label: 'Refund due', amount: money(note.refundDue), strong: true },
  )
  const notes = [{ label: 'Reason', text: reasonInWords(note.reason) }]
  if (note.memo?.trim()) notes.push({ label: 'Memo', text: note.memo.trim() })
  const corrects = `${note.invoiceNumber} of ${formatDate(invoiceIssueDate, locale)}`
  const banner: Banner =
    note.refundDue > 0
      ? {
          tone: 'info',
          title: 'Refund due',
          text: `This credit note corrects invoice ${corrects}. ${money(note.refundDue)} will be refunded.`,
        }
      : {
          tone: 'info',
          title: 'Credit note',
          text: `This credit note corrects invoice ${corrects}. Nothing is refunded: it lowers what is due.`,
        }
  return {
    kind: 'credit-note',
    locale,
    title: `Credit note ${note.number}`,
    heading: 'Credit note',
    number: note.number,
    banner,
    facts: [
      { label: 'Credit note number', value: note.number },
      { label: 'Issue date', value: formatDate(note.issueDate, locale) },
      { label: 'For invoice', value: corrects },
      { label: 'Total credited', value: money(note.total) },
    ],
    from: party(note.from.companyName, note.from, locale, contactLine(profile)),
    billTo: party(note.billTo.name, note.billTo, locale),
    lines: lineViews(note.items, note.currency, locale),
    totals,
    notes,
    payment: null,
    pdfPath,
  }
}
