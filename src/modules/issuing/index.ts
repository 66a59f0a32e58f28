import { Elysia } from 'elysia'
import type { Config } from '../../config'
import type { Database } from '../../lib/db'
import type { Logger } from '../../lib/logger'
import type { Metrics } from '../../lib/metrics'
import type { ObjectStorage } from '../../lib/storage'
import type { AuthPlugin } from '../../plugins/auth'
import { inNumberingLane } from '../../shared/numbering-lane'
import { errorAnswers, errorsSending, PdfLink, sends } from '../../shared/schemas'
import { EInvoiceChecks, EInvoiceLinkAnswers, EInvoiceQuery } from '../einvoice/model'
import { ChangeHeaders } from '../idempotency/model'
import { respond, withIdempotency } from '../idempotency/service'
import { INVOICES_PREFIX, invoiceEtag } from '../invoices'
import { Invoice, InvoiceParams } from '../invoices/model'
import type { Outbox } from '../webhooks/outbox'
import { checkInvoiceEInvoice, type IssuingDeps, invoiceEInvoiceLink, markAsSent, pdfLink } from './service'

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
        const answer = await inNumberingLane(user.id, () =>
          withIdempotency(db, request, async (trx) => {
            const sent = await markAsSent(trx, issuing, user.id, params.id, headers['if-match'] ?? null)
            return { status: 200, body: sent, headers: { etag: invoiceEtag(sent) } }
          }),
        )
        return respond(set, answer)
      },
      {
        params: InvoiceParams,
        headers: ChangeHeaders,
        response: {
          200: sends(Invoice, 'ETag'),
          ...errorAnswers(
            'NOT_FOUND',
            'INVALID_STATUS_TRANSITION',
            'EINVOICE_INCOMPLETE',
            'PDF_GENERATION_FAILED',
          ),
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
            'no number is used, and the same call can be retried. With the profile\'s `eInvoiceFormat: "facturx"` ' +
            'the PDF is a Factur-X PDF/A-3 with the CII embedded, and incomplete e-invoice data is refused first ' +
            'with 422 `EINVOICE_INCOMPLETE` (as `…/e-invoice/check` lists it), before a number is taken.',
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
    .get('/:id/e-invoice/check', ({ user, params }) => checkInvoiceEInvoice(db, user.id, params.id), {
      params: InvoiceParams,
      response: { 200: EInvoiceChecks, ...errorAnswers('NOT_FOUND') },
      detail: {
        operationId: 'checkInvoiceEInvoice',
        summary: 'What each e-invoice format still lacks',
        description:
          'For `facturx`, `xrechnung-cii` and `ubl`: whether the e-invoice can be generated, and otherwise each ' +
          'problem with the API field to fill (`path`) and the EN 16931 or XRechnung rule it would fail. An ' +
          'issued invoice is checked as frozen; a draft as it would be issued now (the live profile and ' +
          'customer). The same problems are the `details` of 422 `EINVOICE_INCOMPLETE`.',
      },
    })
    .get(
      '/:id/e-invoice',
      async ({ user, params, query, set }) => {
        set.headers['cache-control'] = 'no-store'
        return invoiceEInvoiceLink(db, issuing, user.id, params.id, query.format)
      },
      {
        params: InvoiceParams,
        query: EInvoiceQuery,
        response: EInvoiceLinkAnswers,
        detail: {
          operationId: 'getInvoiceEInvoiceLink',
          summary: "A download link to the invoice's EN 16931 e-invoice",
          description:
            'Generated from the frozen snapshot (the same bytes every time), stored beside the PDF and linked ' +
            'for `PDF_URL_TTL_SECONDS` (`application/xml`). `xrechnung-cii` and `ubl` exist for every issued ' +
            'invoice; `facturx` is the PDF of record of an invoice issued with `eInvoiceFormat: "facturx"` (the ' +
            'PDF link), and 409 `INVALID_STATUS_TRANSITION` for one issued as a plain PDF. Drafts: 409. Missing ' +
            'data: 422 `EINVOICE_INCOMPLETE` with each field and rule in `details`, and no file.',
        },
      },
    )
}
