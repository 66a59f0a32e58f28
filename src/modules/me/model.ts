import { t } from 'elysia'

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
