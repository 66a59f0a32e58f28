import { sql } from 'kysely'
import type { InvoiceStatus } from '../../db/schema'
import type { Database } from '../../src/lib/db'

export interface PaymentSpec {
  amount: number
  paidAt: Date | string
}

export interface InvoiceSpec {
  status: InvoiceStatus
  total: number
  /** Defaults to the sum of `payments`. */
  amountPaid?: number
  currency?: string
  issueDate: string
  /** Defaults to `issueDate`. */
  dueDate?: string
  payments?: PaymentSpec[]
}

/** `YYYY-MM-DD` moved by whole days. */
export function addDays(date: string, days: number): string {
  const ms = Date.parse(`${date}T00:00:00Z`) + days * 86_400_000
  return new Date(ms).toISOString().slice(0, 10)
}

/** Today's date in an IANA time zone, moved by `days`. */
export function dayIn(timeZone: string, days = 0): string {
  const today = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date())
  return addDays(today, days)
}

/**
 * Writes customers, invoices and payments straight into the database for one user, as the invoice routes
 * would leave them: issued invoices numbered, `amount_paid` the sum of their payments.
 */
export function invoiceFactory(db: Database, userId: string) {
  let customerId: string | undefined

  async function customer(): Promise<string> {
    customerId ??= (
      await db
        .insertInto('customers')
        .values({ user_id: userId, name: 'Report Customer', search_text: 'report customer' })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id
    return customerId
  }

  async function invoice(spec: InvoiceSpec): Promise<string> {
    const payments = spec.payments ?? []
    const issued = spec.status !== 'draft'
    const nextSeq = sql<string>`(select coalesce(max(number_seq), 0) + 1 from invoices where user_id = ${userId})`
    // One line carries the total: the database refuses totals that are not the sums of their lines.
    // The customer first: with the embedded database's single connection, the transaction holds it.
    const customerId = await customer()
    return db.transaction().execute(async (trx) => {
      const id = await insertInvoice(trx, customerId, spec, issued, nextSeq, payments)
      await trx
        .insertInto('invoice_items')
        .values({
          invoice_id: id,
          user_id: userId,
          position: 0,
          description: 'Services',
          quantity: '1',
          unit_price: spec.total,
          tax_rate: '0',
          subtotal: spec.total,
          discount: 0,
          tax: 0,
          total: spec.total,
        })
        .execute()
      return id
    })
  }

  async function insertInvoice(
    db: Database,
    customerId: string,
    spec: InvoiceSpec,
    issued: boolean,
    nextSeq: ReturnType<typeof sql<string>>,
    payments: PaymentSpec[],
  ): Promise<string> {
    const { id } = await db
      .insertInto('invoices')
      .values({
        user_id: userId,
        customer_id: customerId,
        status: spec.status,
        number_seq: issued ? nextSeq : null,
        number: issued ? sql<string>`'INV-' || lpad(${nextSeq}::text, 4, '0')` : null,
        currency: spec.currency ?? 'USD',
        issue_date: spec.issueDate,
        due_date: spec.dueDate ?? spec.issueDate,
        subtotal: spec.total,
        total: spec.total,
        amount_paid: spec.amountPaid ?? payments.reduce((sum, p) => sum + p.amount, 0),
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    if (payments.length > 0) {
      await db
        .insertInto('payments')
        .values(
          payments.map((p) => ({
            invoice_id: id,
            user_id: userId,
            amount: p.amount,
            currency: spec.currency ?? 'USD',
            paid_at: p.paidAt,
            method: 'bank_transfer' as const,
          })),
        )
        .execute()
    }
    return id
  }

  return { customer, invoice }
}
