import { Type } from '@sinclair/typebox'
import { t } from 'elysia'
import '../../shared/formats'
import { Address, AddressInput, named, OptionalNullable, Text } from '../../shared/schemas'

export const Profile = named(
  'Profile',
  t.Object({
    companyName: t.Union([t.String(), t.Null()]),
    email: t.Union([t.String(), t.Null()]),
    phone: t.Union([t.String(), t.Null()]),
    taxId: t.Union([t.String(), t.Null()]),
    address: t.Union([Address, t.Null()]),
    defaultCurrency: t.Union([t.String(), t.Null()], { description: 'ISO-4217' }),
    paymentTermsDays: Type.Integer({ minimum: 0, maximum: 365 }),
    defaultTaxRate: t.Number({ minimum: 0, maximum: 100 }),
    invoicePrefix: t.String(),
    nextInvoiceNumber: Type.Integer({ minimum: 1 }),
    creditNotePrefix: t.String({ description: 'Prefix of credit note numbers (`CN-`)' }),
    nextCreditNoteNumber: Type.Integer({ minimum: 1, description: 'The next credit note number' }),
    timezone: t.String({ description: 'IANA time zone' }),
  }),
)

export const Me = named(
  'Me',
  t.Object({
    id: t.String({ format: 'uuid' }),
    email: t.Union([t.String(), t.Null()]),
    profile: Profile,
  }),
)
export type Me = typeof Me.static

export const ProfilePatch = named(
  'ProfilePatch',
  t.Object(
    {
      companyName: OptionalNullable(Text(200)),
      email: OptionalNullable(t.String({ format: 'email', maxLength: 254 })),
      phone: OptionalNullable(Text(50)),
      taxId: OptionalNullable(Text(50)),
      address: OptionalNullable(AddressInput),
      defaultCurrency: OptionalNullable(t.String({ format: 'iso-4217', description: 'ISO-4217, e.g. EUR' })),
      paymentTermsDays: t.Optional(Type.Integer({ minimum: 0, maximum: 365 })),
      defaultTaxRate: t.Optional(
        t.Number({ minimum: 0, maximum: 100, description: 'Percent, at most 3 decimals' }),
      ),
      invoicePrefix: t.Optional(t.String({ minLength: 1, maxLength: 20, format: 'printable' })),
      nextInvoiceNumber: t.Optional(
        Type.Integer({
          minimum: 1,
          maximum: 1_000_000_000,
          description: 'May be raised, never lowered to a used number',
        }),
      ),
      creditNotePrefix: t.Optional(t.String({ minLength: 1, maxLength: 20, format: 'printable' })),
      nextCreditNoteNumber: t.Optional(
        Type.Integer({
          minimum: 1,
          maximum: 1_000_000_000,
          description: 'May be raised, never lowered to a used number',
        }),
      ),
      timezone: t.Optional(
        t.String({ format: 'iana-time-zone', maxLength: 64, examples: ['Europe/Berlin'] }),
      ),
    },
    {
      additionalProperties: false,
      minProperties: 1,
      examples: [
        { companyName: 'Acme GmbH', defaultCurrency: 'EUR', defaultTaxRate: 19, timezone: 'Europe/Berlin' },
      ],
    },
  ),
)
export type ProfilePatch = typeof ProfilePatch.static
