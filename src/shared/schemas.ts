import { type TSchema, t } from 'elysia'

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
