import type { PaymentMethod } from '../../../db/schema'
import { parseMinorUnits } from '../../shared/money'
import type { Invoice, Payment } from './model'
import type { EventRow, InvoiceViewRow, PaymentJson } from './repository'

const iso = (value: Date | string) => (value instanceof Date ? value : new Date(value)).toISOString()
const isoOrNull = (value: Date | string | null) => (value === null ? null : iso(value))
const money = (value: number | string) => parseMinorUnits(value)

export function toPayment(
  row:
    | PaymentJson
    | {
        id: string
        amount: string
        paid_at: Date
        method: PaymentMethod
        reference: string | null
        created_at: Date
      },
): Payment {
  return {
    id: row.id,
    amount: money(row.amount),
    paidAt: iso(row.paid_at),
    method: row.method as PaymentMethod,
    reference: row.reference,
    createdAt: iso(row.created_at),
  }
}

export function toInvoice(row: InvoiceViewRow): Invoice {
  const draft = row.status === 'draft'
  const total = money(row.total)
  const amountPaid = money(row.amount_paid)
  return {
    id: row.id,
    number: row.number,
    status: row.status,
    customerId: row.customer_id,
    billTo:
      !draft && row.bill_to
        ? row.bill_to
        : {
            name: row.customer_name,
            email: row.customer_email,
            taxId: row.customer_tax_id,
            address: row.customer_address,
          },
    from:
      !draft && row.seller
        ? row.seller
        : {
            companyName: row.profile_company_name,
            email: row.profile_email,
            phone: row.profile_phone,
            taxId: row.profile_tax_id,
            address: row.profile_address,
          },
    currency: row.currency,
    issueDate: row.issue_date,
    dueDate: row.due_date,
    discountPercent: Number(row.discount_percent),
    notes: row.notes,
    items: row.items.map((item) => ({
      id: item.id,
      description: item.description,
      quantity: Number(item.quantity),
      unitPrice: money(item.unit_price),
      taxRate: Number(item.tax_rate),
      subtotal: money(item.subtotal),
      discount: money(item.discount),
      tax: money(item.tax),
      total: money(item.total),
    })),
    subtotal: money(row.subtotal),
    discountTotal: money(row.discount_total),
    taxTotal: money(row.tax_total),
    total,
    amountPaid,
    // A draft may total below zero (it cannot be sent so); nothing is ever due below zero.
    amountDue: Math.max(0, total - amountPaid),
    isOverdue: row.is_overdue,
    payments: row.payments.map(toPayment),
    pdf:
      row.pdf_sha256 && row.pdf_size !== null && row.pdf_generated_at
        ? { sha256: row.pdf_sha256, size: row.pdf_size, generatedAt: iso(row.pdf_generated_at) }
        : null,
    sentAt: isoOrNull(row.sent_at),
    paidAt: isoOrNull(row.paid_at),
    voidedAt: isoOrNull(row.voided_at),
    version: row.version,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

export function toEvent(row: EventRow) {
  return {
    id: row.id,
    type: row.type,
    at: iso(row.at),
    actorId: row.actor_id,
    data: (row.data ?? {}) as Record<string, unknown>,
  }
}
