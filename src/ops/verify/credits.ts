import { type RawBuilder, sql } from 'kysely'
import { type Check, listViolations, resultOf } from './context'
import type { Violation } from './violations'

/**
 * Credit notes (API.md "Credit notes", db/migrations/20261202100000_credit_notes.ts): the checks of the
 * database's deferred trigger `credit_notes_check`, over every row at once rather than each note at its commit.
 */

/** Each invoice's `credited_total` is the sum of its credit notes' totals (0 without any). */
export const checkCreditedTotals: Check = async (db, context) => {
  const rows = await listViolations<{
    user_id: string
    id: string
    number: string | null
    credited_total: string
    credited: string
    notes: number
  }>(
    db,
    context,
    sql`
      select i.user_id, i.id, i.number, i.number_seq, i.credited_total::text as credited_total,
             coalesce(c.credited, 0)::text as credited, coalesce(c.notes, 0)::int as notes
        from invoices i
        left join (
          select invoice_id, sum(total) as credited, count(*) as notes
            from credit_notes
           where ${context.scope('user_id')}
           group by invoice_id
        ) c on c.invoice_id = i.id
       where ${context.scope('i.user_id')} and i.credited_total <> coalesce(c.credited, 0)`,
    sql`user_id, number_seq nulls last, id`,
  )
  return resultOf(rows, (row) => [
    {
      kind: 'credited_total',
      userId: row.user_id,
      invoiceId: row.id,
      number: row.number,
      expected: `credited_total ${row.credited} (the sum of ${row.notes} credit notes)`,
      found: `credited_total ${row.credited_total}`,
    },
  ])
}

/**
 * Each credit note's subtotal, discount, tax and total are the sums of its lines, its total is subtotal −
 * discount + tax, and it belongs with its invoice: the same user, currency and customer, an issued invoice
 * (neither draft nor void), lines of its user that credit lines of that invoice.
 */
export const checkCreditNotes: Check = async (db, context) => {
  const rows = await listViolations<{
    user_id: string
    id: string
    invoice_id: string
    number: string
    kept: string
    summed: string
    adds_up: boolean
    sums_ok: boolean
    mismatch: string | null
  }>(
    db,
    context,
    sql`
      select user_id, id, invoice_id, number, number_seq, kept, summed, adds_up, sums_ok, mismatch
        from (
          select n.user_id, n.id, n.invoice_id, n.number, n.number_seq,
                 concat_ws(' ', 'subtotal=' || n.subtotal, 'discount=' || n.discount_total,
                           'tax=' || n.tax_total, 'total=' || n.total) as kept,
                 concat_ws(' ', 'subtotal=' || coalesce(l.subtotal, 0), 'discount=' || coalesce(l.discount, 0),
                           'tax=' || coalesce(l.tax, 0), 'total=' || coalesce(l.total, 0),
                           '(' || coalesce(l.lines, 0) || ' lines)') as summed,
                 n.total = n.subtotal - n.discount_total + n.tax_total as adds_up,
                 (n.subtotal, n.discount_total, n.tax_total, n.total)
                   = (coalesce(l.subtotal, 0), coalesce(l.discount, 0), coalesce(l.tax, 0), coalesce(l.total, 0))
                   as sums_ok,
                 nullif(concat_ws(', ',
                   case when i.user_id <> n.user_id then 'an invoice of user ' || i.user_id end,
                   case when i.currency <> n.currency then 'currency ' || n.currency || ' on an invoice in ' || i.currency end,
                   case when i.customer_id <> n.customer_id
                        then 'customer ' || n.customer_id || ' on an invoice of customer ' || i.customer_id end,
                   case when i.status in ('draft', 'void') then 'a ' || i.status || ' invoice' end,
                   case when l.foreign_users > 0 then l.foreign_users || ' lines of another user' end,
                   case when l.foreign_items > 0 then l.foreign_items || ' lines crediting lines of another invoice' end
                 ), '') as mismatch
            from credit_notes n
            join invoices i on i.id = n.invoice_id
            left join (
              select cl.credit_note_id, sum(cl.subtotal) as subtotal, sum(cl.discount) as discount,
                     sum(cl.tax) as tax, sum(cl.total) as total, count(*) as lines,
                     count(*) filter (where cl.user_id <> cn.user_id) as foreign_users,
                     count(*) filter (where it.invoice_id is distinct from cn.invoice_id) as foreign_items
                from credit_note_items cl
                join credit_notes cn on cn.id = cl.credit_note_id
                left join invoice_items it on it.id = cl.invoice_item_id
               where ${context.scope('cn.user_id')}
               group by cl.credit_note_id
            ) l on l.credit_note_id = n.id
           where ${context.scope('n.user_id')}
        ) notes
       where not (adds_up and sums_ok) or mismatch is not null`,
    sql`user_id, number_seq, id`,
  )
  return resultOf(rows, (row) => {
    const base = { userId: row.user_id, invoiceId: row.invoice_id, creditNoteId: row.id, number: row.number }
    const found: Violation[] = []
    if (!(row.adds_up && row.sums_ok)) {
      found.push({
        ...base,
        kind: 'credit_note_totals',
        expected: row.adds_up ? `the sums of its lines: ${row.summed}` : 'total = subtotal − discount + tax',
        found: row.kept,
      })
    }
    if (row.mismatch !== null) {
      found.push({
        ...base,
        kind: 'credit_note_mismatch',
        expected: "its invoice's user, currency and customer, an issued invoice, and lines of that invoice",
        found: row.mismatch,
      })
    }
    return found
  })
}

/** `credited` has the sign of `line` and does not pass it (nothing can be credited of a zero amount). */
const within = (credited: RawBuilder<unknown>, line: RawBuilder<unknown>) =>
  sql`(${credited} * sign(${line}) between 0 and abs(${line}) and (${line} <> 0 or ${credited} = 0))`

/**
 * The credits of each invoice line, together, never pass the line: in quantity, and in subtotal, discount, tax
 * and total, each of the line's sign and at most its amount.
 */
export const checkLineCredits: Check = async (db, context) => {
  const amounts = ['subtotal', 'discount', 'tax', 'total'] as const
  const ok = sql.join(
    amounts.map((amount) => within(sql.ref(`c.${amount}`), sql.ref(`it.${amount}`))),
    sql` and `,
  )
  const rows = await listViolations<{
    user_id: string
    id: string
    number: string | null
    position: number
    line: string
    credited: string
  }>(
    db,
    context,
    sql`
      select i.user_id, i.id, i.number, i.number_seq, it.position,
             concat_ws(' ', 'quantity=' || it.quantity, 'subtotal=' || it.subtotal, 'discount=' || it.discount,
                       'tax=' || it.tax, 'total=' || it.total) as line,
             concat_ws(' ', 'quantity=' || c.quantity, 'subtotal=' || c.subtotal, 'discount=' || c.discount,
                       'tax=' || c.tax, 'total=' || c.total, '(' || c.credits || ' credit lines)') as credited
        from invoice_items it
        join invoices i on i.id = it.invoice_id
        join (
          select invoice_item_id, sum(quantity) as quantity, sum(subtotal) as subtotal, sum(discount) as discount,
                 sum(tax) as tax, sum(total) as total, count(*) as credits
            from credit_note_items
           where ${context.scope('user_id')}
           group by invoice_item_id
        ) c on c.invoice_item_id = it.id
       where ${context.scope('i.user_id')} and not (c.quantity <= it.quantity and ${ok})`,
    sql`user_id, number_seq nulls last, id, position`,
  )
  return resultOf(rows, (row) => [
    {
      kind: 'credit_exceeds_line',
      userId: row.user_id,
      invoiceId: row.id,
      number: row.number,
      subject: `line ${row.position}`,
      expected: `credits within the line: ${row.line}`,
      found: `credited ${row.credited}`,
    },
  ])
}
