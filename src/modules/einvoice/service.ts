import { failed, type PdfStoreDeps, within } from '../../lib/documents/store'
import { checkDocument, type EInvoiceDocument, type EInvoiceProblem, toCii, toUbl } from '../../lib/einvoice'
import { AppError } from '../../shared/errors'
import { E_INVOICE_FORMATS, type EInvoiceChecks, type EInvoiceFormatName, type EInvoiceLink } from './model'

export { type EInvoiceSource, type EInvoiceSourceLine, toEInvoiceDocument } from './document'
export { E_INVOICE_FORMATS, type EInvoiceFormatName } from './model'

export interface EInvoiceStoreDeps extends Pick<PdfStoreDeps, 'storage' | 'storageTimeoutMs'> {
  pdfUrlTtlSeconds: number
}

/** The content type e-invoice XML is stored and downloaded with. */
export const XML_CONTENT_TYPE = 'application/xml'

/** What each format lacks, in the order of `E_INVOICE_FORMATS`. */
export function checkAll(doc: EInvoiceDocument): EInvoiceChecks {
  return {
    data: E_INVOICE_FORMATS.map((format) => {
      const problems = checkDocument(doc, format)
      return { format, ready: problems.length === 0, problems }
    }),
  }
}

/** 422 EINVOICE_INCOMPLETE, naming each field to fill and the rule it would fail. */
export function incomplete(format: EInvoiceFormatName, problems: readonly EInvoiceProblem[]): AppError {
  return new AppError(
    'EINVOICE_INCOMPLETE',
    `The ${format} e-invoice cannot be generated: required data is missing`,
    { details: problems.map(({ path, message, rule }) => ({ path, message, rule })) },
  )
}

/** Refuses an incomplete document before anything is written: an invalid e-invoice is never emitted. */
export function assertComplete(doc: EInvoiceDocument, format: EInvoiceFormatName): void {
  const problems = checkDocument(doc, format)
  if (problems.length > 0) throw incomplete(format, problems)
}

/** The XML of a complete document: CII for Factur-X and XRechnung, UBL otherwise. Deterministic. */
export function xmlOf(doc: EInvoiceDocument, format: EInvoiceFormatName): string {
  assertComplete(doc, format)
  return format === 'ubl' ? toUbl(doc) : toCii(doc, format)
}

/**
 * Where a document's e-invoice is stored: beside its PDF, under the PDF key's random part (which nobody can
 * guess), so the key needs no column and the same document always lands on the same object.
 */
export const eInvoiceKey = (pdfKey: string, format: Exclude<EInvoiceFormatName, 'facturx'>) =>
  `${pdfKey.replace(/\.pdf$/, '')}.${format}.xml`

export const eInvoiceFilename = (number: string, format: EInvoiceFormatName) =>
  format === 'facturx' ? `${number}.pdf` : `${number}-${format}.xml`

/**
 * Stores the XML (again: it is the same bytes for the same frozen document) and answers a fresh link to it; a
 * store that cannot be reached is a 502, as for PDFs.
 */
export async function storeAndLink(
  deps: EInvoiceStoreDeps,
  key: string,
  xml: string,
  format: Exclude<EInvoiceFormatName, 'facturx'>,
  number: string,
): Promise<EInvoiceLink> {
  const filename = eInvoiceFilename(number, format)
  try {
    await within(
      deps.storage.put(key, new TextEncoder().encode(xml), XML_CONTENT_TYPE),
      deps.storageTimeoutMs,
      'storage',
    )
  } catch (error) {
    throw failed('The e-invoice could not be stored; retry shortly', error, { key })
  }
  const link = await deps.storage.signedDownloadUrl(key, { filename, ttlSeconds: deps.pdfUrlTtlSeconds })
  return { url: link.url, expiresAt: link.expiresAt.toISOString(), format, filename }
}
