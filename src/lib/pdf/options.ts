/** The Factur-X profile a document's embedded XML conforms to, as written in the PDF's XMP metadata. */
export type FacturxConformance = 'EN 16931' | 'EXTENDED'

/**
 * A Factur-X (ZUGFeRD 2.x) document: the PDF becomes a PDF/A-3b with `xml` (the CII of the same document)
 * embedded as `factur-x.xml`. The XML is embedded byte for byte as given.
 */
export type FacturxOptions = { xml: string; conformance: FacturxConformance }

/** How to render a document; plain data, so it crosses to the render worker as it is. */
export type RenderOptions = { facturx?: FacturxOptions }
