import { sql } from 'kysely'
import { type Check, listViolations, resultOf } from './context'

/** Invoices by user and number, drafts last. */
const ORDER = sql`user_id, number_seq nulls last, id`

import type { Violation } from './violations'

/**
 * Each invoice's subtotal, discount, tax and total are the sums of its lines (a draft without lines sums to
 * zero), and its total is subtotal − discount + tax.
 */
export const checkInvoiceTotals: Check = async (db, context) => {
  const rows = await listViolations<{
    user_id: string
    id: string
    number: string | null
    kept: string
    summed: string
    adds_up: boolean
  }>(
    db,
    context,
    sql`
      select i.user_id, i.id, i.number, i.number_seq,
             concat_ws(' ', 'subtotal=' || i.subtotal, 'discount=' || i.discount_total,
                       'tax=' || i.tax_total, 'total=' || i.total) as kept,
             concat_ws(' ', 'subtotal=' || coalesce(l.subtotal, 0), 'discount=' || coalesce(l.discount, 0),
                       'tax=' || coalesce(l.tax, 0), 'total=' || coalesce(l.total, 0),
                       '(' || coalesce(l.lines, 0) || ' lines)') as summed,
             i.total = i.subtotal - i.discount_total + i.tax_total as adds_up
        from invoices i
        left join (
          select invoice_id, sum(subtotal) as subtotal, sum(discount) as discount, sum(tax) as tax,
                 sum(total) as total, count(*) as lines
            from invoice_items
           where ${context.scope('user_id')}
           group by invoice_id
        ) l on l.invoice_id = i.id
       where ${context.scope('i.user_id')}
         and ((i.subtotal, i.discount_total, i.tax_total, i.total)
                <> (coalesce(l.subtotal, 0), coalesce(l.discount, 0), coalesce(l.tax, 0), coalesce(l.total, 0))
              or i.total <> i.subtotal - i.discount_total + i.tax_total)`,
    ORDER,
  )
  return resultOf(rows, (row) => [
    {
      kind: 'invoice_totals',
      userId: row.user_id,
      invoiceId: row.id,
      number: row.number,
      expected: row.adds_up ? `the sums of its lines: ${row.summed}` : 'total = subtotal − discount + tax',
      found: row.kept,
    },
  ])
}

/**
 * Each line as the API computes it (API.md "Money arithmetic"): subtotal = round(quantity × unitPrice),
 * discount = round(subtotal × the invoice's discountPercent / 100), tax = round((subtotal − discount) × taxRate
 * / 100), total = subtotal − discount + tax, rounding halves away from zero as PostgreSQL's numeric `round`
 * does. A line whose amounts no longer follow from its inputs is stale (`item_amounts`). Lines belong to their
 * invoice's user.
 */
export const checkLines: Check = async (db, context) => {
  const rows = await listViolations<{
    user_id: string
    item_user_id: string
    id: string
    number: string | null
    position: number
    kept: string
    computed: string
    inputs: string
    adds_up: boolean
    follows: boolean
  }>(
    db,
    context,
    sql`
      select user_id, item_user_id, id, number, number_seq, position, kept, computed, inputs, adds_up, follows
        from (
          select i.user_id, it.user_id as item_user_id, i.id, i.number, i.number_seq, it.position,
                 concat_ws(' ', 'subtotal=' || it.subtotal, 'discount=' || it.discount, 'tax=' || it.tax,
                           'total=' || it.total) as kept,
                 concat_ws(' ', 'subtotal=' || p.subtotal, 'discount=' || p.discount, 'tax=' || p.tax,
                           'total=' || (p.subtotal - p.discount + p.tax)) as computed,
                 concat_ws(' ', 'quantity=' || it.quantity, 'unitPrice=' || it.unit_price,
                           'taxRate=' || it.tax_rate, 'discountPercent=' || i.discount_percent) as inputs,
                 it.total = it.subtotal - it.discount + it.tax as adds_up,
                 (it.subtotal, it.discount, it.tax) = (p.subtotal, p.discount, p.tax) as follows,
                 it.user_id = i.user_id as owned
            from invoice_items it
            join invoices i on i.id = it.invoice_id
           cross join lateral (
             select s.subtotal, d.discount, round((s.subtotal - d.discount) * it.tax_rate / 100) as tax
               from (select round(it.quantity * it.unit_price) as subtotal) s
              cross join lateral (select round(s.subtotal * i.discount_percent / 100) as discount) d
           ) p
           where ${context.scope('i.user_id')}
        ) lines
       where not (adds_up and follows and owned)`,
    sql`user_id, number_seq nulls last, id, position`,
  )
  return resultOf(rows, (row) => {
    const base = {
      userId: row.user_id,
      invoiceId: row.id,
      number: row.number,
      subject: `line ${row.position}`,
    }
    const found: Violation[] = []
    if (row.item_user_id !== row.user_id) {
      found.push({
        ...base,
        kind: 'item_owner',
        expected: `user ${row.user_id}`,
        found: `user ${row.item_user_id}`,
      })
    }
    if (!row.adds_up) {
      found.push({
        ...base,
        kind: 'item_total',
        expected: 'total = subtotal − discount + tax',
        found: row.kept,
      })
    }
    if (!row.follows) {
      found.push({
        ...base,
        kind: 'item_amounts',
        expected: `${row.computed} from ${row.inputs}`,
        found: row.kept,
      })
    }
    return found
  })
}

/**
 * Payments: `amount_paid` is the sum of the invoice's payments, never above its total; payments carry their
 * invoice's user and currency; and the status follows the amounts (API.md "Lifecycle", "Credit notes"), what is
 * due being total − amount_paid − credited_total: draft and void have nothing paid or credited, sent has nothing
 * paid and something due (a zero total is issued straight to paid), partially_paid has some paid and something
 * due, paid has nothing due, credited has credit notes adding up to its total (and only it has);
 * `sent_at` is set once issued, `paid_at` exactly when paid (and perhaps when credited after a payment),
 * `voided_at` exactly when void.
 */
export const checkPayments: Check = async (db, context) => {
  const rows = await listViolations<{
    user_id: string
    id: string
    number: string | null
    status: string
    currency: string
    total: string
    amount_paid: string
    credited_total: string
    paid: string
    payments: number
    foreign_payments: string | null
    sent_at: boolean
    paid_at: boolean
    voided_at: boolean
    status_ok: boolean
  }>(
    db,
    context,
    sql`
      select user_id, id, number, number_seq, status, currency, total, amount_paid, credited_total, paid, payments,
             foreign_payments, sent_at, paid_at, voided_at, status_ok
        from (
          select i.user_id, i.id, i.number, i.number_seq, i.status, i.currency,
                 i.total::text as total, i.amount_paid::text as amount_paid,
                 i.credited_total::text as credited_total,
                 coalesce(p.paid, 0)::text as paid, coalesce(p.payments, 0)::int as payments,
                 nullif(concat_ws(', ',
                   case when p.min_currency <> i.currency or p.max_currency <> i.currency
                        then 'currency ' || concat_ws('/', p.min_currency, nullif(p.max_currency, p.min_currency))
                   end,
                   case when p.min_user <> i.user_id::text or p.max_user <> i.user_id::text
                        then 'user ' || concat_ws('/', p.min_user, nullif(p.max_user, p.min_user))
                   end), '') as foreign_payments,
                 i.sent_at is not null as sent_at, i.paid_at is not null as paid_at,
                 i.voided_at is not null as voided_at,
                 coalesce(case i.status
                   when 'draft' then i.amount_paid = 0 and p.invoice_id is null and i.credited_total = 0
                     and i.sent_at is null and i.paid_at is null and i.voided_at is null
                   when 'sent' then i.amount_paid = 0 and i.amount_paid + i.credited_total < i.total
                     and i.sent_at is not null and i.paid_at is null and i.voided_at is null
                   when 'partially_paid' then i.amount_paid > 0 and i.amount_paid + i.credited_total < i.total
                     and i.sent_at is not null and i.paid_at is null and i.voided_at is null
                   when 'paid' then i.amount_paid + i.credited_total >= i.total
                     and not (i.credited_total > 0 and i.credited_total = i.total)
                     and i.sent_at is not null and i.paid_at is not null and i.voided_at is null
                   when 'void' then i.amount_paid = 0 and p.invoice_id is null and i.credited_total = 0
                     and i.sent_at is not null and i.paid_at is null and i.voided_at is not null
                   when 'credited' then i.credited_total > 0 and i.credited_total = i.total
                     and i.sent_at is not null and i.voided_at is null
                 end, false) as status_ok,
                 i.amount_paid = coalesce(p.paid, 0) and i.amount_paid <= greatest(i.total, 0)
                   and coalesce(p.paid, 0) <= greatest(i.total, 0) as amounts_ok
            from invoices i
            left join (
              select invoice_id, sum(amount) as paid, count(*) as payments,
                     min(currency) as min_currency, max(currency) as max_currency,
                     min(user_id::text) as min_user, max(user_id::text) as max_user
                from payments
               where ${context.scope('user_id')}
               group by invoice_id
            ) p on p.invoice_id = i.id
           where ${context.scope('i.user_id')}
        ) checked
       where not (amounts_ok and status_ok) or foreign_payments is not null`,
    ORDER,
  )

  return resultOf(rows, (row) => {
    const base = { userId: row.user_id, invoiceId: row.id, number: row.number }
    const found: Violation[] = []
    const paid = BigInt(row.paid)
    const amountPaid = BigInt(row.amount_paid)
    const credited = BigInt(row.credited_total)
    const total = BigInt(row.total)
    if (amountPaid !== paid) {
      found.push({
        ...base,
        kind: 'amount_paid',
        expected: `amount_paid ${paid} (the sum of ${row.payments} payments)`,
        found: `amount_paid ${amountPaid}`,
      })
    }
    const most = total > 0n ? total : 0n
    if (amountPaid > most || paid > most) {
      found.push({
        ...base,
        kind: 'overpaid',
        expected: `paid ≤ total ${total}`,
        found: `amount_paid ${amountPaid}, payments ${paid}`,
      })
    }
    if (row.foreign_payments !== null) {
      found.push({
        ...base,
        kind: 'payment_mismatch',
        expected: `payments in ${row.currency} of user ${row.user_id}`,
        found: row.foreign_payments,
      })
    }
    if (!row.status_ok) {
      found.push({
        ...base,
        kind: 'status',
        expected: expectedState(row.status, { amountPaid, credited, total, payments: row.payments }),
        found: [
          `status ${row.status}`,
          `amount_paid ${amountPaid} of ${total}`,
          `credited_total ${credited}`,
          `${row.payments} payments`,
          `sent_at ${row.sent_at ? 'set' : 'null'}`,
          `paid_at ${row.paid_at ? 'set' : 'null'}`,
          `voided_at ${row.voided_at ? 'set' : 'null'}`,
        ].join(', '),
      })
    }
    return found
  })
}

/** What the status and its timestamps should be, given the amounts (the status itself for draft and void). */
function expectedState(
  status: string,
  {
    amountPaid,
    credited,
    total,
    payments,
  }: { amountPaid: bigint; credited: bigint; total: bigint; payments: number },
): string {
  if (status === 'draft')
    return 'status draft: nothing paid or credited, no payments, sent_at/paid_at/voided_at null'
  if (status === 'void')
    return 'status void: nothing paid or credited, no payments, sent_at and voided_at set, paid_at null'
  if (credited > 0n && credited === total) return 'status credited: sent_at set, voided_at null'
  if (payments === 0 && amountPaid === 0n && credited < total)
    return 'status sent: sent_at set, paid_at/voided_at null'
  if (amountPaid + credited >= total) return 'status paid: sent_at and paid_at set, voided_at null'
  if (amountPaid > 0n) return 'status partially_paid: sent_at set, paid_at/voided_at null'
  return 'a status that fits the amounts'
}

/**
 * Issued invoices record their stored document (key, SHA-256, size); drafts have none yet.
 */
export const checkPdfMetadata: Check = async (db, context) => {
  const rows = await listViolations<{
    user_id: string
    id: string
    number: string | null
    status: string
    has_key: boolean
    has_sha256: boolean
    has_size: boolean
  }>(
    db,
    context,
    sql`
      select user_id, id, number, number_seq, status, pdf_key is not null as has_key, pdf_sha256 is not null as has_sha256,
             pdf_size is not null as has_size
        from invoices
       where ${context.scope('user_id')}
         and case when status = 'draft' then pdf_key is not null
                  else pdf_key is null or pdf_sha256 is null or pdf_size is null end`,
    ORDER,
  )
  return resultOf(rows, (row) => [
    {
      kind: 'pdf_metadata',
      userId: row.user_id,
      invoiceId: row.id,
      number: row.number,
      expected:
        row.status === 'draft' ? 'a draft without a document' : 'pdf_key, pdf_sha256 and pdf_size set',
      found: `status ${row.status}: pdf_key ${row.has_key ? 'set' : 'null'}, pdf_sha256 ${
        row.has_sha256 ? 'set' : 'null'
      }, pdf_size ${row.has_size ? 'set' : 'null'}`,
    },
  ])
}
