import { sql } from 'kysely'
import type { Database } from '../../lib/db'
import { type Check, type CheckContext, listViolations, resultOf } from './context'
import type { Violation } from './violations'

/**
 * A gapless numbered series of each user (API.md "Lifecycle", "Credit notes"): invoices, and credit notes, each
 * with its own counter on the user and its own rows in `invoice_number_skips`.
 */
interface Series {
  /** `invoice_number_skips.series`. */
  name: 'invoice' | 'credit_note'
  table: 'invoices' | 'credit_notes'
  /** The invoice a violation names: the row itself, or the invoice a credit note corrects. */
  invoiceId: 'id' | 'invoice_id'
  creditNote: boolean
  /** The user's counter columns. */
  next: string
  last: string
}

const INVOICES: Series = {
  name: 'invoice',
  table: 'invoices',
  invoiceId: 'id',
  creditNote: false,
  next: 'next_invoice_number',
  last: 'last_invoice_number',
}
const CREDIT_NOTES: Series = {
  name: 'credit_note',
  table: 'credit_notes',
  invoiceId: 'invoice_id',
  creditNote: true,
  next: 'next_credit_note_number',
  last: 'last_credit_note_number',
}

/** Who a violation is about: the invoice, or the credit note and the invoice it corrects. */
const subjectOf = (series: Series, row: { id: string; invoice_id: string }) =>
  series.creditNote ? { invoiceId: row.invoice_id, creditNoteId: row.id } : { invoiceId: row.id }

/**
 * Gapless unique numbers (API.md "Lifecycle"): each user's issued documents of a series carry `number_seq`
 * values that are consecutive from the first one used, each once, and `number` ends with that value zero-padded
 * to 4 digits (`INV-0001`, …, `INV-10000`; `CN-0001`, …) after the prefix of the day it was issued (the profile's
 * prefix may have changed since, so only the digits are checked).
 *
 * A series may start above 1: its next number may be raised before the first issue. It may also be raised
 * between two issues; each raise is recorded in `invoice_number_skips` with its series (after which number the
 * series continues where), so only a jump that no raise explains is reported as `number_gap`.
 */
const numbersOf =
  (series: Series): Check =>
  async (db, context) => {
    const rows = await listViolations<{
      user_id: string
      id: string
      invoice_id: string
      number: string | null
      seq: string
      prev_id: string | null
      prev_number: string | null
      prev_seq: string | null
      step: string | null
      same_number: number
      well_formed: boolean
      skip_recorded: boolean
    }>(
      db,
      context,
      sql`
      select * from (
        select user_id, id, invoice_id, number, number_seq, seq, prev_id, prev_number, prev_seq, step::text as step,
               same_number, well_formed,
               exists (select 1 from invoice_number_skips k
                        where k.user_id = numbered.user_id and k.series = ${series.name}
                          and k.after_seq = numbered.number_seq - numbered.step
                          and k.next_seq = numbered.number_seq) as skip_recorded
          from (
            select user_id, id, ${sql.ref(series.invoiceId)} as invoice_id, number, number_seq,
                   number_seq::text as seq,
                   lag(id) over w as prev_id,
                   lag(number) over w as prev_number,
                   (lag(number_seq) over w)::text as prev_seq,
                   number_seq - lag(number_seq) over w as step,
                   (count(*) over (partition by user_id, number))::int as same_number,
                   coalesce(right(number, greatest(4, length(number_seq::text)))
                     = lpad(number_seq::text, greatest(4, length(number_seq::text)), '0'), false) as well_formed
              from ${sql.table(series.table)}
             where number_seq is not null and ${context.scope('user_id')}
            window w as (partition by user_id order by number_seq, id)
          ) numbered
      ) checked
       where (step <> '1' and not skip_recorded) or same_number > 1 or not well_formed`,
      sql`user_id, number_seq, id`,
    )

    const noun = series.creditNote ? 'credit note' : 'invoice'
    return resultOf(rows, (row) => {
      const base = { userId: row.user_id, ...subjectOf(series, row), number: row.number }
      const found: Violation[] = []
      if (row.step === '0') {
        found.push({
          ...base,
          kind: 'number_duplicate',
          expected: `number_seq ${row.seq} used once`,
          found: `number_seq ${row.seq} also on ${noun} ${row.prev_id} (${row.prev_number})`,
        })
      } else if (row.step !== null && row.step !== '1' && !row.skip_recorded) {
        found.push({
          ...base,
          kind: 'number_gap',
          expected: `number_seq ${BigInt(row.prev_seq ?? '0') + 1n} after ${row.prev_number}`,
          found: `number_seq ${row.seq}`,
        })
      }
      if (row.same_number > 1) {
        found.push({
          ...base,
          kind: 'number_duplicate',
          expected: `number ${row.number} used once`,
          found: `number ${row.number} on ${row.same_number} ${noun}s`,
        })
      }
      if (!row.well_formed) {
        found.push({
          ...base,
          kind: 'number_format',
          expected: `a prefix followed by ${row.seq.padStart(4, '0')}`,
          found: `number ${row.number ?? 'null'}`,
        })
      }
      return found
    })
  }

/**
 * The profile's counter of a series: the next number above every number used, and the last one (which the API
 * keeps so that the next number can never be lowered onto a used one) equal to the highest.
 */
const counterOf =
  (series: Series): Check =>
  async (db: Database, context: CheckContext) => {
    const rows = await listViolations<{
      user_id: string
      next: string
      last: string
      highest: string | null
    }>(
      db,
      context,
      sql`
      select u.id as user_id, ${sql.ref(`u.${series.next}`)}::text as next, ${sql.ref(`u.${series.last}`)}::text as last,
             h.highest::text as highest
        from users u
        left join (
          select user_id, max(number_seq) as highest
            from ${sql.table(series.table)}
           where number_seq is not null and ${context.scope('user_id')}
           group by user_id
        ) h on h.user_id = u.id
       where ${context.scope('u.id')}
         and (${sql.ref(`u.${series.next}`)} <= coalesce(h.highest, 0)
              or ${sql.ref(`u.${series.last}`)} <> coalesce(h.highest, 0))`,
      sql`user_id`,
    )
    return resultOf(rows, (row) => [
      {
        kind: 'number_counter',
        userId: row.user_id,
        invoiceId: null,
        number: null,
        expected: `${series.next} > ${row.highest ?? 0} and ${series.last} = ${row.highest ?? 0}`,
        found: `${series.next} ${row.next}, ${series.last} ${row.last}`,
      },
    ])
  }

export const checkNumbers: Check = numbersOf(INVOICES)
export const checkCounters: Check = counterOf(INVOICES)
export const checkCreditNoteNumbers: Check = numbersOf(CREDIT_NOTES)
export const checkCreditNoteCounters: Check = counterOf(CREDIT_NOTES)
