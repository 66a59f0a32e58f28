import { Type } from '@sinclair/typebox'
import { t } from 'elysia'
import '../../shared/formats'
import { literals, named, OptionalNullable, Text } from '../../shared/schemas'
import { PAYMENT_METHODS } from '../invoices/lifecycle'

export const PaymentCreate = named(
  'PaymentCreate',
  t.Object(
    {
      amount: Type.Integer({
        minimum: 1,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'Minor units; at most amountDue',
      }),
      paidAt: t.Optional(t.String({ format: 'date-time', description: 'Defaults to now' })),
      method: t.Optional(literals(PAYMENT_METHODS, { description: '`other` when absent' })),
      reference: OptionalNullable(Text(200)),
    },
    {
      additionalProperties: false,
      examples: [{ amount: 5000, method: 'bank_transfer', reference: 'SEPA 2026-01' }],
    },
  ),
)
export type PaymentCreate = typeof PaymentCreate.static
