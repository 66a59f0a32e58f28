import { Type } from '@sinclair/typebox'
import { t } from 'elysia'
import '../../shared/formats'
import { MAX_QUANTITY } from '../../shared/money'
import {
  literals,
  NextCursor,
  Nullable,
  named,
  OptionalNullable,
  PageCursor,
  PageLimit,
  Text,
} from '../../shared/schemas'
import { CREDIT_REASONS } from '../invoices/lifecycle'
import { BillTo, CalendarDate, InvoicePdf, MAX_ITEMS, Seller } from '../invoices/model'

const Money = (description: string) =>
  Type.Integer({ description: `${description}, in minor units of the currency` })

export const CreditNoteItemInput = named(
  'CreditNoteItemInput',
  t.Object(
    {
      invoiceItemId: t.String({ format: 'uuid', description: 'The invoice line to credit' }),
      quantity: t.Number({
        exclusiveMinimum: 0,
        maximum: MAX_QUANTITY,
        description: 'How much of the line; greater than 0, at most what is left of it, at most 3 decimals',
        examples: [1],
      }),
    },
    { additionalProperties: false },
  ),
)

export const CreditNoteCreate = named(
  'CreditNoteCreate',
  t.Object(
    {
      reason: literals(CREDIT_REASONS, { description: 'Why the invoice is credited' }),
      memo: OptionalNullable(Text(2000)),
      items: t.Optional(
        t.Array(CreditNoteItemInput, {
          minItems: 1,
          maxItems: MAX_ITEMS,
          description: 'Lines and quantities to credit; without it, everything not yet credited',
        }),
      ),
    },
    {
      additionalProperties: false,
      examples: [
        {
          reason: 'order_change',
          memo: 'One licence returned',
          items: [{ invoiceItemId: '5b0c2f1e-8d4a-4c3b-9e6f-1a2b3c4d5e6f', quantity: 1 }],
        },
        { reason: 'duplicate' },
      ],
    },
  ),
)
export type CreditNoteCreate = typeof CreditNoteCreate.static

export const CreditNoteItem = named(
  'CreditNoteItem',
  t.Object({
    id: t.String({ format: 'uuid' }),
    invoiceItemId: t.String({ format: 'uuid' }),
    description: t.String(),
    quantity: t.Number(),
    unitPrice: Money('Unit price of the invoice line'),
    taxRate: t.Number(),
    subtotal: Money('Credited subtotal'),
    discount: Money('Credited discount'),
    tax: Money('Credited tax'),
    total: Money('subtotal − discount + tax'),
  }),
)

export const CreditNote = named(
  'CreditNote',
  t.Object(
    {
      id: t.String({ format: 'uuid' }),
      number: t.String({ description: 'creditNotePrefix + zero-padded number, a gapless series per user' }),
      invoiceId: t.String({ format: 'uuid' }),
      invoiceNumber: t.String(),
      customerId: t.String({ format: 'uuid' }),
      reason: literals(CREDIT_REASONS),
      memo: Nullable(t.String()),
      currency: t.String(),
      items: t.Array(CreditNoteItem),
      subtotal: Money('Sum of line subtotals'),
      discountTotal: Money('Sum of line discounts'),
      taxTotal: Money('Sum of line taxes'),
      total: Money('Sum of line totals; greater than 0'),
      appliedToBalance: Money("min(total, the invoice's amountDue just before)"),
      refundDue: Money(
        'total − appliedToBalance: money already paid that is owed back (recorded, not moved)',
      ),
      billTo: BillTo,
      from: Seller,
      pdf: InvoicePdf,
      hostedUrl: t.String({ description: 'The hosted credit note page (`{PUBLIC_URL}/i/{token}`)' }),
      issueDate: CalendarDate("The day it was issued in the profile's time zone"),
      issuedAt: t.String({ format: 'date-time' }),
      createdAt: t.String({ format: 'date-time' }),
    },
    { description: 'A credit note: immutable once issued' },
  ),
)
export type CreditNote = typeof CreditNote.static

export const CreditNoteList = named(
  'CreditNoteList',
  t.Object({
    data: t.Array(CreditNote),
    nextCursor: NextCursor(),
  }),
)

export const CreditNoteListQuery = t.Object(
  {
    invoiceId: t.Optional(t.String({ format: 'uuid' })),
    customerId: t.Optional(t.String({ format: 'uuid' })),
    issuedFrom: t.Optional(CalendarDate('Issued on or after')),
    issuedTo: t.Optional(CalendarDate('Issued on or before')),
    limit: PageLimit,
    cursor: PageCursor,
  },
  { additionalProperties: false },
)
export type CreditNoteListQuery = typeof CreditNoteListQuery.static

export const CreditNoteParams = t.Object({
  id: t.String({ format: 'uuid', description: "The credit note's id" }),
})
