import { Type } from '@sinclair/typebox'
import { t } from 'elysia'
import '../../shared/formats'
import { MAX_QUANTITY, MAX_UNIT_PRICE, MIN_UNIT_PRICE } from '../../shared/money'
import {
  Address,
  literals,
  NextCursor,
  Nullable,
  named,
  OptionalNullable,
  PageCursor,
  PageLimit,
  Text,
} from '../../shared/schemas'
import { EVENT_TYPES, PAYMENT_METHODS, STATUSES } from './lifecycle'

/** EN 16931 VAT categories (UNTDID 5305); the last five carry no tax and need an exemption reason. */
export const TAX_CATEGORIES = ['S', 'Z', 'E', 'AE', 'K', 'G', 'O'] as const
export type TaxCategory = (typeof TAX_CATEGORIES)[number]
export const EXEMPT_CATEGORIES = ['E', 'AE', 'K', 'G', 'O'] as const satisfies readonly TaxCategory[]
export const TAX_CALCULATIONS = ['per_line', 'per_category'] as const

export { EVENT_TYPES, PAYMENT_METHODS, STATUSES }

export const MAX_ITEMS = 500
export const SORTS = [
  'issueDate',
  '-issueDate',
  'dueDate',
  '-dueDate',
  'total',
  '-total',
  'number',
  '-number',
] as const

export const CalendarDate = (description?: string) =>
  t.String({ format: 'calendar-date', examples: ['2026-01-15'], ...(description ? { description } : {}) })
const Percent = (description: string) =>
  t.Number({ minimum: 0, maximum: 100, description: `${description}; a percentage with at most 3 decimals` })
const Money = (description: string) =>
  Type.Integer({ description: `${description}, in minor units of the currency` })

export const ItemInput = named(
  'InvoiceItemInput',
  t.Object(
    {
      description: Text(500),
      quantity: t.Number({
        exclusiveMinimum: 0,
        maximum: MAX_QUANTITY,
        description: 'Greater than 0, at most 3 decimals',
        examples: [1.5],
      }),
      unitPrice: Type.Integer({
        minimum: MIN_UNIT_PRICE,
        maximum: MAX_UNIT_PRICE,
        description: 'Minor units of the invoice currency; negative for a credit line',
        examples: [1999],
      }),
      taxRate: t.Optional(
        Percent(
          "Tax rate; when absent the profile's defaultTaxRate, or 0 for the categories Z, E, AE, K, G and O",
        ),
      ),
      unitCode: t.Optional(
        t.String({
          format: 'unit-code',
          description: 'UN/ECE Recommendation 20 unit (EN 16931 BT-130); `C62` ("one") when absent',
          examples: ['C62', 'HUR', 'KGM'],
        }),
      ),
      taxCategory: t.Optional(
        literals(TAX_CATEGORIES, {
          description:
            'EN 16931 VAT category: S standard, Z zero-rated, E exempt, AE reverse charge, K intra-community ' +
            'supply, G export, O outside the scope of VAT. `S` when absent and taxRate > 0, else `Z`. E, AE, K, G ' +
            'and O require taxRate 0 and a reason in `taxExemptionReasons`.',
        }),
      ),
    },
    { additionalProperties: false },
  ),
)

export const DeliverToInput = named(
  'DeliverToInput',
  t.Object(
    {
      line1: OptionalNullable(Text(200)),
      line2: OptionalNullable(Text(200)),
      city: OptionalNullable(Text(100)),
      region: OptionalNullable(Text(100)),
      postalCode: OptionalNullable(Text(20)),
      country: t.String({ format: 'iso-3166-alpha-2', description: 'ISO-3166 alpha-2, e.g. FR' }),
    },
    {
      additionalProperties: false,
      description:
        'Where the goods go (EN 16931 BG-15); required when an item uses category K (400 `VALIDATION_ERROR` on `/deliverTo` otherwise)',
      examples: [{ country: 'FR' }],
    },
  ),
)

const reason = () => t.Optional(Text(500))
export const TaxExemptionReasons = named(
  'TaxExemptionReasons',
  t.Object(
    { E: reason(), AE: reason(), K: reason(), G: reason(), O: reason() },
    {
      additionalProperties: false,
      description:
        'The exemption reason (EN 16931 BT-120) of each of the categories E, AE, K, G and O the items use; required for each used',
      examples: [{ AE: 'Reverse charge', K: 'Intra-community supply' }],
    },
  ),
)
export type ItemInput = typeof ItemInput.static

const writable = {
  currency: t.Optional(
    t.String({ format: 'iso-4217', description: "ISO-4217; the customer's, else the profile's" }),
  ),
  issueDate: t.Optional(CalendarDate("Defaults to today in the profile's time zone")),
  dueDate: t.Optional(CalendarDate('Defaults to issueDate + paymentTermsDays; not before issueDate')),
  discountPercent: t.Optional(Percent('Discount applied to every line before tax')),
  notes: OptionalNullable(Text(2000)),
  taxExemptionReasons: OptionalNullable(TaxExemptionReasons),
  purchaseOrderReference: OptionalNullable(Text(200)),
  deliveryDate: OptionalNullable(CalendarDate('EN 16931 BT-72, the actual delivery date')),
  deliverTo: OptionalNullable(DeliverToInput),
  items: t.Optional(
    t.Array(ItemInput, {
      maxItems: MAX_ITEMS,
      description: `At most ${MAX_ITEMS}; replaces all items on update`,
    }),
  ),
}

const itemsExample = [{ description: 'Design work', quantity: 3, unitPrice: 1999, taxRate: 19 }]

export const InvoiceCreate = named(
  'InvoiceCreate',
  t.Object(
    { customerId: t.String({ format: 'uuid' }), ...writable },
    {
      additionalProperties: false,
      examples: [{ customerId: '0b9e6a4e-5a41-4a0e-9d43-2a4d8f0f6c11', items: itemsExample }],
    },
  ),
)
export type InvoiceCreate = typeof InvoiceCreate.static

export const InvoicePatch = named(
  'InvoicePatch',
  t.Object(
    { customerId: t.Optional(t.String({ format: 'uuid' })), ...writable },
    {
      additionalProperties: false,
      minProperties: 1,
      examples: [{ discountPercent: 10, items: itemsExample }],
    },
  ),
)
export type InvoicePatch = typeof InvoicePatch.static

export const InvoiceItem = named(
  'InvoiceItem',
  t.Object({
    id: t.String({ format: 'uuid' }),
    description: t.String(),
    quantity: t.Number(),
    unitPrice: Money('Unit price'),
    taxRate: t.Number(),
    subtotal: Money('round(quantity × unitPrice)'),
    discount: Money('round(subtotal × discountPercent / 100)'),
    tax: Money('round((subtotal − discount) × taxRate / 100)'),
    total: Money('subtotal − discount + tax'),
    unitCode: t.String({ description: 'UN/ECE Recommendation 20' }),
    taxCategory: literals(TAX_CATEGORIES),
  }),
)

export const Payment = named(
  'Payment',
  t.Object({
    id: t.String({ format: 'uuid' }),
    invoiceId: t.String({ format: 'uuid' }),
    amount: Money('Amount paid'),
    paidAt: t.String({ format: 'date-time' }),
    method: literals(PAYMENT_METHODS),
    reference: Nullable(t.String()),
    createdAt: t.String({ format: 'date-time' }),
  }),
)
export type Payment = typeof Payment.static

export const BillTo = named(
  'BillTo',
  t.Object(
    {
      name: t.String(),
      email: Nullable(t.String()),
      taxId: Nullable(t.String()),
      address: Nullable(Address),
    },
    { description: 'Frozen when sent; live from the customer while draft' },
  ),
)

export const Seller = named(
  'Seller',
  t.Object(
    {
      companyName: Nullable(t.String()),
      email: Nullable(t.String()),
      phone: Nullable(t.String()),
      taxId: Nullable(t.String()),
      address: Nullable(Address),
    },
    { description: 'The business profile, frozen when sent' },
  ),
)

export const CreditNoteRef = named(
  'CreditNoteRef',
  t.Object(
    {
      id: t.String({ format: 'uuid' }),
      number: t.String(),
      total: Money('Credited'),
      issuedAt: t.String({ format: 'date-time' }),
    },
    { description: 'A credit note issued against the invoice; `GET /api/v1/credit-notes/{id}` has the rest' },
  ),
)

/** The stored PDF of an issued invoice. */
export const InvoicePdf = named(
  'InvoicePdf',
  t.Object(
    {
      sha256: t.String({ description: 'SHA-256 of the stored bytes, hex' }),
      size: Type.Integer({ description: 'Bytes' }),
      generatedAt: t.String({ format: 'date-time' }),
    },
    { description: 'The stored PDF; null until the invoice is issued' },
  ),
)

export const Invoice = named(
  'Invoice',
  t.Object({
    id: t.String({ format: 'uuid' }),
    number: Nullable(t.String({ description: 'invoicePrefix + zero-padded number; null while draft' })),
    status: literals(STATUSES),
    customerId: t.String({ format: 'uuid' }),
    billTo: BillTo,
    from: Seller,
    currency: t.String(),
    issueDate: CalendarDate(),
    dueDate: CalendarDate(),
    discountPercent: t.Number(),
    notes: Nullable(t.String()),
    taxCalculation: literals(TAX_CALCULATIONS, {
      description: "How the line taxes were rounded: the profile's setting when the invoice was created",
    }),
    taxExemptionReasons: Nullable(TaxExemptionReasons),
    purchaseOrderReference: Nullable(t.String()),
    deliveryDate: Nullable(CalendarDate()),
    deliverTo: Nullable(Address),
    items: t.Array(InvoiceItem),
    subtotal: Money('Sum of line subtotals'),
    discountTotal: Money('Sum of line discounts'),
    taxTotal: Money('Sum of line taxes'),
    total: Money('Sum of line totals'),
    amountPaid: Money('Sum of payments'),
    creditedTotal: Money('Sum of the credit notes issued against the invoice'),
    amountDue: Money('max(0, total − amountPaid − creditedTotal)'),
    isOverdue: t.Boolean({
      description: "sent or partially paid, and due before today in the profile's time zone",
    }),
    creditNotes: t.Array(CreditNoteRef),
    payments: t.Array(Payment),
    pdf: Nullable(InvoicePdf),
    hostedUrl: Nullable(
      t.String({
        description:
          'The hosted invoice page (`{PUBLIC_URL}/i/{token}`) of an issued invoice; null for drafts',
      }),
    ),
    sentAt: Nullable(t.String({ format: 'date-time' })),
    paidAt: Nullable(t.String({ format: 'date-time' })),
    voidedAt: Nullable(t.String({ format: 'date-time' })),
    version: Type.Integer(),
    createdAt: t.String({ format: 'date-time' }),
    updatedAt: t.String({ format: 'date-time' }),
  }),
)
export type Invoice = typeof Invoice.static

export const InvoiceList = named(
  'InvoiceList',
  t.Object({
    data: t.Array(Invoice),
    nextCursor: NextCursor(),
  }),
)

export const InvoiceListQuery = t.Object(
  {
    status: t.Optional(
      literals([...STATUSES, 'overdue'], { description: '`overdue`: sent or partially paid and past due' }),
    ),
    customerId: t.Optional(t.String({ format: 'uuid' })),
    issuedFrom: t.Optional(CalendarDate('Issued on or after')),
    issuedTo: t.Optional(CalendarDate('Issued on or before')),
    q: t.Optional(
      t.String({ minLength: 1, maxLength: 200, description: 'Matches the number or customer name' }),
    ),
    sort: t.Optional(literals(SORTS, { description: '`-issueDate` by default; drafts sort after numbers' })),
    limit: PageLimit,
    cursor: PageCursor,
  },
  { additionalProperties: false },
)
export type InvoiceListQuery = typeof InvoiceListQuery.static

export const InvoiceParams = t.Object({ id: t.String({ format: 'uuid', description: "The invoice's id" }) })

export const InvoiceEvent = named(
  'InvoiceEvent',
  t.Object({
    id: t.String({ format: 'uuid' }),
    type: literals(EVENT_TYPES),
    at: t.String({ format: 'date-time' }),
    actorId: Nullable(t.String({ format: 'uuid' })),
    data: t.Record(t.String(), t.Unknown()),
  }),
)
export type InvoiceEvent = typeof InvoiceEvent.static
export const InvoiceEvents = named('InvoiceEvents', t.Object({ data: t.Array(InvoiceEvent) }))

export const HostedLink = named(
  'HostedLink',
  t.Object(
    {
      hostedUrl: t.String({
        description: 'The new hosted page link; the previous one answers 404 from now on',
      }),
    },
    {
      examples: [{ hostedUrl: 'https://invoices.example.com/i/3q2-7wFJ9XgGkB5mZcY0hPZ8l1dJx4QeVn6sTtRuAaE' }],
    },
  ),
)
