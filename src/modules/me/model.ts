import { Type } from '@sinclair/typebox'
import { t } from 'elysia'
import '../../shared/formats'
import { Address, AddressInput, literals, named, OptionalNullable, Text } from '../../shared/schemas'

export const TAX_CALCULATIONS = ['per_line', 'per_category'] as const
/** The profile's choice of PDF at issue: plain, or Factur-X with its CII embedded. */
export const E_INVOICE_SETTINGS = ['none', 'facturx'] as const
const TaxCalculation = () =>
  literals(TAX_CALCULATIONS, {
    description:
      '`per_line` (default): each line rounds its own tax; `per_category`: the tax of each VAT category and rate ' +
      'is computed once and spread over its lines (what EN 16931 expects). New invoices freeze it.',
  })
const EInvoiceFormat = () =>
  literals(E_INVOICE_SETTINGS, {
    description:
      '`none` (default): plain PDFs; `facturx`: the issued PDF is a Factur-X PDF/A-3 with the CII embedded, ' +
      'and mark-as-sent refuses incomplete data with 422 `EINVOICE_INCOMPLETE`',
  })

export const BankAccount = named(
  'BankAccount',
  t.Object({
    iban: t.String({ description: 'ISO 13616, without spaces' }),
    bic: t.Union([t.String(), t.Null()], { description: 'ISO 9362' }),
    accountName: t.Union([t.String(), t.Null()]),
  }),
)

export const Reminders = named(
  'Reminders',
  t.Object({
    enabled: t.Boolean(),
    daysAfterDue: t.Array(Type.Integer({ minimum: 1, maximum: 365 }), {
      description: 'A reminder email at each of these days past the due date, in the profile time zone',
    }),
  }),
)

export const BankAccountInput = named(
  'BankAccountInput',
  t.Object(
    {
      iban: t.String({ format: 'iban', maxLength: 34, description: 'ISO 13616, upper case, without spaces' }),
      bic: OptionalNullable(t.String({ format: 'iso-9362-bic', maxLength: 11 })),
      accountName: OptionalNullable(Text(200)),
    },
    { additionalProperties: false, examples: [{ iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' }] },
  ),
)

export const RemindersInput = named(
  'RemindersInput',
  t.Object(
    {
      enabled: t.Optional(t.Boolean()),
      daysAfterDue: t.Optional(
        t.Array(Type.Integer({ minimum: 1, maximum: 365 }), { minItems: 1, maxItems: 10, uniqueItems: true }),
      ),
    },
    {
      additionalProperties: false,
      minProperties: 1,
      examples: [{ enabled: true, daysAfterDue: [3, 10, 30] }],
    },
  ),
)

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
    locale: t.String({ description: 'BCP 47; formats amounts and dates on PDFs, pages and emails' }),
    contactName: t.Union([t.String(), t.Null()]),
    paymentInstructions: t.Union([t.String(), t.Null()], {
      description: 'Shown on the hosted page and in emails while something is due',
    }),
    bankAccount: t.Union([BankAccount, t.Null()]),
    reminders: Reminders,
    taxCalculation: TaxCalculation(),
    eInvoiceFormat: EInvoiceFormat(),
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
      locale: t.Optional(t.String({ format: 'bcp47-locale', maxLength: 35, examples: ['de-DE'] })),
      contactName: OptionalNullable(Text(200)),
      paymentInstructions: OptionalNullable(Text(2000)),
      bankAccount: OptionalNullable(BankAccountInput),
      reminders: t.Optional(RemindersInput),
      taxCalculation: t.Optional(TaxCalculation()),
      eInvoiceFormat: t.Optional(EInvoiceFormat()),
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
