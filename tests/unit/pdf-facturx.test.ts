import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { renderPdf } from '../../src/lib/documents/renderer.ts'
import { type PdfStoreDeps, renderAndStore } from '../../src/lib/documents/store.ts'
import { checkDocument, type EInvoiceDocument, toCii } from '../../src/lib/einvoice/index.ts'
import {
  type CreditNoteSnapshot,
  type DocumentSnapshot,
  type InvoiceSnapshot,
  type RenderOptions,
  renderCreditNotePdf,
  renderDocumentPdf,
  renderInvoicePdf,
} from '../../src/lib/pdf/index.ts'
import { sampleCreditNoteSnapshot, sampleInvoiceSnapshot } from '../../src/lib/pdf/sample.ts'
import { invoice } from '../einvoice/documents.ts'
import { fatalRuleIds, loadRules, schemaErrors } from '../helpers/einvoice-validate.ts'

setDefaultTimeout(30_000)

/**
 * The Factur-X PDF (API.md "E-invoicing"): a PDF/A-3b carrying the CII as `factur-x.xml`, read back with
 * poppler's own tools (Debian `poppler-utils`: pdfdetach, pdfinfo, pdffonts) and the official EN 16931 rules.
 */

const FX_NAMESPACE = 'urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#'

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b))
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/** The e-invoice of a sample snapshot: its lines, discount, number and dates, from the matrix's German seller. */
function eInvoiceOf(snapshot: DocumentSnapshot): EInvoiceDocument {
  const items = snapshot.items.map((item) => ({
    description: item.description,
    quantity: String(item.quantity),
    unitPrice: item.unitPrice,
    taxRate: String(item.taxRate),
  }))
  const options = { discountPercent: String(snapshot.discountPercent) }
  if (snapshot.kind === 'credit_note') {
    return invoice(items, options, {
      typeCode: '381',
      number: snapshot.number,
      issueDate: snapshot.issueDate,
      precedingInvoice: { number: snapshot.invoiceNumber, issueDate: snapshot.invoiceIssueDate },
      paymentTerms: `Credited against ${snapshot.invoiceNumber}; any balance is refunded.`,
    })
  }
  return invoice(items, options, { number: snapshot.number, issueDate: snapshot.issueDate })
}

function facturx(snapshot: DocumentSnapshot): { xml: string; options: RenderOptions } {
  const doc = eInvoiceOf(snapshot)
  expect(checkDocument(doc, 'facturx')).toEqual([])
  const xml = toCii(doc, 'facturx')
  return { xml, options: { facturx: { xml, conformance: 'EN 16931' } } }
}

let dir: string
let rules: unknown
let fileCount = 0

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'facturx-'))
  rules = await loadRules('en16931-cii')
})

afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function saved(bytes: Uint8Array): Promise<string> {
  const path = join(dir, `document-${++fileCount}.pdf`)
  await Bun.write(path, bytes)
  return path
}

/** Runs a command and answers its standard output; a failure fails the test with its standard error. */
async function run(command: string[], stdin?: string): Promise<string> {
  const child = Bun.spawn(command, {
    stdin: stdin === undefined ? 'ignore' : new TextEncoder().encode(stdin),
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ])
  if (exitCode !== 0) throw new Error(`${command.join(' ')} exited with ${exitCode}: ${stderr}`)
  return stdout
}

/** The names `pdfdetach -list` prints, one per embedded file. */
async function embeddedNames(pdf: string): Promise<string[]> {
  const listing = await run(['pdfdetach', '-list', pdf])
  return listing
    .split('\n')
    .slice(1)
    .map((line) => /^\s*\d+:\s*(.*)$/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined)
}

async function extracted(pdf: string): Promise<Uint8Array> {
  const out = join(dir, `extracted-${++fileCount}.xml`)
  await run(['pdfdetach', '-save', '1', '-o', out, pdf])
  return Bun.file(out).bytes()
}

/** `pdffonts`: the name and the "emb" column of each font. */
async function fonts(pdf: string): Promise<{ name: string; embedded: string }[]> {
  const lines = (await run(['pdffonts', pdf])).split('\n')
  const table = lines.slice(lines.findIndex((line) => line.startsWith('---')) + 1)
  return table
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const columns = line.trim().split(/\s+/)
      // name … type … encoding, then emb sub uni, object number and generation.
      return { name: columns[0]!, embedded: columns[columns.length - 5]! }
    })
}

/** The file's objects by number, each the dictionary it opens with (streams' data left out). */
function objects(bytes: Uint8Array): Map<number, string> {
  const text = new TextDecoder('latin1').decode(bytes)
  const found = new Map<number, string>()
  for (const match of text.matchAll(/\n(\d+) 0 obj\n(<<[\s\S]*?>>)\n(?:stream|endobj)/g)) {
    found.set(Number(match[1]), match[2]!)
  }
  return found
}

const ref = (dictionary: string, key: string) => {
  const match =
    new RegExp(`/${key} (\\d+) 0 R`).exec(dictionary) ??
    new RegExp(`/${key} \\[(\\d+) 0 R\\]`).exec(dictionary)
  return match ? Number(match[1]) : undefined
}

const xmpValue = (xmp: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xmp)?.[1]

describe('renderDocumentPdf with options.facturx, given an invoice', () => {
  const snapshot: InvoiceSnapshot = sampleInvoiceSnapshot(10)
  let xml: string
  let options: RenderOptions
  let bytes: Uint8Array
  let pdf: string

  beforeAll(async () => {
    ;({ xml, options } = facturx(snapshot))
    bytes = await renderDocumentPdf(snapshot, options)
    pdf = await saved(bytes)
  })

  test('then the file is a PDF 1.7 whose only embedded file is factur-x.xml, byte for byte the XML given', async () => {
    expect(new TextDecoder('latin1').decode(bytes.subarray(0, 9))).toBe('%PDF-1.7\n')
    expect(await embeddedNames(pdf)).toEqual(['factur-x.xml'])
    expect(same(await extracted(pdf), new TextEncoder().encode(xml))).toBe(true)
  })

  test('then the extracted XML passes the CII schema and the EN 16931 rules with nothing fatal', async () => {
    const cii = new TextDecoder().decode(await extracted(pdf))
    expect(cii).toContain('<ram:TypeCode>380</ram:TypeCode>')
    expect(await schemaErrors('cii', cii)).toEqual([])
    expect(await fatalRuleIds(rules, cii)).toEqual([])
  })

  test('then the XMP declares PDF/A-3b and the Factur-X schema, with the extension schema that describes it', async () => {
    const xmp = await run(['pdfinfo', '-meta', pdf])
    expect(await run(['xmllint', '--noout', '-'], xmp)).toBe('')
    expect(xmpValue(xmp, 'pdfaid:part')).toBe('3')
    expect(xmpValue(xmp, 'pdfaid:conformance')).toBe('B')

    expect(xmp).toContain(`xmlns:fx="${FX_NAMESPACE}"`)
    expect(xmpValue(xmp, 'fx:DocumentType')).toBe('INVOICE')
    expect(xmpValue(xmp, 'fx:DocumentFileName')).toBe('factur-x.xml')
    expect(xmpValue(xmp, 'fx:Version')).toBe('1.0')
    expect(xmpValue(xmp, 'fx:ConformanceLevel')).toBe('EN 16931')

    expect(xmp).toContain('xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"')
    expect(xmp).toContain('<pdfaExtension:schemas>')
    expect(xmpValue(xmp, 'pdfaSchema:namespaceURI')).toBe(FX_NAMESPACE)
    expect(xmpValue(xmp, 'pdfaSchema:prefix')).toBe('fx')
    const described = [...xmp.matchAll(/<pdfaProperty:name>([^<]*)<\/pdfaProperty:name>/g)].map((m) => m[1])
    expect(described.sort()).toEqual(['ConformanceLevel', 'DocumentFileName', 'DocumentType', 'Version'])
    expect(xmp.match(/<pdfaProperty:valueType>Text<\/pdfaProperty:valueType>/g)).toHaveLength(4)
    expect(xmp.match(/<pdfaProperty:category>external<\/pdfaProperty:category>/g)).toHaveLength(4)
  })

  test('then the XMP states what the info dictionary states, dated at issue', async () => {
    const xmp = await run(['pdfinfo', '-meta', pdf])
    const info = await run(['pdfinfo', '-isodates', pdf])
    const field = (name: string) => new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(info)?.[1]
    expect(xmp).toContain(`<rdf:li xml:lang="x-default">${field('Title')}</rdf:li>`)
    expect(xmp).toContain(`<rdf:li>${field('Author')}</rdf:li>`)
    expect(xmp).toContain(`<rdf:li xml:lang="x-default">${field('Subject')}</rdf:li>`)
    expect(xmpValue(xmp, 'pdf:Producer')).toBe(field('Producer'))
    expect(xmpValue(xmp, 'xmp:CreatorTool')).toBe(field('Creator'))
    expect(field('CreationDate')).toBe('2026-01-15T09:30:00Z')
    expect(xmpValue(xmp, 'xmp:CreateDate')).toBe('2026-01-15T09:30:00Z')
    expect(xmpValue(xmp, 'xmp:ModifyDate')).toBe('2026-01-15T09:30:00Z')
  })

  test('then the catalog has the sRGB output intent, and factur-x.xml as an associated file (/AF, /Data, text/xml)', () => {
    const all = objects(bytes)
    const catalog = [...all.values()].find((dictionary) => dictionary.includes('/Type /Catalog'))!
    expect(catalog).toBeDefined()

    const intent = all.get(ref(catalog, 'OutputIntents')!)!
    expect(intent).toContain('/Type /OutputIntent')
    expect(intent).toContain('/S /GTS_PDFA1')
    expect(intent).toContain('/OutputConditionIdentifier (sRGB IEC61966-2.1)')
    const profile = all.get(ref(intent, 'DestOutputProfile')!)!
    expect(profile).toContain('/N 3')

    const spec = all.get(ref(catalog, 'AF')!)!
    expect(spec).toContain('/Type /Filespec')
    expect(spec).toContain('/F (factur-x.xml)')
    expect(spec).toContain('/UF (factur-x.xml)')
    expect(spec).toContain('/AFRelationship /Data')
    const file = all.get(ref(spec, 'F')!)!
    expect(file).toContain('/Type /EmbeddedFile')
    expect(file).toContain('/Subtype /text#2Fxml')
    expect(file).toContain('/ModDate (D:20260115093000Z)')
    const md5 = createHash('md5').update(xml).digest('hex')
    expect(file).toContain(`/CheckSum <${md5}>`)

    const names = all.get(ref(catalog, 'Names')!)!
    expect(names).toMatch(/\/EmbeddedFiles <<\s*\/Names \[\s*\(factur-x\.xml\) \d+ 0 R\s*\]/)
  })

  test('then every font is embedded', async () => {
    const listed = await fonts(pdf)
    expect(listed.map((font) => font.name.replace(/^[A-Z]{6}\+/, '')).sort()).toEqual([
      'DejaVuSans',
      'DejaVuSans-Bold',
    ])
    for (const font of listed) expect(font).toEqual({ name: font.name, embedded: 'yes' })
  })

  test('then the same snapshot and XML give the same bytes, in process, on the render worker and when stored', async () => {
    const again = await renderDocumentPdf(structuredClone(snapshot), structuredClone(options))
    expect(same(again, bytes)).toBe(true)
    expect(same(await renderInvoicePdf(snapshot, options), bytes)).toBe(true)
    expect(same(await renderPdf(snapshot, options), bytes)).toBe(true)

    const stored = new Map<string, Uint8Array>()
    const histogram = { startTimer: () => () => 0 }
    const deps = {
      storage: { put: async (key: string, body: Uint8Array) => void stored.set(key, body) },
      metrics: { pdfRenderDuration: histogram, pdfUploadDuration: histogram },
      storageTimeoutMs: 5_000,
    } as unknown as PdfStoreDeps
    const result = await renderAndStore(deps, 'invoices/u/i/k.pdf', snapshot, { invoiceId: 'i' }, options)
    expect(result.sha256).toBe(sha256(bytes))
    expect(same(stored.get('invoices/u/i/k.pdf')!, bytes)).toBe(true)
  })

  test('when the XML differs, then the bytes and the file identifier differ', async () => {
    const other = { facturx: { xml: xml.replace('INV-0042', 'INV-0043'), conformance: 'EN 16931' as const } }
    const bytesOfOther = await renderDocumentPdf(snapshot, other)
    const id = (b: Uint8Array) => /\/ID \[<([0-9a-f]+)>/.exec(new TextDecoder('latin1').decode(b))?.[1]
    expect(id(bytesOfOther)).not.toBe(id(bytes))
  })

  test('when rendered without the option, then the bytes are those of the plain render, which is no PDF/A', async () => {
    const plain = await renderInvoicePdf(snapshot)
    expect(same(await renderDocumentPdf(snapshot), plain)).toBe(true)
    expect(same(await renderDocumentPdf(snapshot, {}), plain)).toBe(true)
    expect(same(await renderDocumentPdf(snapshot, { facturx: undefined }), plain)).toBe(true)
    expect(same(await renderPdf(snapshot), plain)).toBe(true)
    expect(same(plain, bytes)).toBe(false)

    const file = await saved(plain)
    expect(await embeddedNames(file)).toEqual([])
    expect(await run(['pdfinfo', '-meta', file])).not.toContain('pdfaid')
    expect(new TextDecoder('latin1').decode(plain.subarray(0, 9))).toBe('%PDF-1.3\n')
  })
})

describe('renderDocumentPdf with options.facturx, given a credit note (381)', () => {
  const snapshot: CreditNoteSnapshot = sampleCreditNoteSnapshot(3)

  test('then factur-x.xml is the credit note CII, it passes the EN 16931 rules, and the XMP is that of an invoice document', async () => {
    const { xml, options } = facturx(snapshot)
    const bytes = await renderDocumentPdf(snapshot, options)
    expect(same(await renderCreditNotePdf(snapshot, options), bytes)).toBe(true)
    expect(same(await renderDocumentPdf(snapshot, options), bytes)).toBe(true)
    const pdf = await saved(bytes)

    expect(await embeddedNames(pdf)).toEqual(['factur-x.xml'])
    const cii = await extracted(pdf)
    expect(same(cii, new TextEncoder().encode(xml))).toBe(true)
    const text = new TextDecoder().decode(cii)
    expect(text).toContain('<ram:TypeCode>381</ram:TypeCode>')
    expect(text).toContain('<ram:IssuerAssignedID>INV-0042</ram:IssuerAssignedID>')
    expect(await fatalRuleIds(rules, text)).toEqual([])

    const xmp = await run(['pdfinfo', '-meta', pdf])
    expect(xmpValue(xmp, 'pdfaid:part')).toBe('3')
    expect(xmpValue(xmp, 'fx:DocumentType')).toBe('INVOICE')
    expect(xmpValue(xmp, 'fx:ConformanceLevel')).toBe('EN 16931')
    expect(xmpValue(xmp, 'xmp:CreateDate')).toBe('2026-01-20T14:05:00Z')
    for (const font of await fonts(pdf)) expect(font.embedded).toBe('yes')
    expect(same(await renderCreditNotePdf(snapshot), bytes)).toBe(false)
  })
})

describe('renderDocumentPdf with options.facturx, edge cases', () => {
  test('when the seller name holds XML markup characters, then the XMP stays well-formed and equals the info dictionary', async () => {
    const base = sampleInvoiceSnapshot(1)
    const snapshot = sampleInvoiceSnapshot(1, {
      from: { ...base.from, companyName: 'Müller & Söhne <GmbH> "Nord"' },
    })
    const pdf = await saved(await renderDocumentPdf(snapshot, facturx(snapshot).options))
    const xmp = await run(['pdfinfo', '-meta', pdf])
    expect(await run(['xmllint', '--noout', '-'], xmp)).toBe('')
    expect(xmp).toContain('<rdf:li>Müller &amp; Söhne &lt;GmbH&gt; "Nord"</rdf:li>')
    expect(await run(['pdfinfo', pdf])).toMatch(/^Author:\s+Müller & Söhne <GmbH> "Nord"$/m)
  })

  test('when the conformance level is EXTENDED, then the XMP says so', async () => {
    const snapshot = sampleInvoiceSnapshot(1)
    const { xml } = facturx(snapshot)
    const pdf = await saved(await renderDocumentPdf(snapshot, { facturx: { xml, conformance: 'EXTENDED' } }))
    expect(xmpValue(await run(['pdfinfo', '-meta', pdf]), 'fx:ConformanceLevel')).toBe('EXTENDED')
  })

  test('when the conformance level is unknown or the XML empty, then rendering fails rather than write a wrong file', async () => {
    const snapshot = sampleInvoiceSnapshot(1)
    const { xml } = facturx(snapshot)
    const unknown = { facturx: { xml, conformance: 'BASIC' } } as unknown as RenderOptions
    await expect(renderDocumentPdf(snapshot, unknown)).rejects.toThrow(/conformance level/)
    await expect(renderPdf(snapshot, unknown)).rejects.toThrow(/conformance level/)
    const empty: RenderOptions = { facturx: { xml: ' ', conformance: 'EN 16931' } }
    await expect(renderDocumentPdf(snapshot, empty)).rejects.toThrow(/XML is empty/)
  })

  test('when a 120-line invoice spans pages, then it is still one Factur-X file with every font embedded', async () => {
    const snapshot = sampleInvoiceSnapshot(120)
    const { xml, options } = facturx(snapshot)
    const pdf = await saved(await renderDocumentPdf(snapshot, options))
    expect(await run(['pdfinfo', pdf])).toMatch(/^Pages:\s+[3-9]$/m)
    expect(same(await extracted(pdf), new TextEncoder().encode(xml))).toBe(true)
    for (const font of await fonts(pdf)) expect(font.embedded).toBe('yes')
  })
})
