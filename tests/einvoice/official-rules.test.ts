import { beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { checkDocument, toCii, toUbl } from '../../src/lib/einvoice/index.ts'
import { EINVOICE_ARTIFACTS, fatalRuleIds, loadRules, schemaErrors } from '../helpers/einvoice-validate.ts'
import { MATRIX } from './matrix.ts'

setDefaultTimeout(30_000)

/** Every document of the matrix, in every format, against the official schemas and Schematron rules. */
let en16931Cii: unknown
let en16931Ubl: unknown
let xrechnungCii: unknown

beforeAll(async () => {
  ;[en16931Cii, en16931Ubl, xrechnungCii] = await Promise.all([
    loadRules('en16931-cii'),
    loadRules('en16931-ubl'),
    loadRules('xrechnung-cii'),
  ])
})

describe('the validators themselves', () => {
  test('when the official valid CII example is checked, then EN 16931 finds nothing fatal', async () => {
    const xml = await Bun.file(`${EINVOICE_ARTIFACTS}/examples/cii-valid.xml`).text()
    expect(await schemaErrors('cii', xml)).toEqual([])
    expect(await fatalRuleIds(en16931Cii, xml)).toEqual([])
  })

  test('when the example with broken totals is checked, then BR-CO-15 and BR-CO-16 fail', async () => {
    const xml = await Bun.file(`${EINVOICE_ARTIFACTS}/examples/cii-broken-totals.xml`).text()
    expect(await fatalRuleIds(en16931Cii, xml)).toEqual(['BR-CO-15', 'BR-CO-16'])
  })
})

describe.each(MATRIX)('given $name', ({ doc, xrechnungMisses = [] }) => {
  test('when written as Factur-X CII (EN 16931), then the schema and the EN 16931 rules accept it', async () => {
    expect(checkDocument(doc, 'facturx')).toEqual([])
    const xml = toCii(doc, 'facturx')
    expect(await schemaErrors('cii', xml)).toEqual([])
    expect(await fatalRuleIds(en16931Cii, xml)).toEqual([])
  })

  test('when written as XRechnung CII, then EN 16931 accepts it and XRechnung fails exactly what the check reports', async () => {
    expect(checkDocument(doc, 'xrechnung-cii').map((p) => p.rule)).toEqual(xrechnungMisses)
    const xml = toCii(doc, 'xrechnung-cii')
    expect(await schemaErrors('cii', xml)).toEqual([])
    expect(await fatalRuleIds(en16931Cii, xml)).toEqual([])
    expect(await fatalRuleIds(xrechnungCii, xml)).toEqual(xrechnungMisses)
  })

  test('when written as UBL, then the schema and the EN 16931 rules accept it', async () => {
    expect(checkDocument(doc, 'ubl')).toEqual([])
    const xml = toUbl(doc)
    expect(await schemaErrors(doc.typeCode === '380' ? 'ubl-invoice' : 'ubl-creditnote', xml)).toEqual([])
    expect(await fatalRuleIds(en16931Ubl, xml)).toEqual([])
  })
})
