import { Type } from '@sinclair/typebox'
import { t } from 'elysia'
import { named } from '../../shared/schemas'

export const MAX_REVENUE_MONTHS = 120

const Currency = t.String({ description: 'ISO-4217', examples: ['EUR'] })
const Amount = (description: string) => Type.Integer({ description: `${description}, in minor units` })
const Count = (description: string) => Type.Integer({ minimum: 0, description })
const CalendarDate = (description: string) =>
  t.String({ format: 'date', description: `YYYY-MM-DD; ${description}`, examples: ['2026-01-01'] })

export const PeriodQuery = t.Object(
  {
    from: t.Optional(CalendarDate("the first day of the period; default January 1 of `to`'s year")),
    to: t.Optional(
      CalendarDate("the last day of the period, included; default today in the profile's time zone"),
    ),
  },
  { additionalProperties: false },
)
export type PeriodQuery = typeof PeriodQuery.static

export const NoQuery = t.Object({}, { additionalProperties: false })

export const SummaryRow = named(
  'SummaryRow',
  t.Object({
    currency: Currency,
    outstanding: Amount(
      'amountDue (total − amountPaid − creditedTotal) of sent and partially paid invoices, now',
    ),
    overdue: Amount('The part of `outstanding` past its due date'),
    invoiced: Amount(
      'Totals of invoices issued in the period (issueDate; void ones excluded, credited ones included) less ' +
        '`credited`: net, so it may be negative',
    ),
    credited: Amount('Totals of the credit notes issued in the period (their issueDate)'),
    collected: Amount('Payments received in the period (paidAt)'),
    counts: t.Object({
      draft: Count('Drafts'),
      open: Count('Sent and partially paid invoices'),
      overdue: Count('Open invoices past their due date'),
    }),
  }),
)
export type SummaryRow = typeof SummaryRow.static

export const Summary = named(
  'Summary',
  t.Object(
    { data: t.Array(SummaryRow) },
    {
      examples: [
        {
          data: [
            {
              currency: 'EUR',
              outstanding: 250000,
              overdue: 75000,
              invoiced: 1150000,
              credited: 50000,
              collected: 950000,
              counts: { draft: 2, open: 5, overdue: 1 },
            },
          ],
        },
      ],
    },
  ),
)

export const AgingRow = named(
  'AgingRow',
  t.Object({
    currency: Currency,
    buckets: t.Object({
      current: Amount('Not yet due, or due today'),
      '1-30': Amount('1 to 30 days past due'),
      '31-60': Amount('31 to 60 days past due'),
      '61-90': Amount('61 to 90 days past due'),
      '90+': Amount('More than 90 days past due'),
    }),
  }),
)
export type AgingRow = typeof AgingRow.static

export const Aging = named(
  'Aging',
  t.Object(
    { data: t.Array(AgingRow) },
    {
      examples: [
        {
          data: [
            {
              currency: 'EUR',
              buckets: { current: 175000, '1-30': 50000, '31-60': 25000, '61-90': 0, '90+': 0 },
            },
          ],
        },
      ],
    },
  ),
)

export const RevenueRow = named(
  'RevenueRow',
  t.Object({
    month: t.String({ pattern: '^\\d{4}-\\d{2}$', description: 'YYYY-MM', examples: ['2026-01'] }),
    currency: Currency,
    invoiced: Amount(
      'Totals of invoices issued in the month (void ones excluded, credited ones included) less `credited`: ' +
        'net, so it may be negative',
    ),
    credited: Amount('Totals of the credit notes issued in the month (their issueDate)'),
    collected: Amount('Payments received in the month'),
  }),
)
export type RevenueRow = typeof RevenueRow.static

export const Revenue = named(
  'Revenue',
  t.Object(
    { data: t.Array(RevenueRow) },
    {
      examples: [
        {
          data: [
            { month: '2026-01', currency: 'EUR', invoiced: 400000, credited: 0, collected: 310000 },
            { month: '2026-02', currency: 'EUR', invoiced: -25000, credited: 25000, collected: 90000 },
          ],
        },
      ],
    },
  ),
)
