import { t } from 'elysia'
import { errorAnswers, errorsSending, literals, named, sends } from '../../shared/schemas'

/** The e-invoices the API hands out (API.md "E-invoicing (EN 16931)"). */
export const E_INVOICE_FORMATS = ['facturx', 'xrechnung-cii', 'ubl'] as const
export type EInvoiceFormatName = (typeof E_INVOICE_FORMATS)[number]

const formatName = () =>
  literals(E_INVOICE_FORMATS, {
    description:
      '`facturx`: Factur-X / ZUGFeRD (EN 16931 profile), the issued PDF itself with its CII embedded; ' +
      '`xrechnung-cii`: XRechnung 3.0 in CII syntax; `ubl`: UBL 2.1, EN 16931 core',
  })

export const EInvoiceQuery = t.Object({ format: formatName() }, { additionalProperties: false })

export const EInvoiceLink = named(
  'EInvoiceLink',
  t.Object(
    {
      url: t.String({ description: 'Downloads the file as an attachment named `filename`' }),
      expiresAt: t.String({ format: 'date-time', description: 'When the link stops working' }),
      format: formatName(),
      filename: t.String({
        description: '`<number>.pdf` for `facturx`, else `<number>-<format>.xml`',
        examples: ['INV-0001-xrechnung-cii.xml'],
      }),
    },
    {
      description: 'A fresh, short-lived link to the stored e-invoice',
      examples: [
        {
          url: 'https://files.example.com/invoices/…/INV-0001-ubl.xml',
          expiresAt: '2026-01-15T12:15:00.000Z',
          format: 'ubl',
          filename: 'INV-0001-ubl.xml',
        },
      ],
    },
  ),
)
export type EInvoiceLink = typeof EInvoiceLink.static

/** What the e-invoice link routes of invoices and credit notes answer (the link is never cached). */
export const EInvoiceLinkAnswers = {
  200: sends(EInvoiceLink, 'Cache-Control'),
  ...errorsSending(
    errorAnswers('NOT_FOUND', 'INVALID_STATUS_TRANSITION', 'EINVOICE_INCOMPLETE', 'PDF_GENERATION_FAILED'),
    'Cache-Control',
  ),
}

export const EInvoiceProblem = named(
  'EInvoiceProblem',
  t.Object({
    path: t.String({
      description: 'The API field to fill, e.g. `/profile/taxId` or `/customer/buyerReference`',
    }),
    message: t.String(),
    rule: t.String({
      description: 'The EN 16931 or XRechnung rule the document would fail, e.g. `BR-CO-26`',
    }),
  }),
)

export const EInvoiceChecks = named(
  'EInvoiceChecks',
  t.Object(
    {
      data: t.Array(
        t.Object({
          format: formatName(),
          ready: t.Boolean({ description: 'True when nothing is missing: the format can be generated' }),
          problems: t.Array(EInvoiceProblem),
        }),
      ),
    },
    {
      description: 'What each e-invoice format still lacks, in the order facturx, xrechnung-cii, ubl',
      examples: [
        {
          data: [
            { format: 'facturx', ready: true, problems: [] },
            {
              format: 'xrechnung-cii',
              ready: false,
              problems: [
                {
                  path: '/customer/buyerReference',
                  message: 'XRechnung needs the buyer reference (Leitweg-ID)',
                  rule: 'BR-DE-15',
                },
              ],
            },
            { format: 'ubl', ready: true, problems: [] },
          ],
        },
      ],
    },
  ),
)
export type EInvoiceChecks = typeof EInvoiceChecks.static
