import { Eta } from 'eta'
import { formatDate, formatMoney } from '../../lib/pdf/format'

/** What a message says, already formatted in the profile's locale: the templates only lay it out. */
export interface MessageView {
  /** `invoice`: the invoice itself; `reminder`: the same invoice, overdue; `credit_note`: a credit note. */
  kind: 'invoice' | 'reminder' | 'credit_note'
  /** "Invoice INV-0001" or "Credit note CN-0001". */
  title: string
  seller: string | null
  contactName: string | null
  customerName: string
  message: string | null
  total: string
  /** Formatted, while something is due on the invoice; null otherwise (and for credit notes). */
  amountDue: string | null
  dueDate: string | null
  daysOverdue: number | null
  /** For a credit note: the invoice it corrects. */
  invoiceNumber: string | null
  hostedUrl: string | null
  attached: boolean
  /** Only while something is due: nobody should pay an invoice that is settled. */
  paymentInstructions: string | null
  bankAccount: { iban: string; bic: string | null; accountName: string | null } | null
}

export interface DocumentFacts {
  kind: MessageView['kind']
  number: string
  currency: string
  total: number
  /** Invoices only. */
  amountDue?: number
  dueDate?: string
  invoiceNumber?: string
  customerName: string
  seller: string | null
  hostedUrl: string | null
}

export interface ProfileFacts {
  locale: string
  contactName: string | null
  paymentInstructions: string | null
  bankAccount: MessageView['bankAccount']
}

/** The default subject: "Invoice INV-0001 from Acme GmbH" (a reminder says so first). */
export function defaultSubject(facts: Pick<DocumentFacts, 'kind' | 'number' | 'seller'>): string {
  const what = facts.kind === 'credit_note' ? 'Credit note' : 'Invoice'
  const from = facts.seller ? ` from ${facts.seller}` : ''
  const subject = `${what} ${facts.number}${from}`
  // One line whatever the company name holds: the profile's text checks refuse line breaks already.
  return (facts.kind === 'reminder' ? `Reminder: ${subject} is overdue` : subject).replace(/[\r\n]+/g, ' ')
}

/** The view of a message: amounts and dates in `locale`, payment details only while something is due. */
export function messageView(
  facts: DocumentFacts,
  profile: ProfileFacts,
  extra: { message: string | null; attached: boolean; daysOverdue: number | null },
): MessageView {
  const { locale } = profile
  const due = facts.kind !== 'credit_note' && (facts.amountDue ?? 0) > 0
  return {
    kind: facts.kind,
    title: `${facts.kind === 'credit_note' ? 'Credit note' : 'Invoice'} ${facts.number}`,
    seller: facts.seller,
    contactName: profile.contactName,
    customerName: facts.customerName,
    message: extra.message,
    total: formatMoney(facts.total, facts.currency, locale),
    amountDue: due ? formatMoney(facts.amountDue ?? 0, facts.currency, locale) : null,
    dueDate: facts.dueDate ? formatDate(facts.dueDate, locale) : null,
    daysOverdue: extra.daysOverdue,
    invoiceNumber: facts.invoiceNumber ?? null,
    hostedUrl: facts.hostedUrl,
    attached: extra.attached,
    paymentInstructions: due ? profile.paymentInstructions : null,
    bankAccount: due ? profile.bankAccount : null,
  }
}

/*
 * One template per part. The HTML one escapes every value (autoEscape); the text one must not, or a customer
 * named "Smith & Sons" would read "Smith &amp; Sons".
 */
const TEXT = `Hello <%= it.customerName %>,

<% if (it.message) { -%>
<%= it.message %>

<% } -%>
<% if (it.kind === 'reminder') { -%>
This is a friendly reminder that <%= it.title %><%= it.seller ? ' from ' + it.seller : '' %> was due on <%= it.dueDate %> and is <%= it.daysOverdue %> day<%= it.daysOverdue === 1 ? '' : 's' %> overdue.
<% } else if (it.kind === 'credit_note') { -%>
Please find <%= it.title %><%= it.invoiceNumber ? ' for invoice ' + it.invoiceNumber : '' %><%= it.seller ? ' from ' + it.seller : '' %><%= it.attached ? ' attached' : ' below' %>.
<% } else { -%>
Please find <%= it.title %><%= it.seller ? ' from ' + it.seller : '' %><%= it.attached ? ' attached' : ' below' %>.
<% } -%>

Total: <%= it.total %>
<% if (it.amountDue) { -%>
Amount due: <%= it.amountDue %><%= it.dueDate ? ', due ' + it.dueDate : '' %>
<% } -%>
<% if (it.hostedUrl) { -%>

View it online: <%= it.hostedUrl %>
<% } -%>
<% if (it.paymentInstructions) { -%>

How to pay:
<%= it.paymentInstructions %>
<% } -%>
<% if (it.bankAccount) { -%>

Bank account:
IBAN: <%= it.bankAccount.iban %>
<% if (it.bankAccount.bic) { -%>
BIC: <%= it.bankAccount.bic %>
<% } -%>
<% if (it.bankAccount.accountName) { -%>
Account name: <%= it.bankAccount.accountName %>
<% } -%>
<% } -%>

Kind regards,
<% if (it.contactName) { -%>
<%= it.contactName %>
<% } -%>
<% if (it.seller) { -%>
<%= it.seller %>
<% } -%>
`

const HTML = `<!doctype html>
<html lang="<%= it.lang %>">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title><%= it.title %></title></head>
<body style="margin:0;padding:24px;background:#f6f7f9;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#1f2933;line-height:1.5">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:24px">
<p>Hello <%= it.customerName %>,</p>
<% if (it.message) { %>
<p style="white-space:pre-line"><%= it.message %></p>
<% } %>
<% if (it.kind === 'reminder') { %>
<p>This is a friendly reminder that <strong><%= it.title %></strong><%= it.seller ? ' from ' + it.seller : '' %> was due on <%= it.dueDate %> and is <%= it.daysOverdue %> day<%= it.daysOverdue === 1 ? '' : 's' %> overdue.</p>
<% } else if (it.kind === 'credit_note') { %>
<p>Please find <strong><%= it.title %></strong><%= it.invoiceNumber ? ' for invoice ' + it.invoiceNumber : '' %><%= it.seller ? ' from ' + it.seller : '' %><%= it.attached ? ' attached' : ' below' %>.</p>
<% } else { %>
<p>Please find <strong><%= it.title %></strong><%= it.seller ? ' from ' + it.seller : '' %><%= it.attached ? ' attached' : ' below' %>.</p>
<% } %>
<table role="presentation" style="border-collapse:collapse;margin:16px 0">
<tr><td style="padding:4px 16px 4px 0">Total</td><td style="padding:4px 0;text-align:right"><%= it.total %></td></tr>
<% if (it.amountDue) { %>
<tr><td style="padding:4px 16px 4px 0"><strong>Amount due</strong></td><td style="padding:4px 0;text-align:right"><strong><%= it.amountDue %></strong></td></tr>
<% if (it.dueDate) { %>
<tr><td style="padding:4px 16px 4px 0">Due</td><td style="padding:4px 0;text-align:right"><%= it.dueDate %></td></tr>
<% } %>
<% } %>
</table>
<% if (it.hostedUrl) { %>
<p><a href="<%= it.hostedUrl %>" style="display:inline-block;background:#1f4fd1;color:#ffffff;text-decoration:none;padding:10px 16px;border-radius:6px">View <%= it.title %></a></p>
<p style="font-size:13px;color:#52606d">Or open this link: <a href="<%= it.hostedUrl %>"><%= it.hostedUrl %></a></p>
<% } %>
<% if (it.paymentInstructions) { %>
<h2 style="font-size:16px;margin:24px 0 8px">How to pay</h2>
<p style="white-space:pre-line"><%= it.paymentInstructions %></p>
<% } %>
<% if (it.bankAccount) { %>
<h2 style="font-size:16px;margin:24px 0 8px">Bank account</h2>
<p>IBAN: <%= it.bankAccount.iban %><% if (it.bankAccount.bic) { %><br>BIC: <%= it.bankAccount.bic %><% } %><% if (it.bankAccount.accountName) { %><br>Account name: <%= it.bankAccount.accountName %><% } %></p>
<% } %>
<p>Kind regards,<% if (it.contactName) { %><br><%= it.contactName %><% } %><% if (it.seller) { %><br><%= it.seller %><% } %></p>
</div>
</body>
</html>
`

// Lines are laid out as written: only the control tags (`-%>`) eat their line break.
const text = new Eta({ autoEscape: false, autoTrim: false, useWith: false, cache: true })
const html = new Eta({ autoEscape: true, useWith: false, cache: true })
text.loadTemplate('@message', TEXT)
html.loadTemplate('@message', HTML)

/** The text and HTML parts of a message. */
export function renderMessage(view: MessageView, locale: string): { text: string; html: string } {
  const lang = locale.split('-')[0] ?? 'en'
  return {
    text: text.render('@message', view).replace(/\n{3,}/g, '\n\n'),
    html: html.render('@message', { ...view, lang }),
  }
}
