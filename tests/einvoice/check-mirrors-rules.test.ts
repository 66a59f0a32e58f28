import { beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import {
  checkDocument,
  documentTotals,
  type EInvoiceDocument,
  type EInvoiceProblem,
  toCii,
  toUbl,
} from '../../src/lib/einvoice/index.ts'
import { fatalRuleIds, loadRules } from '../helpers/einvoice-validate.ts'
import { invoice } from './documents.ts'
import { JPY_PER_LINE_ITEMS } from './matrix.ts'

setDefaultTimeout(30_000)

/**
 * Incomplete or inconsistent documents: `checkDocument` names the API field and the rule, and the official
 * rules, run on the document generated anyway, fail that same rule — so the check mirrors the norm.
 */
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

const standardItems = [{ description: 'Consulting', quantity: '3', unitPrice: 1999, taxRate: '19' }]

function rules(problems: EInvoiceProblem[]): string[] {
  return [...new Set(problems.map((p) => p.rule))].sort()
}

/** The official findings are all among the check's (which may be finer), and `rule` is in both. */
function expectMirrored(problems: EInvoiceProblem[], official: string[], rule: string) {
  expect(official).toContain(rule)
  expect(rules(problems)).toContain(rule)
  for (const id of official) expect(rules(problems)).toContain(id)
}

/** The same document with a group's tax moved by `delta` minor units and the totals following it. */
function withTaxMovedBy(doc: EInvoiceDocument, delta: number): EInvoiceDocument {
  const vatBreakdown = doc.vatBreakdown.map((group, index) =>
    index === 0 ? { ...group, taxAmount: group.taxAmount + delta } : group,
  )
  return {
    ...doc,
    vatBreakdown,
    totals: documentTotals(doc.lines, doc.allowances, vatBreakdown, doc.totals.prepaid),
  }
}

describe('a document without the seller VAT id', () => {
  const doc = invoice(standardItems, {}, { seller: { ...invoice(standardItems).seller, vatId: undefined } })

  test('when checked, then /profile/taxId is named for BR-CO-26 and BR-S-02', () => {
    const problems = checkDocument(doc, 'facturx')
    expect(problems).toContainEqual(expect.objectContaining({ path: '/profile/taxId', rule: 'BR-CO-26' }))
    expect(problems).toContainEqual(expect.objectContaining({ path: '/profile/taxId', rule: 'BR-S-02' }))
  })

  test('when generated anyway, then the official CII and UBL rules fail exactly those rules', async () => {
    expect(await fatalRuleIds(en16931Cii, toCii(doc, 'facturx'))).toEqual(
      rules(checkDocument(doc, 'facturx')),
    )
    expect(await fatalRuleIds(en16931Ubl, toUbl(doc))).toEqual(rules(checkDocument(doc, 'ubl')))
  })
})

describe('a seller with a tax number but no VAT id', () => {
  const base = invoice(standardItems)
  const doc = invoice(
    standardItems,
    {},
    { seller: { ...base.seller, vatId: undefined, taxRegistrationId: '12/345/67890' } },
  )

  test('when checked and generated anyway, then BR-CO-26 is named on /profile/taxId, as both syntaxes fail it', async () => {
    expect(checkDocument(doc, 'ubl')).toEqual([
      expect.objectContaining({ path: '/profile/taxId', rule: 'BR-CO-26' }),
    ])
    expect(await fatalRuleIds(en16931Ubl, toUbl(doc))).toEqual(['BR-CO-26'])
    expect(await fatalRuleIds(en16931Cii, toCii(doc, 'facturx'))).toEqual(['BR-CO-26'])
  })
})

describe('JPY with 120 lines taxed per line', () => {
  const doc = invoice(JPY_PER_LINE_ITEMS, { currency: 'JPY', taxCalculation: 'per_line' })

  test('when checked, then the drift is reported on /profile/taxCalculation as BR-CO-17', () => {
    const problems = checkDocument(doc, 'ubl')
    expect(problems.map((p) => [p.path, p.rule])).toEqual([
      ['/profile/taxCalculation', 'BR-CO-17'],
      ['/profile/taxCalculation', 'BR-S-09'],
    ])
    expect(problems[0]!.message).toContain('60 minor units from 1260')
  })

  test('when generated anyway, then the official rules fail BR-CO-17 and BR-S-09 too', async () => {
    expect(await fatalRuleIds(en16931Cii, toCii(doc, 'facturx'))).toEqual(['BR-CO-17', 'BR-S-09'])
    expect(await fatalRuleIds(en16931Ubl, toUbl(doc))).toEqual(['BR-CO-17', 'BR-S-09'])
  })
})

describe("BR-CO-17's tolerance of one major unit", () => {
  const doc = invoice(standardItems, { taxCalculation: 'per_category' })

  test('when a EUR group tax is 99 cents off, then neither the check nor the rules object', async () => {
    const drifted = withTaxMovedBy(doc, 99)
    expect(checkDocument(drifted, 'ubl')).toEqual([])
    expect(await fatalRuleIds(en16931Ubl, toUbl(drifted))).toEqual([])
    expect(await fatalRuleIds(en16931Cii, toCii(drifted, 'facturx'))).toEqual([])
  })

  test('when it is a whole euro off, then the check reports it, as UBL does and CII by its category rule', async () => {
    const drifted = withTaxMovedBy(doc, 100)
    expect(rules(checkDocument(drifted, 'ubl'))).toEqual(['BR-CO-17', 'BR-S-09'])
    expect(await fatalRuleIds(en16931Ubl, toUbl(drifted))).toEqual(['BR-CO-17', 'BR-S-09'])
    // CII's BR-CO-17 allows exactly one unit; its BR-S-09 does not.
    expect(await fatalRuleIds(en16931Cii, toCii(drifted, 'facturx'))).toEqual(['BR-S-09'])
  })
})

describe('categories without what they need', () => {
  test('when an exempt line has no reason, then /taxExemptionReasons/E is named for BR-E-10, as the rules do', async () => {
    const doc = invoice([
      { description: 'Training', quantity: '1', unitPrice: 40000, taxRate: '0', taxCategory: 'E' },
    ])
    const problems = checkDocument(doc, 'facturx')
    expect(problems).toEqual([expect.objectContaining({ path: '/taxExemptionReasons/E', rule: 'BR-E-10' })])
    expectMirrored(problems, await fatalRuleIds(en16931Cii, toCii(doc, 'facturx')), 'BR-E-10')
  })

  test('when reverse charge has no buyer VAT id, then /customer/taxId is named for BR-AE-02, as the rules do', async () => {
    const base = invoice(standardItems)
    const doc = invoice(
      [{ description: 'Installation', quantity: '1', unitPrice: 8500, taxRate: '0', taxCategory: 'AE' }],
      {},
      { buyer: { ...base.buyer, vatId: undefined }, exemptionReasons: { AE: 'Reverse charge' } },
    )
    const problems = checkDocument(doc, 'ubl')
    expect(problems).toEqual([expect.objectContaining({ path: '/customer/taxId', rule: 'BR-AE-02' })])
    expectMirrored(problems, await fatalRuleIds(en16931Ubl, toUbl(doc)), 'BR-AE-02')
  })

  test('when intra-community supply has no deliver-to country or date, then both are named, as the rules do', async () => {
    const doc = invoice(
      [{ description: 'Oak boards', quantity: '40', unitPrice: 2250, taxRate: '0', taxCategory: 'K' }],
      {},
      { exemptionReasons: { K: 'Intra-community supply' } },
    )
    const problems = checkDocument(doc, 'facturx')
    expect(problems.map((p) => [p.path, p.rule])).toEqual([
      ['/deliveryDate', 'BR-IC-11'],
      ['/deliverTo/country', 'BR-IC-12'],
    ])
    const official = await fatalRuleIds(en16931Cii, toCii(doc, 'facturx'))
    expectMirrored(problems, official, 'BR-IC-11')
    expectMirrored(problems, official, 'BR-IC-12')
  })

  test('when a standard-rated line has rate 0, then its taxRate is named for BR-S-05, as the rules do', async () => {
    const doc = invoice([
      { description: 'Mislabelled', quantity: '1', unitPrice: 1000, taxRate: '0', taxCategory: 'S' },
    ])
    const problems = checkDocument(doc, 'ubl')
    expect(problems).toContainEqual(expect.objectContaining({ path: '/items/0/taxRate', rule: 'BR-S-05' }))
    expectMirrored(problems, await fatalRuleIds(en16931Ubl, toUbl(doc)), 'BR-S-05')
  })
})

describe('parties and payment', () => {
  test('when the buyer has no country, then /customer/address/country is named for BR-11, as the rules do', async () => {
    const base = invoice(standardItems)
    const doc = invoice(
      standardItems,
      {},
      { buyer: { ...base.buyer, address: { ...base.buyer.address, country: undefined } } },
    )
    const problems = checkDocument(doc, 'ubl')
    expect(problems).toEqual([expect.objectContaining({ path: '/customer/address/country', rule: 'BR-11' })])
    expectMirrored(problems, await fatalRuleIds(en16931Ubl, toUbl(doc)), 'BR-11')
  })

  test('when credit transfer has no IBAN, then /profile/bankAccount/iban is named for BR-61, as the rules do', async () => {
    const doc = invoice(standardItems, {}, { paymentMeans: { code: '58', iban: '' } })
    const problems = checkDocument(doc, 'ubl')
    expect(problems.map((p) => [p.path, p.rule])).toEqual([
      ['/profile/bankAccount/iban', 'BR-61'],
      ['/profile/bankAccount/iban', 'BR-50'],
    ])
    expectMirrored(problems, await fatalRuleIds(en16931Ubl, toUbl(doc)), 'BR-61')
  })

  test('when XRechnung lacks the Leitweg-ID and the seller contact, then each field is named, as the German rules do', async () => {
    const base = invoice(standardItems)
    const doc = invoice(
      standardItems,
      {},
      { buyerReference: undefined, seller: { ...base.seller, contact: undefined } },
    )
    const problems = checkDocument(doc, 'xrechnung-cii')
    expect(problems.map((p) => [p.path, p.rule])).toEqual([
      ['/customer/buyerReference', 'BR-DE-15'],
      ['/profile/contactName', 'BR-DE-2'],
      ['/profile/contactName', 'BR-DE-5'],
      ['/profile/phone', 'BR-DE-6'],
      ['/profile/email', 'BR-DE-7'],
    ])
    expect(checkDocument(doc, 'facturx')).toEqual([])
    const official = await fatalRuleIds(xrechnungCii, toCii(doc, 'xrechnung-cii'))
    expectMirrored(problems, official, 'BR-DE-15')
    expectMirrored(problems, official, 'BR-DE-2')
  })
})

describe('XRechnung delivery addresses', () => {
  test('when the deliver-to address has only its country, then its city and postal code are named, as the German rules do', async () => {
    const doc = invoice(
      [{ description: 'Oak boards', quantity: '4', unitPrice: 2250, taxRate: '0', taxCategory: 'K' }],
      {},
      {
        buyer: { ...invoice(standardItems).buyer, vatId: 'ATU12345678' },
        exemptionReasons: { K: 'Intra-community supply' },
        delivery: { date: '2026-01-12', deliverTo: { country: 'AT' } },
      },
    )
    expect(checkDocument(doc, 'facturx')).toEqual([])
    const problems = checkDocument(doc, 'xrechnung-cii')
    expect(problems.map((p) => [p.path, p.rule])).toEqual([
      ['/deliverTo/city', 'BR-DE-10'],
      ['/deliverTo/postalCode', 'BR-DE-11'],
    ])
    expect(await fatalRuleIds(xrechnungCii, toCii(doc, 'xrechnung-cii'))).toEqual(['BR-DE-10', 'BR-DE-11'])
  })
})

describe('what the norm cannot carry', () => {
  test('when the currency has three minor digits, then /currency is reported and no XML is written', () => {
    const doc = invoice(standardItems, { currency: 'KWD' })
    expect(checkDocument(doc, 'ubl')).toEqual([
      expect.objectContaining({ path: '/currency', rule: 'BR-DEC' }),
    ])
    expect(() => toCii(doc, 'facturx')).toThrow(RangeError)
    expect(() => toUbl(doc)).toThrow(RangeError)
  })

  test('when totals do not add up, then the calculation rules are reported as the official rules do', async () => {
    const valid = invoice(standardItems)
    const doc = { ...valid, totals: { ...valid.totals, amountDue: valid.totals.amountDue + 1 } }
    const problems = checkDocument(doc, 'facturx')
    expect(problems).toEqual([expect.objectContaining({ path: '/items', rule: 'BR-CO-16' })])
    expectMirrored(problems, await fatalRuleIds(en16931Cii, toCii(doc, 'facturx')), 'BR-CO-16')
  })
})
