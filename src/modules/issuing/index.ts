import { Elysia } from 'elysia'
import type { Config } from '../../config'
import type { Database } from '../../lib/db'
import type { Logger } from '../../lib/logger'
import type { Metrics } from '../../lib/metrics'
import type { ObjectStorage } from '../../lib/storage'
import type { AuthPlugin } from '../../plugins/auth'
import { errorAnswers, errorsSending, PdfLink, sends } from '../../shared/schemas'
import { ChangeHeaders } from '../idempotency/model'
import { respond, withIdempotency } from '../idempotency/service'
import { INVOICES_PREFIX, invoiceEtag } from '../invoices'
import { Invoice, InvoiceParams } from '../invoices/model'
import type { Outbox } from '../webhooks/outbox'
import { type IssuingDeps, markAsSent, pdfLink } from './service'

export interface IssuingModuleDeps {
  db: Database
  auth: AuthPlugin
  storage: ObjectStorage
  metrics: Metrics
  config: Pick<Config, 'pdfUrlTtlSeconds' | 'storageTimeoutMs'>
  logger: Logger
  outbox: Outbox
}

/** Issuing invoices: the number, the frozen snapshot and the stored PDF, and links to that PDF. */
export function issuingModule(deps: IssuingModuleDeps) {
  const { db } = deps
  const issuing: IssuingDeps & { outbox: Outbox } = {
    outbox: deps.outbox,
    storage: deps.storage,
    metrics: deps.metrics,
    logger: deps.logger,
    storageTimeoutMs: deps.config.storageTimeoutMs,
    pdfUrlTtlSeconds: deps.config.pdfUrlTtlSeconds,
  }
  return new Elysia({ name: 'issuing', prefix: INVOICES_PREFIX, detail: { tags: ['Invoices'] } })
    .use(deps.auth)
    .post(
      '/:id/mark-as-sent',
      async ({ user, params, headers, set }) => {
        const path = `${INVOICES_PREFIX}/${params.id}/mark-as-sent`
        const request = { userId: user.id, key: headers['idempotency-key'], method: 'POST', path, body: null }
        const answer = await withIdempotency(db, request, async (trx) => {
          const sent = await markAsSent(trx, issuing, user.id, params.id, headers['if-match'] ?? null)
          return { status: 200, body: sent, headers: { etag: invoiceEtag(sent) } }
        })
        return respond(set, answer)
      },
      {
        params: InvoiceParams,
        headers: ChangeHeaders,
        response: {
          200: sends(Invoice, 'ETag'),
          ...errorAnswers('NOT_FOUND', 'INVALID_STATUS_TRANSITION', 'PDF_GENERATION_FAILED'),
        },
        detail: {
          operationId: 'markInvoiceAsSent',
          summary: 'Issue a draft',
          description:
            'Takes the next number of the profile (`invoicePrefix` + at least 4 digits, gapless per user), ' +
            'freezes `billTo` and `from`, renders the PDF and stores it, all in one transaction. Only a draft ' +
            'with at least one item can be sent: 409 `INVALID_STATUS_TRANSITION` otherwise (of concurrent sends ' +
            'of one draft exactly one succeeds), 400 `VALIDATION_ERROR` on `/items` for a draft without items. ' +
            '502 `PDF_GENERATION_FAILED` when the PDF cannot be rendered or stored: the invoice stays a draft, ' +
            'no number is used, and the same call can be retried.',
        },
      },
    )
    .get(
      '/:id/pdf',
      async ({ user, params, set }) => {
        set.headers['cache-control'] = 'no-store'
        return pdfLink(db, issuing, user.id, params.id)
      },
      {
        params: InvoiceParams,
        response: {
          200: sends(PdfLink, 'Cache-Control'),
          ...errorsSending(errorAnswers('NOT_FOUND', 'PDF_GENERATION_FAILED'), 'Cache-Control'),
        },
        detail: {
          operationId: 'getInvoicePdfLink',
          summary: "A download link to the invoice's PDF",
          description:
            'A fresh presigned link, valid for `PDF_URL_TTL_SECONDS`, that downloads the PDF as ' +
            '`attachment; filename="<number>.pdf"`. Void and paid invoices keep their PDF. A draft has none yet: ' +
            '404 `NOT_FOUND`. If the store has lost the object, it is rendered again from the frozen snapshot ' +
            '(the same bytes, event `pdf_regenerated`) before the link is made; 502 `PDF_GENERATION_FAILED` ' +
            'when the store cannot be reached.',
        },
      },
    )
}
