import { t } from 'elysia'
import type { EmailStatus } from '../../../db/schema'
import { literals, Nullable, named } from '../../shared/schemas'

export const EMAIL_STATUSES = [
  'queued',
  'sending',
  'retrying',
  'sent',
  'failed',
] as const satisfies readonly EmailStatus[]
export const EMAIL_KINDS = ['document', 'reminder'] as const
export const MAX_RECIPIENTS = 10

// The `email` format refuses spaces, CR and LF, so no address can carry a header of its own.
const Address = t.String({ format: 'email', maxLength: 254 })

export const EmailParams = t.Object({ id: t.String({ format: 'uuid' }) })

export const SendEmail = named(
  'SendEmail',
  t.Object(
    {
      to: t.Optional(
        t.Array(Address, {
          minItems: 1,
          maxItems: MAX_RECIPIENTS,
          description:
            'Default: the bill-to email frozen on the document; 400 naming `/to` when there is none',
        }),
      ),
      cc: t.Optional(t.Array(Address, { maxItems: MAX_RECIPIENTS })),
      subject: t.Optional(
        t.String({
          minLength: 1,
          maxLength: 200,
          description: 'One line. Default: "Invoice INV-0001 from <company>" ("Credit note CN-0001 from …")',
        }),
      ),
      message: t.Optional(
        t.String({
          minLength: 1,
          maxLength: 5000,
          description: 'Shown above the document summary; may have lines',
        }),
      ),
      attachPdf: t.Optional(t.Boolean({ default: true, description: 'Attach the stored PDF. Default true' })),
    },
    {
      additionalProperties: false,
      examples: [{ to: ['billing@example.com'], message: 'Thank you for your business.' }],
    },
  ),
)
export type SendEmail = typeof SendEmail.static

export const EmailQueued = named(
  'EmailQueued',
  t.Object(
    {
      id: t.String({ format: 'uuid', description: 'The email, as listed by `…/emails`' }),
      status: t.Literal('queued'),
    },
    { description: 'Accepted: a background job sends it; follow its status in `…/emails`' },
  ),
)
export type EmailQueued = typeof EmailQueued.static

export const Email = named(
  'Email',
  t.Object({
    id: t.String({ format: 'uuid' }),
    kind: literals(EMAIL_KINDS, {
      description: '`document`: asked for with send-email; `reminder`: a payment reminder',
    }),
    to: t.Array(t.String()),
    cc: t.Array(t.String()),
    subject: t.String(),
    status: literals(EMAIL_STATUSES, {
      description:
        '`queued`, `sending` (an attempt runs), `retrying` (a temporary failure; tried again with backoff for 24 h), ' +
        '`sent` (the mail server accepted it), `failed` (a permanent failure, retries exhausted, or a reminder ' +
        'cancelled because nothing is due any more; see `lastError`)',
    }),
    attempts: t.Integer({ minimum: 0 }),
    sentAt: Nullable(t.String({ format: 'date-time' })),
    lastError: Nullable(t.String()),
    createdAt: t.String({ format: 'date-time' }),
  }),
)
export type Email = typeof Email.static

export const EmailList = named(
  'EmailList',
  t.Object({ data: t.Array(Email, { description: 'Newest first' }) }),
)
export type EmailList = typeof EmailList.static
