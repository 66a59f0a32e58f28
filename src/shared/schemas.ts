import { type TSchema, t } from 'elysia'
import './formats'

export const ErrorResponse = t.Object(
  {
    error: t.Object({
      code: t.String({ examples: ['VALIDATION_ERROR'] }),
      message: t.String(),
      requestId: t.String(),
      details: t.Optional(t.Array(t.Object({ path: t.String(), message: t.String() }))),
    }),
  },
  { description: 'The error envelope every failure answers with' },
)

/** Error answers every authenticated route can give, for the OpenAPI document. */
export const authErrors = {
  400: ErrorResponse,
  401: ErrorResponse,
  429: ErrorResponse,
  500: ErrorResponse,
  503: ErrorResponse,
} as const

export const Nullable = <T extends TSchema>(schema: T) => t.Union([schema, t.Null()])

export const Text = (max: number) => t.String({ minLength: 1, maxLength: max })
export const OptionalNullable = <T extends TSchema>(schema: T) => t.Optional(Nullable(schema))

/** A postal address as answered: every field present, null when unknown. */
export const Address = t.Object({
  line1: Nullable(t.String()),
  line2: Nullable(t.String()),
  city: Nullable(t.String()),
  region: Nullable(t.String()),
  postalCode: Nullable(t.String()),
  country: Nullable(t.String({ description: 'ISO-3166 alpha-2' })),
})
export type Address = typeof Address.static

/** A postal address as sent: it replaces the stored one as a whole, absent fields becoming null. */
export const AddressInput = t.Object(
  {
    line1: OptionalNullable(Text(200)),
    line2: OptionalNullable(Text(200)),
    city: OptionalNullable(Text(100)),
    region: OptionalNullable(Text(100)),
    postalCode: OptionalNullable(Text(20)),
    country: OptionalNullable(
      t.String({ format: 'iso-3166-alpha-2', description: 'ISO-3166 alpha-2, e.g. DE' }),
    ),
  },
  { additionalProperties: false },
)
export type AddressInput = typeof AddressInput.static

export const IfMatch = t.Optional(
  t.String({
    maxLength: 1000,
    description:
      'The ETag last seen, or a list of them (strong comparison: weak tags never match); 412 PRECONDITION_FAILED when none is current',
  }),
)
export const IfMatchHeaders = t.Object({ 'if-match': IfMatch })
