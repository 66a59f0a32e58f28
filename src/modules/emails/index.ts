import { Elysia } from 'elysia'
import type { Database } from '../../lib/db'
import type { JobQueue } from '../../lib/jobs'
import type { AuthPlugin } from '../../plugins/auth'
import { errorAnswers } from '../../shared/schemas'
import { IdempotencyHeaders } from '../idempotency/model'
import { respond, withIdempotency } from '../idempotency/service'
import { statusesAllowing } from '../invoices/lifecycle'
import { EmailList, EmailParams, EmailQueued, SendEmail } from './model'
import { type EmailDocument, listDocumentEmails, queueEmail } from './service'

const INVOICES = '/api/v1/invoices'
const CREDIT_NOTES = '/api/v1/credit-notes'

const invoiceStatuses = statusesAllowing('email')
  .map((status) => `\`${status}\``)
  .join(', ')

const SENDING =
  'Sent from a background job over SMTP, with `Reply-To` = the profile email, text and HTML parts (amounts and ' +
  "dates in the profile's locale), the hosted page link and, unless `attachPdf` is false, the PDF. `to` " +
  'defaults to the bill-to email (400 naming `/to` when there is none). Temporary failures are retried with ' +
  'backoff for about 24 h; follow the status in the emails list.'

export function emailsModule(deps: {
  db: Database
  auth: AuthPlugin
  jobs: Pick<JobQueue, 'send'>
  mailFrom: string
}) {
  const { db } = deps
  const queue = { jobs: deps.jobs, mailFrom: deps.mailFrom }

  /** The POST of a document's send-email: once per Idempotency-Key, the email and its job in one transaction. */
  const send = async (
    userId: string,
    document: EmailDocument,
    path: string,
    body: SendEmail,
    key: string | undefined,
    set: Parameters<typeof respond>[0],
  ) => {
    const request = { userId, key, method: 'POST', path, body }
    const answer = await withIdempotency(db, request, async (trx) => ({
      status: 202,
      body: await queueEmail(trx, queue, userId, document, body),
    }))
    return respond(set, answer)
  }

  return new Elysia({ name: 'emails' })
    .use(deps.auth)
    .post(
      `${INVOICES}/:id/send-email`,
      ({ user, params, body, headers, set }) =>
        send(
          user.id,
          { type: 'invoice', id: params.id },
          `${INVOICES}/${params.id}/send-email`,
          body,
          headers['idempotency-key'],
          set,
        ),
      {
        params: EmailParams,
        body: SendEmail,
        parse: 'json',
        headers: IdempotencyHeaders,
        response: { 202: EmailQueued, ...errorAnswers('NOT_FOUND', 'INVALID_STATUS_TRANSITION') },
        detail: {
          tags: ['Invoices'],
          operationId: 'sendInvoiceEmail',
          summary: 'Email an issued invoice',
          description: `Only a ${invoiceStatuses} invoice (else 409). ${SENDING}`,
        },
      },
    )
    .get(
      `${INVOICES}/:id/emails`,
      ({ user, params }) => listDocumentEmails(db, user.id, { type: 'invoice', id: params.id }),
      {
        params: EmailParams,
        response: { 200: EmailList, ...errorAnswers('NOT_FOUND') },
        detail: {
          tags: ['Invoices'],
          operationId: 'listInvoiceEmails',
          summary: "The invoice's emails, newest first",
          description: 'Every email of the invoice, payment reminders included, with its delivery status.',
        },
      },
    )
    .post(
      `${CREDIT_NOTES}/:id/send-email`,
      ({ user, params, body, headers, set }) =>
        send(
          user.id,
          { type: 'credit_note', id: params.id },
          `${CREDIT_NOTES}/${params.id}/send-email`,
          body,
          headers['idempotency-key'],
          set,
        ),
      {
        params: EmailParams,
        body: SendEmail,
        parse: 'json',
        headers: IdempotencyHeaders,
        response: { 202: EmailQueued, ...errorAnswers('NOT_FOUND') },
        detail: {
          tags: ['Credit notes'],
          operationId: 'sendCreditNoteEmail',
          summary: 'Email a credit note',
          description: `Credit notes can always be sent. ${SENDING}`,
        },
      },
    )
    .get(
      `${CREDIT_NOTES}/:id/emails`,
      ({ user, params }) => listDocumentEmails(db, user.id, { type: 'credit_note', id: params.id }),
      {
        params: EmailParams,
        response: { 200: EmailList, ...errorAnswers('NOT_FOUND') },
        detail: {
          tags: ['Credit notes'],
          operationId: 'listCreditNoteEmails',
          summary: "The credit note's emails, newest first",
          description: 'Every email of the credit note, with its delivery status.',
        },
      },
    )
}
