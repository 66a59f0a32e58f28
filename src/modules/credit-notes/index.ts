import { Elysia } from 'elysia'
import type { Config } from '../../config'
import type { Database } from '../../lib/db'
import type { Logger } from '../../lib/logger'
import type { Metrics } from '../../lib/metrics'
import type { ObjectStorage } from '../../lib/storage'
import type { AuthPlugin } from '../../plugins/auth'
import { etagFor } from '../../shared/etag'
import { inNumberingLane } from '../../shared/numbering-lane'
import { errorAnswers, errorsSending, PdfLink, sends } from '../../shared/schemas'
import { EInvoiceLinkAnswers, EInvoiceQuery } from '../einvoice/model'
import { ChangeHeaders, IdempotencyHeaders } from '../idempotency/model'
import { respond, withIdempotency } from '../idempotency/service'
import { statusesAllowing } from '../invoices/lifecycle'
import { HostedLink, InvoiceParams } from '../invoices/model'
import type { Outbox } from '../webhooks/outbox'
import { CreditNote, CreditNoteCreate, CreditNoteList, CreditNoteListQuery, CreditNoteParams } from './model'
import {
  type CreditNoteDeps,
  creditNoteEInvoiceLink,
  creditNotePdfLink,
  ETAG_KIND,
  getCreditNoteVersioned,
  issueCreditNote,
  listCreditNotes,
  rotateCreditNoteLink,
} from './service'

export const CREDIT_NOTES_PREFIX = '/api/v1/credit-notes'

/** A credit note's content never changes; its version moves only when its hosted link is rotated. */
const creditNoteEtag = (note: CreditNote, version: number) => etagFor(ETAG_KIND, note.id, version)

export interface CreditNotesModuleDeps {
  db: Database
  auth: AuthPlugin
  storage: ObjectStorage
  metrics: Metrics
  config: Pick<Config, 'pdfUrlTtlSeconds' | 'storageTimeoutMs'>
  logger: Logger
  outbox: Outbox
}

const creditable = statusesAllowing('credit')
  .map((status) => `\`${status}\``)
  .join(', ')

/** Credit notes: issued against an invoice, then read, listed and downloaded on their own. */
export function creditNotesModule(deps: CreditNotesModuleDeps) {
  const { db } = deps
  const documents: CreditNoteDeps = {
    outbox: deps.outbox,
    storage: deps.storage,
    metrics: deps.metrics,
    logger: deps.logger,
    storageTimeoutMs: deps.config.storageTimeoutMs,
    pdfUrlTtlSeconds: deps.config.pdfUrlTtlSeconds,
  }
  return new Elysia({ name: 'credit-notes', prefix: '/api/v1', detail: { tags: ['Credit notes'] } })
    .use(deps.auth)
    .post(
      '/invoices/:id/credit-notes',
      async ({ user, params, body, headers, set, status }) => {
        const path = `/api/v1/invoices/${params.id}/credit-notes`
        const request = { userId: user.id, key: headers['idempotency-key'], method: 'POST', path, body }
        const answer = await inNumberingLane(user.id, () =>
          withIdempotency(db, request, async (trx) => {
            const note = await issueCreditNote(
              trx,
              documents,
              user.id,
              params.id,
              body,
              headers['if-match'] ?? null,
            )
            return {
              status: 201,
              body: note,
              headers: { etag: creditNoteEtag(note, 1), location: `${CREDIT_NOTES_PREFIX}/${note.id}` },
            }
          }),
        )
        return status(201, respond(set, answer))
      },
      {
        params: InvoiceParams,
        body: CreditNoteCreate,
        parse: 'json',
        headers: ChangeHeaders,
        response: {
          201: sends(CreditNote, 'ETag', 'Location'),
          ...errorAnswers(
            'NOT_FOUND',
            'INVALID_STATUS_TRANSITION',
            'CREDIT_EXCEEDS_INVOICE',
            'EINVOICE_INCOMPLETE',
            'PDF_GENERATION_FAILED',
          ),
        },
        detail: {
          operationId: 'createCreditNote',
          summary: 'Issue a credit note against an invoice',
          description:
            `On a ${creditable} invoice (409 \`INVALID_STATUS_TRANSITION\` otherwise). \`items\` credit a ` +
            'quantity of invoice lines; without it, everything not yet credited. A line is priced by its ' +
            "invoice line's rules on the quantity credited so far, less what earlier notes took, so a line's " +
            'credits always add up to the line and crediting everything reaches `creditedTotal = total` ' +
            '(status `credited`). A quantity above what is left of its line, or a total above what is left ' +
            'to credit, is 422 `CREDIT_EXCEEDS_INVOICE`; concurrent notes and payments of one invoice apply ' +
            'one after the other. Numbered `creditNotePrefix` + a gapless series of its own; bill-to and ' +
            'seller are frozen and the PDF is stored, all in one transaction: 502 `PDF_GENERATION_FAILED` ' +
            'consumes no number and changes nothing. `appliedToBalance` is what the note took off the amount ' +
            "due, `refundDue` what was already paid and is owed back. With the profile's `eInvoiceFormat: " +
            '"facturx"` the PDF is a Factur-X (type 381, referencing the invoice), and incomplete e-invoice ' +
            'data is refused first with 422 `EINVOICE_INCOMPLETE`, before a number is taken.',
        },
      },
    )
    .get('/credit-notes', ({ user, query }) => listCreditNotes(db, user.id, query), {
      query: CreditNoteListQuery,
      response: { 200: CreditNoteList },
      detail: {
        operationId: 'listCreditNotes',
        summary: 'List credit notes',
        description: 'Newest number first; filters combine. Pages follow `nextCursor`.',
      },
    })
    .get(
      '/credit-notes/:id',
      async ({ user, params, set }) => {
        const { note, version } = await getCreditNoteVersioned(db, user.id, params.id)
        set.headers['etag'] = creditNoteEtag(note, version)
        return note
      },
      {
        params: CreditNoteParams,
        response: { 200: sends(CreditNote, 'ETag'), ...errorAnswers('NOT_FOUND') },
        detail: {
          operationId: 'getCreditNote',
          summary: 'One credit note',
          description: 'Immutable once issued.',
        },
      },
    )
    .post(
      '/credit-notes/:id/hosted-link/rotate',
      async ({ user, params, headers, set }) => {
        const path = `${CREDIT_NOTES_PREFIX}/${params.id}/hosted-link/rotate`
        const request = { userId: user.id, key: headers['idempotency-key'], method: 'POST', path, body: null }
        const answer = await withIdempotency(db, request, async (trx) => ({
          status: 200,
          body: await rotateCreditNoteLink(trx, user.id, params.id),
        }))
        return respond(set, answer)
      },
      {
        params: CreditNoteParams,
        headers: IdempotencyHeaders,
        response: { 200: HostedLink, ...errorAnswers('NOT_FOUND') },
        detail: {
          operationId: 'rotateCreditNoteHostedLink',
          summary: 'Replace the hosted page link',
          description: 'A new `hostedUrl` for the credit note; the old link stops working at once.',
        },
      },
    )
    .get(
      '/credit-notes/:id/pdf',
      async ({ user, params, set }) => {
        set.headers['cache-control'] = 'no-store'
        return creditNotePdfLink(db, documents, user.id, params.id)
      },
      {
        params: CreditNoteParams,
        response: {
          200: sends(PdfLink, 'Cache-Control'),
          ...errorsSending(errorAnswers('NOT_FOUND', 'PDF_GENERATION_FAILED'), 'Cache-Control'),
        },
        detail: {
          operationId: 'getCreditNotePdfLink',
          summary: "A download link to the credit note's PDF",
          description:
            'A fresh presigned link, valid for `PDF_URL_TTL_SECONDS`, that downloads the PDF as ' +
            '`attachment; filename="<number>.pdf"`. A PDF the store lost is rendered again from the frozen ' +
            'note first; 502 `PDF_GENERATION_FAILED` when the store cannot be reached.',
        },
      },
    )
    .get(
      '/credit-notes/:id/e-invoice',
      async ({ user, params, query, set }) => {
        set.headers['cache-control'] = 'no-store'
        return creditNoteEInvoiceLink(db, documents, user.id, params.id, query.format)
      },
      {
        params: CreditNoteParams,
        query: EInvoiceQuery,
        response: EInvoiceLinkAnswers,
        detail: {
          operationId: 'getCreditNoteEInvoiceLink',
          summary: "A download link to the credit note's EN 16931 e-invoice",
          description:
            'As for invoices: document type 381, referencing the invoice it corrects, generated from the frozen ' +
            'note. `facturx` is the PDF of record of a note issued as Factur-X, 409 `INVALID_STATUS_TRANSITION` ' +
            'for one issued as a plain PDF; 422 `EINVOICE_INCOMPLETE` when data is missing, and no file.',
        },
      },
    )
}
