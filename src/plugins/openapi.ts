import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import pkg from '../../package.json'
import { restoreFastFormats } from '../shared/formats'
import { finishDocument, type OpenApiDocument } from './openapi-document'

restoreFastFormats()

export const SPEC_PATH = '/docs/json'

/**
 * The OpenAPI document at `/docs/json`: what `@elysiajs/openapi` derives from the route schemas, finished by
 * openapi-document.ts (every answer with its headers and error codes, named schemas, standard formats).
 * The plugin keeps its generated document until routes change; the finished one is kept alongside it.
 */
export const openapiPlugin = () => {
  const finished = new WeakMap<object, OpenApiDocument>()
  const finish = (generated: OpenApiDocument) => {
    let document = finished.get(generated)
    if (!document) {
      document = finishDocument(generated)
      finished.set(generated, document)
    }
    return document
  }
  return new Elysia({ name: 'openapi-document' })
    .onAfterHandle(({ path, response }) =>
      path === SPEC_PATH ? finish(response as OpenApiDocument) : undefined,
    )
    .use(openapiGenerator())
}

const openapiGenerator = () =>
  openapi({
    path: '/docs',
    specPath: SPEC_PATH,
    provider: null,
    exclude: { paths: ['/files/*', '/metrics'] },
    documentation: {
      info: {
        title: 'Invoice API',
        version: pkg.version,
        description:
          'Customers, invoices with line items, taxes and discounts, payments, reports, and issued invoices as PDFs ' +
          'behind short-lived links. Money is integer minor units of the invoice currency. Every error answers ' +
          '`{ "error": { "code", "message", "requestId", "details"? } }`; each answer below lists the codes it can ' +
          'carry.\n\nEvery answer also carries `Strict-Transport-Security`, `X-Content-Type-Options: nosniff`, ' +
          '`X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`, `Cross-Origin-Opener-Policy: same-origin` and ' +
          '`X-Permitted-Cross-Domain-Policies: none`; the headers particular to an answer are listed with it. ' +
          '`HEAD` is answered wherever `GET` is, without the body.',
        license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
      },
      servers: [{ url: '/', description: 'This server' }],
      tags: [
        { name: 'Health', description: 'Liveness and readiness' },
        { name: 'Profile', description: 'The signed-in user and their business profile' },
        { name: 'Invoices', description: 'Drafts, issuing, payments, voiding and the audit trail' },
        {
          name: 'Credit notes',
          description: 'Corrections of issued invoices, in a numbered series of their own',
        },
        { name: 'Customers', description: 'The people and companies invoices are billed to' },
        { name: 'Reports', description: 'Receivables, aging and revenue, per currency' },
        { name: 'Webhooks', description: 'The event log, and endpoints that receive it as signed webhooks' },
        {
          name: 'Hosted pages',
          description:
            'Public HTML pages of issued invoices and credit notes for their customers, opened by the secret ' +
            'link (`hostedUrl`) alone; not part of the JSON API',
        },
      ],
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'An Amazon Cognito user-pool access or ID token',
          },
        },
      },
      security: [{ bearer: [] }],
    },
  })
