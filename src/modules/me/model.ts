import { type TSchema, t } from 'elysia'
import '../../shared/formats'
import { Nullable } from '../../shared/schemas'

export const Address = t.Object({
  line1: t.Union([t.String(), t.Null()]),
  line2: t.Union([t.String(), t.Null()]),
  city: t.Union([t.String(), t.Null()]),
  region: t.Union([t.String(), t.Null()]),
  postalCode: t.Union([t.String(), t.Null()]),
  country: t.Union([t.String(), t.Null()], { description: 'ISO-3166 alpha-2' }),
})

export const Profile = t.Object({
  companyName: t.Union([t.String(), t.Null()]),
  email: t.Union([t.String(), t.Null()]),
  phone: t.Union([t.String(), t.Null()]),
  taxId: t.Union([t.String(), t.Null()]),
  address: t.Union([Address, t.Null()]),
  defaultCurrency: t.Union([t.String(), t.Null()], { description: 'ISO-4217' }),
  paymentTermsDays: t.Integer({ minimum: 0, maximum: 365 }),
  defaultTaxRate: t.Number({ minimum: 0, maximum: 100 }),
  invoicePrefix: t.String(),
  nextInvoiceNumber: t.Integer({ minimum: 1 }),
  timezone: t.String({ description: 'IANA time zone' }),
})

export const Me = t.Object({
  id: t.String({ format: 'uuid' }),
  email: t.Union([t.String(), t.Null()]),
  profile: Profile,
})
export type Me = typeof Me.static

const text = (max: number) => t.String({ minLength: 1, maxLength: max })
const optionalNullable = <T extends TSchema>(schema: T) => t.Optional(Nullable(schema))

export const AddressInput = t.Object(
  {
    line1: optionalNullable(text(200)),
    line2: optionalNullable(text(200)),
    city: optionalNullable(text(100)),
    region: optionalNullable(text(100)),
    postalCode: optionalNullable(text(20)),
    country: optionalNullable(
      t.String({ format: 'iso-3166-alpha-2', description: 'ISO-3166 alpha-2, e.g. DE' }),
    ),
  },
  { additionalProperties: false },
)
export type AddressInput = typeof AddressInput.static

export const ProfilePatch = t.Object(
  {
    companyName: optionalNullable(text(200)),
    email: optionalNullable(t.String({ format: 'email', maxLength: 254 })),
    phone: optionalNullable(text(50)),
    taxId: optionalNullable(text(50)),
    address: optionalNullable(AddressInput),
    defaultCurrency: optionalNullable(t.String({ format: 'iso-4217', description: 'ISO-4217, e.g. EUR' })),
    paymentTermsDays: t.Optional(t.Integer({ minimum: 0, maximum: 365 })),
    defaultTaxRate: t.Optional(
      t.Number({ minimum: 0, maximum: 100, description: 'Percent, at most 3 decimals' }),
    ),
    invoicePrefix: t.Optional(t.String({ minLength: 1, maxLength: 20, format: 'printable' })),
    nextInvoiceNumber: t.Optional(
      t.Integer({
        minimum: 1,
        maximum: 1_000_000_000,
        description: 'May be raised, never lowered to a used number',
      }),
    ),
    timezone: t.Optional(t.String({ format: 'iana-time-zone', maxLength: 64, examples: ['Europe/Berlin'] })),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    examples: [
      { companyName: 'Acme GmbH', defaultCurrency: 'EUR', defaultTaxRate: 19, timezone: 'Europe/Berlin' },
    ],
  },
)
export type ProfilePatch = typeof ProfilePatch.static
