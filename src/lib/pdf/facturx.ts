import { createHash } from 'node:crypto'
import type { Doc } from './layout.ts'
import type { FacturxConformance, FacturxOptions } from './options.ts'
import type { DocumentView } from './view.ts'

/** The name the Factur-X specification gives the embedded XML; readers look for exactly this one. */
export const FACTURX_FILE_NAME = 'factur-x.xml'

/** The namespace of the Factur-X XMP extension schema (Factur-X 1.0). */
export const FACTURX_XMP_NAMESPACE = 'urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#'

/** The profiles a document can declare; the product writes EN 16931, EXTENDED is there for richer data. */
const FACTURX_CONFORMANCE: readonly FacturxConformance[] = ['EN 16931', 'EXTENDED']

/** pdfkit's options for a PDF/A-3b: XMP with `pdfaid`, the sRGB output intent, PDF 1.7. */
export const FACTURX_DOCUMENT_OPTIONS = { subset: 'PDF/A-3b', pdfVersion: '1.7' } as const

/** pdfkit's internals this module relies on, at the pinned version. */
type PdfkitInternals = {
  info: Record<string, string | Date | undefined>
  appendXML(xml: string, newline?: boolean): void
  _addInfo(): void
  _root: { data: { AF?: unknown[] } }
  addNamedEmbeddedFile(name: string, ref: unknown): void
  ref(data: Record<string, unknown>): { data: Record<string, unknown>; end(chunk?: Uint8Array): void }
}

const internals = (doc: Doc) => doc as unknown as PdfkitInternals

/** Whether XML 1.0 allows the code point in a document: tab, line feed, carriage return and from space on. */
const xmlChar = (code: number) =>
  code === 0x9 ||
  code === 0xa ||
  code === 0xd ||
  (code >= 0x20 && (code < 0xd800 || code > 0xdfff) && code !== 0xfffe && code !== 0xffff)

/** Text for an XML element: escaped, and without the control characters XML cannot carry. */
export function xmlText(value: string): string {
  return Array.from(value, (char) => (xmlChar(char.codePointAt(0)!) ? char : ''))
    .join('')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
}

/** An XMP date: ISO 8601 in UTC to the second, the instant pdfkit writes as D:…Z in the info dictionary. */
const xmpDate = (date: Date) => `${date.toISOString().slice(0, 19)}Z`

/**
 * The document information as XMP, equal to the info dictionary as PDF/A requires (title, author, subject,
 * producer, creator, creation and modification dates). It replaces pdfkit's own, which writes the values
 * unescaped (a company named "A & B" would break the XML) and leaves out the modification date.
 */
function documentInfoXmp(info: PdfkitInternals['info']): string {
  const text = (key: string) => (typeof info[key] === 'string' ? xmlText(info[key]) : undefined)
  const date = (key: string) => (info[key] instanceof Date ? xmpDate(info[key]) : undefined)
  const xmp = [
    ['CreateDate', date('CreationDate')],
    ['ModifyDate', date('ModDate')],
    ['MetadataDate', date('ModDate') ?? date('CreationDate')],
    ['CreatorTool', text('Creator')],
  ].filter((entry): entry is [string, string] => entry[1] !== undefined)
  const title = text('Title')
  const author = text('Author')
  const subject = text('Subject')
  const producer = text('Producer')
  return [
    '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">',
    ...xmp.map(([name, value]) => `<xmp:${name}>${value}</xmp:${name}>`),
    '</rdf:Description>',
    '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">',
    '<dc:format>application/pdf</dc:format>',
    ...(title
      ? [`<dc:title><rdf:Alt><rdf:li xml:lang="x-default">${title}</rdf:li></rdf:Alt></dc:title>`]
      : []),
    ...(author ? [`<dc:creator><rdf:Seq><rdf:li>${author}</rdf:li></rdf:Seq></dc:creator>`] : []),
    ...(subject
      ? [
          `<dc:description><rdf:Alt><rdf:li xml:lang="x-default">${subject}</rdf:li></rdf:Alt></dc:description>`,
        ]
      : []),
    '</rdf:Description>',
    '<rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">',
    ...(producer ? [`<pdf:Producer>${producer}</pdf:Producer>`] : []),
    '</rdf:Description>',
  ].join('\n')
}

/** One property of the Factur-X schema, as the PDF/A extension schema describes it. */
const FACTURX_PROPERTIES: [name: string, description: string][] = [
  ['DocumentFileName', 'The name of the embedded XML document'],
  ['DocumentType', 'The type of the hybrid document in capital letters, e.g. INVOICE or ORDER'],
  ['Version', 'The actual version of the standard applying to the embedded XML document'],
  ['ConformanceLevel', 'The conformance level of the embedded XML document'],
]

/**
 * The Factur-X XMP: the `fx:` properties, and the PDF/A extension schema that declares them (PDF/A allows
 * properties outside the predefined schemas only when the file describes them so).
 */
export function facturxXmp(conformance: FacturxOptions['conformance']): string {
  const properties = FACTURX_PROPERTIES.map(([name, description]) =>
    [
      '<rdf:li rdf:parseType="Resource">',
      `<pdfaProperty:name>${name}</pdfaProperty:name>`,
      '<pdfaProperty:valueType>Text</pdfaProperty:valueType>',
      '<pdfaProperty:category>external</pdfaProperty:category>',
      `<pdfaProperty:description>${description}</pdfaProperty:description>`,
      '</rdf:li>',
    ].join('\n'),
  )
  return [
    '<rdf:Description rdf:about=""',
    ' xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"',
    ' xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"',
    ' xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">',
    '<pdfaExtension:schemas>',
    '<rdf:Bag>',
    '<rdf:li rdf:parseType="Resource">',
    '<pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>',
    `<pdfaSchema:namespaceURI>${FACTURX_XMP_NAMESPACE}</pdfaSchema:namespaceURI>`,
    '<pdfaSchema:prefix>fx</pdfaSchema:prefix>',
    '<pdfaSchema:property>',
    '<rdf:Seq>',
    ...properties,
    '</rdf:Seq>',
    '</pdfaSchema:property>',
    '</rdf:li>',
    '</rdf:Bag>',
    '</pdfaExtension:schemas>',
    '</rdf:Description>',
    `<rdf:Description rdf:about="" xmlns:fx="${FACTURX_XMP_NAMESPACE}">`,
    // Credit notes too: the Factur-X document type is the family (INVOICE), the CII's type code tells 380 from 381.
    '<fx:DocumentType>INVOICE</fx:DocumentType>',
    `<fx:DocumentFileName>${FACTURX_FILE_NAME}</fx:DocumentFileName>`,
    '<fx:Version>1.0</fx:Version>',
    `<fx:ConformanceLevel>${conformance}</fx:ConformanceLevel>`,
    '</rdf:Description>',
  ].join('\n')
}

/**
 * Refuses options that would make a wrong file, before anything is laid out: they may come from another thread,
 * where the compiler checked nothing.
 */
export function checkFacturxOptions(facturx: FacturxOptions): void {
  if (!FACTURX_CONFORMANCE.includes(facturx.conformance)) {
    throw new RangeError(`Unknown Factur-X conformance level: ${String(facturx.conformance)}`)
  }
  if (typeof facturx.xml !== 'string' || facturx.xml.trim() === '') {
    throw new RangeError('The Factur-X XML is empty')
  }
}

/**
 * Makes `doc` (created with FACTURX_DOCUMENT_OPTIONS) a Factur-X document: embeds the XML as `factur-x.xml`,
 * an associated file of the document (catalog /AF) listed in /Names /EmbeddedFiles, and writes the Factur-X
 * XMP. Call it once, before `doc.end()`, with options `checkFacturxOptions` accepted. Dates are the
 * document's own, so the same input gives the same bytes.
 *
 * The relationship is /Data. Factur-X 1.0.07 allows /Data, /Source or /Alternative for the XML (MINIMUM and
 * BASIC WL must use /Data) and takes /Data as the general case: the XML carries the data of the invoice the
 * PDF shows. /Alternative, which presents the XML as an equivalent rendition of the document, is the
 * German (ZUGFeRD) custom, and /Source would claim the PDF was produced from the XML, which it is not (both
 * are produced from the snapshot). The PDF stays the document of record, so /Data states it exactly.
 * Readers of either flavour find the XML by its name, `factur-x.xml`, not by the relationship.
 */
export function embedFacturx(doc: Doc, view: DocumentView, facturx: FacturxOptions): void {
  const pdf = internals(doc)
  const bytes = new TextEncoder().encode(facturx.xml)

  const file = pdf.ref({
    Type: 'EmbeddedFile',
    // A name object: pdfkit writes strings as names verbatim, so the "/" is escaped as the syntax requires.
    Subtype: 'text#2Fxml',
    Params: {
      Size: bytes.byteLength,
      // A 16-byte string, the MD5 of the uncompressed file (ISO 32000-1, table 46).
      CheckSum: new Uint8Array(createHash('md5').update(bytes).digest()),
      CreationDate: view.date,
      ModDate: view.date,
    },
  })
  file.end(bytes)

  const name = new String(FACTURX_FILE_NAME)
  const spec = pdf.ref({
    Type: 'Filespec',
    F: name,
    UF: name,
    Desc: new String('Factur-X invoice data (CII)'),
    AFRelationship: 'Data',
    EF: { F: file, UF: file },
  })
  spec.end()
  pdf.addNamedEmbeddedFile(FACTURX_FILE_NAME, spec)
  pdf._root.data.AF = [...(pdf._root.data.AF ?? []), spec]

  pdf._addInfo = () => pdf.appendXML(documentInfoXmp(pdf.info))
  pdf.appendXML(facturxXmp(facturx.conformance))
}
