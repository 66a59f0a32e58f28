import { openapi } from '@elysiajs/openapi'
import pkg from '../../package.json'
import { restoreFastFormats } from '../shared/formats'

restoreFastFormats()

export const openapiPlugin = () =>
  openapi({
    path: '/docs',
    specPath: '/docs/json',
    provider: null,
    exclude: { paths: ['/files/*', '/metrics'] },
    documentation: {
      info: {
        title: 'Invoice API',
        version: pkg.version,
        description:
          'Customers, invoices with line items, taxes and discounts, payments, reports, and issued invoices as PDFs ' +
          'behind short-lived links. Money is integer minor units of the invoice currency. Every error answers ' +
          '`{ "error": { "code", "message", "requestId", "details"? } }`.',
      },
      tags: [
        { name: 'Health', description: 'Liveness and readiness' },
        { name: 'Profile', description: 'The signed-in user and their business profile' },
        { name: 'Invoices', description: 'Drafts, issuing, payments, voiding and the audit trail' },
        { name: 'Customers', description: 'The people and companies invoices are billed to' },
        { name: 'Reports', description: 'Receivables, aging and revenue, per currency' },
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
