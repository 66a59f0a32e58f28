import { t } from 'elysia'
import {
  Address,
  AddressInput,
  NextCursor,
  Nullable,
  named,
  OptionalNullable,
  PageCursor,
  PageLimit,
  Text,
} from '../../shared/schemas'

const writableExample = {
  name: 'Zoë Müller',
  email: 'zoe@example.com',
  phone: '+49 30 1234567',
  taxId: 'DE123456789',
  address: {
    line1: 'Hauptstraße 1',
    line2: null,
    city: 'Berlin',
    region: null,
    postalCode: '10115',
    country: 'DE',
  },
  currency: 'EUR',
  notes: null,
  buyerReference: null,
}
const example = {
  id: '0b9e6a4e-5a41-4a0e-9d43-2a4d8f0f6c11',
  ...writableExample,
  createdAt: '2026-01-15T12:00:00.000Z',
  updatedAt: '2026-01-15T12:00:00.000Z',
}

export const Customer = named(
  'Customer',
  t.Object(
    {
      id: t.String({ format: 'uuid' }),
      name: t.String(),
      email: Nullable(t.String()),
      phone: Nullable(t.String()),
      taxId: Nullable(t.String()),
      address: Nullable(Address),
      currency: Nullable(t.String({ description: 'ISO-4217' })),
      notes: Nullable(t.String()),
      buyerReference: Nullable(
        t.String({ description: 'EN 16931 BT-10, e.g. the Leitweg-ID of a German public buyer' }),
      ),
      createdAt: t.String({ format: 'date-time' }),
      updatedAt: t.String({ format: 'date-time' }),
    },
    { examples: [example] },
  ),
)
export type Customer = typeof Customer.static

const fields = {
  email: OptionalNullable(t.String({ format: 'email', maxLength: 254 })),
  phone: OptionalNullable(Text(50)),
  taxId: OptionalNullable(Text(50)),
  address: OptionalNullable(AddressInput),
  currency: OptionalNullable(t.String({ format: 'iso-4217', description: 'ISO-4217, e.g. EUR' })),
  notes: OptionalNullable(Text(2000)),
  buyerReference: OptionalNullable(
    t.String({
      minLength: 1,
      maxLength: 200,
      description: 'EN 16931 BT-10: the reference the buyer asks for, e.g. a Leitweg-ID (XRechnung)',
      examples: ['04011000-12345-67'],
    }),
  ),
}

export const CustomerCreate = named(
  'CustomerCreate',
  t.Object(
    { name: Text(200), ...fields },
    {
      additionalProperties: false,
      description:
        'Strings are trimmed; a field that is blank after trimming is rejected (send null to clear it).',
      examples: [writableExample],
    },
  ),
)
export type CustomerCreate = typeof CustomerCreate.static

export const CustomerPatch = named(
  'CustomerPatch',
  t.Object(
    { name: t.Optional(Text(200)), ...fields },
    {
      additionalProperties: false,
      minProperties: 1,
      description: 'Only the fields sent change; an `address` replaces the stored one as a whole.',
      examples: [{ email: 'billing@example.com', currency: 'CHF' }],
    },
  ),
)
export type CustomerPatch = typeof CustomerPatch.static

export const CustomerParams = t.Object({ id: t.String({ format: 'uuid', description: "The customer's id" }) })

export const CustomerListQuery = t.Object(
  {
    limit: PageLimit,
    cursor: PageCursor,
    q: t.Optional(
      t.String({
        maxLength: 200,
        description: 'Finds customers whose name or email contains it, ignoring case and accents',
      }),
    ),
  },
  { additionalProperties: false },
)
export type CustomerListQuery = typeof CustomerListQuery.static

export const CustomerList = named(
  'CustomerList',
  t.Object({
    data: t.Array(Customer),
    nextCursor: NextCursor(),
  }),
)
