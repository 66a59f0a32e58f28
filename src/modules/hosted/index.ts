import { Elysia, t } from 'elysia'
import type { Config } from '../../config'
import type { Database } from '../../lib/db'
import type { Logger } from '../../lib/logger'
import type { Metrics } from '../../lib/metrics'
import type { ObjectStorage } from '../../lib/storage'
import { HOSTED_PREFIX, HOSTED_TOKEN } from '../../shared/links'
import { documentedAs, errorAnswers, htmlPage } from '../../shared/schemas'
import type { CreditNoteDeps } from '../credit-notes/service'
import type { IssuingDeps } from '../issuing/service'
import type { Outbox } from '../webhooks/outbox'
import { HOSTED_HEADERS, HTML_CONTENT_TYPE, renderDocument } from './pages'
import { hostedPage, hostedPdfLink } from './service'

export { hostedErrorPages } from './pages'

export interface HostedModuleDeps {
  db: Database
  storage: ObjectStorage
  metrics: Metrics
  config: Pick<Config, 'pdfUrlTtlSeconds' | 'storageTimeoutMs'>
  logger: Logger
  outbox: Outbox
}

// The shape is checked in the handler, not by the schema: a malformed token is a 404 like any unknown one, not a
// 400 that tells a guesser which tokens are well formed.
const HostedParams = t.Object({
  token: documentedAs(t.String({ description: 'The secret of the document’s link (its `hostedUrl`)' }), {
    pattern: HOSTED_TOKEN.source,
  }),
})

const ERRORS_AS_PAGES =
  'Errors answer a plain HTML page (the JSON error envelope when the request’s `Accept` asks for JSON and not ' +
  'HTML). Unknown, rotated and malformed tokens and drafts all answer the same 404 page.'

/**
 * The public pages of issued documents at `/i/{token}`: no bearer token, the link's secret is the key. Answers
 * carry a Content-Security-Policy that allows the inline stylesheet alone, and are neither stored nor indexed.
 */
export function hostedModule(deps: HostedModuleDeps) {
  const { db } = deps
  const documents = {
    storage: deps.storage,
    metrics: deps.metrics,
    logger: deps.logger,
    storageTimeoutMs: deps.config.storageTimeoutMs,
    pdfUrlTtlSeconds: deps.config.pdfUrlTtlSeconds,
  }
  const pdfDeps: { invoices: IssuingDeps; creditNotes: CreditNoteDeps } = {
    invoices: documents,
    creditNotes: { ...documents, outbox: deps.outbox },
  }
  const publicPage = { tags: ['Hosted pages'], security: [] }

  return new Elysia({ name: 'hosted', prefix: HOSTED_PREFIX })
    .get(
      '/:token',
      async ({ params, set }) => {
        const page = await hostedPage(db, params.token)
        Object.assign(set.headers, HOSTED_HEADERS)
        set.headers['content-type'] = HTML_CONTENT_TYPE
        return renderDocument(page)
      },
      {
        params: HostedParams,
        response: {
          200: htmlPage('The invoice or credit note as an HTML page that needs no script'),
          ...errorAnswers('NOT_FOUND'),
        },
        detail: {
          ...publicPage,
          operationId: 'getHostedPage',
          summary: 'The hosted page of an invoice or credit note',
          description:
            'The page a customer opens from the document’s `hostedUrl`: seller, buyer, dates, lines, totals, the ' +
            'amount due and the status in words, and, while something is due, how to pay. Amounts and dates follow ' +
            `the profile’s \`locale\`. ${ERRORS_AS_PAGES}`,
        },
      },
    )
    .get(
      '/:token/pdf',
      async ({ params, set }) => {
        const url = await hostedPdfLink(db, pdfDeps, params.token)
        Object.assign(set.headers, HOSTED_HEADERS)
        set.headers['location'] = url
        set.status = 302
      },
      {
        params: HostedParams,
        response: { 302: t.Void(), ...errorAnswers('NOT_FOUND', 'PDF_GENERATION_FAILED') },
        detail: {
          ...publicPage,
          operationId: 'downloadHostedPdf',
          summary: 'Download the document’s PDF',
          description:
            'Redirects to a fresh short-lived link to the stored PDF (rendered again first if the store lost it), ' +
            `so the page’s button works however long the page has been open. ${ERRORS_AS_PAGES}`,
        },
      },
    )
}
