export const ERROR_STATUS = {
  MALFORMED_JSON: 400,
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  INVALID_STATUS_TRANSITION: 409,
  CUSTOMER_HAS_INVOICES: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYMENT_EXCEEDS_BALANCE: 422,
  CREDIT_EXCEEDS_INVOICE: 422,
  LIMIT_EXCEEDED: 422,
  EINVOICE_INCOMPLETE: 422,
  RATE_LIMIT_EXCEEDED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL_ERROR: 500,
  PDF_GENERATION_FAILED: 502,
  SERVICE_UNAVAILABLE: 503,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

export interface ErrorDetail {
  path: string
  message: string
  /** The rule an e-invoice would fail (`EINVOICE_INCOMPLETE`). */
  rule?: string
}

/** The one error class of the service: every expected failure is an AppError with a code from API.md. */
export class AppError extends Error {
  readonly status: number
  readonly code: ErrorCode
  readonly details: ErrorDetail[] | undefined
  readonly headers: Record<string, string> | undefined
  /** For the log line only (which invoice, which key), never in the answer. */
  readonly context: Record<string, string> | undefined

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      details?: ErrorDetail[]
      headers?: Record<string, string>
      cause?: unknown
      context?: Record<string, string>
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AppError'
    this.code = code
    this.status = ERROR_STATUS[code]
    this.details = options.details
    this.headers = options.headers
    this.context = options.context
  }
}

export const notFound = (what = 'Resource') => new AppError('NOT_FOUND', `${what} not found`)

/** The error envelope of API.md, behind one function so its shape can change in one place. */
export function errorBody(
  code: ErrorCode,
  message: string,
  requestId: string,
  details?: ErrorDetail[],
): { error: { code: ErrorCode; message: string; requestId: string; details?: ErrorDetail[] } } {
  return { error: { code, message, requestId, ...(details && details.length > 0 ? { details } : {}) } }
}
