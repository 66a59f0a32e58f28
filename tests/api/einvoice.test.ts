import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toCii } from '../../src/lib/einvoice/index.ts'
import { toEInvoiceDocument } from '../../src/modules/einvoice/document.ts'
import { createTestApp, type TestApp } from '../helpers/app'
import { fatalRuleIds, loadRules, schemaErrors } from '../helpers/einvoice-validate'

setDefaultTimeout(60_000)

/**
 * E-invoices through the API (API.md "E-invoicing (EN 16931)"): a matrix of invoices and credit notes issued over
 * HTTP, each e-invoice downloaded through the link the API answers and validated by the official artifacts (XSD,
 * EN 16931 Schematron, and the XRechnung rules for `xrechnung-cii`); incomplete data refused with 422 and no file;
 * Factur-X at issue, its embedded XML extracted with poppler's `pdfdetach`.
 */
let t: TestApp
let en16931Cii: unknown
let en16931Ubl: unknown
let xrechnungCii: unknown
let dir: string

beforeAll(async () => {
  ;[t, en16931Cii, en16931Ubl, xrechnungCii, dir] = await Promise.all([
    createTestApp(),
    loadRules('en16931-cii'),
    loadRules('en16931-ubl'),
    loadRules('xrechnung-cii'),
    mkdtemp(join(tmpdir(), 'einvoice-api-')),
  ])
})
afterAll(async () => {
  await t.close()
  await rm(dir, { recursive: true, force: true })
})

// biome-ignore lint/suspicious/noExplicitAny: answers are read loosely; each test checks what it reads
type Json = Record<string, any>

async function call(token: string, path: string, init: { method?: string; json?: unknown } = {}) {
  const res = await t.request(path, { token, ...init })
  const text = await res.text()
  return { status: res.status, body: (text ? JSON.parse(text) : null) as Json, headers: res.headers }
}

async function ok(token: string, path: string, init: { method?: string; json?: unknown } = {}, status = 200) {
  const answer = await call(token, path, init)
  expect({ path, status: answer.status, body: answer.status === status ? null : answer.body }).toEqual({
    path,
    status,
    body: null,
  })
  return answer.body
}

const SELLER = {
  companyName: 'Nordlicht Software GmbH',
  taxId: 'DE123456789',
  email: 'billing@nordlicht.example',
  phone: '+49 30 1234567',
  contactName: 'Mara Voss',
  address: { line1: 'Lindenstraße 12', city: 'Berlin', postalCode: '10969', country: 'DE' },
  bankAccount: { iban: 'DE02120300000000202051', bic: 'BYLADEM1001', accountName: 'Nordlicht Software GmbH' },
  defaultCurrency: 'EUR',
  defaultTaxRate: 19,
}
const GERMAN_BUYER = {
  name: 'Stadtwerke Musterstadt',
  email: 'rechnung@stadtwerke.example',
  taxId: 'DE987654321',
  buyerReference: '04011000-12345-67',
  address: { line1: 'Am Markt 1', city: 'Musterstadt', postalCode: '12345', country: 'DE' },
}
const FRENCH_BUYER = {
  name: 'Atelier Lumière SARL',
  email: 'factures@lumiere.example',
  taxId: 'FR12345678901',
  buyerReference: 'LUM-2026-17',
  address: { line1: '3 rue de la Paix', city: 'Paris', postalCode: '75002', country: 'FR' },
}

async function seller(profile: Json = {}) {
  const token = await t.token()
  await ok(token, '/api/v1/me', { method: 'PATCH', json: { ...SELLER, ...profile } })
  return token
}

async function customer(token: string, body: Json) {
  return (await ok(token, '/api/v1/customers', { method: 'POST', json: body }, 201)).id as string
}

async function draft(token: string, body: Json) {
  return ok(token, '/api/v1/invoices', { method: 'POST', json: body }, 201)
}

async function issue(token: string, body: Json) {
  const created = await draft(token, body)
  return ok(token, `/api/v1/invoices/${created.id}/mark-as-sent`, { method: 'POST' })
}

/** Follows a link the API answered (local-disk storage serves it through /files). */
async function download(
  url: string,
): Promise<{ bytes: Uint8Array; type: string | null; disposition: string | null }> {
  const link = new URL(url)
  const res = await t.request(`${link.pathname}${link.search}`)
  expect(res.status).toBe(200)
  return {
    bytes: new Uint8Array(await res.arrayBuffer()),
    type: res.headers.get('content-type'),
    disposition: res.headers.get('content-disposition'),
  }
}

/** Downloads both XML formats of a document and validates each against the official artifacts. */
async function validateFormats(token: string, path: string, number: string, typeCode: '380' | '381') {
  const results: Record<string, { schema: string[]; en16931: string[]; xrechnung?: string[] }> = {}
  for (const format of ['xrechnung-cii', 'ubl'] as const) {
    const link = await ok(token, `${path}/e-invoice?format=${format}`)
    expect(link).toMatchObject({ format, filename: `${number}-${format}.xml` })
    const file = await download(link.url)
    expect(file.type).toBe('application/xml')
    expect(file.disposition).toContain(`${number}-${format}.xml`)
    const xml = new TextDecoder().decode(file.bytes)
    if (format === 'ubl') {
      results[format] = {
        schema: await schemaErrors(typeCode === '380' ? 'ubl-invoice' : 'ubl-creditnote', xml),
        en16931: await fatalRuleIds(en16931Ubl, xml),
      }
    } else {
      results[format] = {
        schema: await schemaErrors('cii', xml),
        en16931: await fatalRuleIds(en16931Cii, xml),
        xrechnung: await fatalRuleIds(xrechnungCii, xml),
      }
    }
    // Deterministic: asked again, the same bytes.
    const again = await download((await ok(token, `${path}/e-invoice?format=${format}`)).url)
    expect(Buffer.from(again.bytes).equals(Buffer.from(file.bytes))).toBe(true)
  }
  return results
}

const PASSED = {
  'xrechnung-cii': { schema: [], en16931: [], xrechnung: [] },
  ubl: { schema: [], en16931: [] },
}

const line = (description: string, quantity: number, unitPrice: number, extra: Json = {}) => ({
  description,
  quantity,
  unitPrice,
  ...extra,
})

describe('the matrix, issued over HTTP and validated by the official rules', () => {
  let token: string
  let german: string
  let french: string
  beforeAll(async () => {
    token = await seller()
    ;[german, french] = await Promise.all([customer(token, GERMAN_BUYER), customer(token, FRENCH_BUYER)])
  })

  const cases: { name: string; body: () => Json }[] = [
    {
      name: 'one standard rate',
      body: () => ({
        customerId: german,
        items: [line('Consulting', 3, 1999, { taxRate: 19, unitCode: 'HUR' })],
      }),
    },
    {
      name: 'mixed 19 % and 7 %',
      body: () => ({
        customerId: german,
        purchaseOrderReference: 'PO-7781',
        items: [line('Software licence', 2, 49900), line('Handbook', 3, 2450, { taxRate: 7 })],
      }),
    },
    {
      name: 'zero-rated',
      body: () => ({ customerId: german, items: [line('Export documentation', 1, 15000, { taxRate: 0 })] }),
    },
    {
      name: 'exempt with a reason',
      body: () => ({
        customerId: german,
        taxExemptionReasons: { E: 'Exempt under § 4 Nr. 21 UStG' },
        items: [line('Training course', 1, 80000, { taxCategory: 'E' }), line('Materials', 1, 1500)],
      }),
    },
    {
      name: 'reverse charge (AE) to another EU country',
      body: () => ({
        customerId: french,
        taxExemptionReasons: { AE: 'Reverse charge: VAT due by the recipient (Art. 196 VAT Directive)' },
        items: [line('Development', 10, 9500, { taxCategory: 'AE', unitCode: 'HUR' })],
      }),
    },
    {
      name: 'intra-community supply (K) with delivery date and country',
      body: () => ({
        customerId: french,
        deliveryDate: '2026-01-12',
        deliverTo: { line1: '3 rue de la Paix', city: 'Paris', postalCode: '75002', country: 'FR' },
        taxExemptionReasons: { K: 'Intra-community supply (Art. 138 VAT Directive)' },
        items: [line('Server hardware', 2, 245000, { taxCategory: 'K' })],
      }),
    },
    {
      name: 'a document discount over two rates',
      body: () => ({
        customerId: german,
        discountPercent: 12.5,
        items: [line('Design', 7, 1333), line('Print run', 1, 45678, { taxRate: 7 })],
      }),
    },
    {
      name: 'three-decimal quantities',
      body: () => ({
        customerId: german,
        items: [
          line('Cable', 12.125, 399, { unitCode: 'MTR' }),
          line('Copper', 0.333, 3, { unitCode: 'KGM' }),
        ],
      }),
    },
  ]

  for (const { name, body } of cases) {
    test(`when ${name} is issued, then its XRechnung CII and UBL pass the schemas and the rules, and the check finds nothing`, async () => {
      const invoice = await issue(token, body())
      const checks = await ok(token, `/api/v1/invoices/${invoice.id}/e-invoice/check`)
      expect(checks.data).toEqual([
        { format: 'facturx', ready: true, problems: [] },
        { format: 'xrechnung-cii', ready: true, problems: [] },
        { format: 'ubl', ready: true, problems: [] },
      ])
      expect(await validateFormats(token, `/api/v1/invoices/${invoice.id}`, invoice.number, '380')).toEqual(
        PASSED,
      )
    })
  }

  test('when a JPY invoice of 120 lines is issued per_category, then its tax is the once-rounded group tax and it validates', async () => {
    const yen = await seller({ defaultCurrency: 'JPY', defaultTaxRate: 10, taxCalculation: 'per_category' })
    const buyer = await customer(yen, GERMAN_BUYER)
    const items = Array.from({ length: 120 }, (_, i) => line(`Part ${i + 1}`, 1, 105 + (i % 3)))
    const invoice = await issue(yen, { customerId: buyer, items })
    expect(invoice.taxCalculation).toBe('per_category')
    const base = items.reduce((sum, item) => sum + item.unitPrice, 0)
    expect(invoice.taxTotal).toBe(Math.round(base / 10))
    expect(invoice.items.reduce((sum: number, item: Json) => sum + item.tax, 0)).toBe(invoice.taxTotal)
    expect(await validateFormats(yen, `/api/v1/invoices/${invoice.id}`, invoice.number, '380')).toEqual(
      PASSED,
    )

    // The same invoice per line drifts beyond BR-CO-17 in yen: the check says so, and recommends per_category.
    await ok(yen, '/api/v1/me', { method: 'PATCH', json: { taxCalculation: 'per_line' } })
    const perLine = await issue(yen, { customerId: buyer, items })
    const checks = await ok(yen, `/api/v1/invoices/${perLine.id}/e-invoice/check`)
    expect(checks.data.map((c: Json) => [c.format, c.ready, c.problems.map((p: Json) => p.rule)])).toEqual([
      ['facturx', false, ['BR-CO-17', 'BR-S-09']],
      ['xrechnung-cii', false, ['BR-CO-17', 'BR-S-09']],
      ['ubl', false, ['BR-CO-17', 'BR-S-09']],
    ])
    expect(checks.data[0].problems[0].path).toBe('/profile/taxCalculation')
    const refused = await call(yen, `/api/v1/invoices/${perLine.id}/e-invoice?format=ubl`)
    expect(refused.status).toBe(422)
    expect(refused.body.error.code).toBe('EINVOICE_INCOMPLETE')
  })

  test('when a per_category invoice is credited in part and then in full, then the notes validate and reach the total exactly', async () => {
    const perCategory = await seller({ taxCalculation: 'per_category' })
    const buyer = await customer(perCategory, GERMAN_BUYER)
    const invoice = await issue(perCategory, {
      customerId: buyer,
      discountPercent: 10,
      items: [line('Design', 3, 1999), line('Review', 1.5, 3333), line('Books', 2, 1250, { taxRate: 7 })],
    })
    const partial = await ok(
      perCategory,
      `/api/v1/invoices/${invoice.id}/credit-notes`,
      {
        method: 'POST',
        json: { reason: 'order_change', items: [{ invoiceItemId: invoice.items[0].id, quantity: 1 }] },
      },
      201,
    )
    const full = await ok(
      perCategory,
      `/api/v1/invoices/${invoice.id}/credit-notes`,
      { method: 'POST', json: { reason: 'other', memo: 'The rest' } },
      201,
    )
    expect(partial.taxTotal + full.taxTotal).toBe(invoice.taxTotal)
    expect(partial.total + full.total).toBe(invoice.total)
    const after = await ok(perCategory, `/api/v1/invoices/${invoice.id}`)
    expect(after).toMatchObject({ status: 'credited', creditedTotal: invoice.total })
    for (const note of [partial, full]) {
      expect(
        await validateFormats(perCategory, `/api/v1/credit-notes/${note.id}`, note.number, '381'),
      ).toEqual(PASSED)
    }
  })
})

describe('incomplete data', () => {
  test('when the seller has no VAT id or address, then 422 names each field and rule, no file is stored, and the check lists the same', async () => {
    const token = await t.token()
    await ok(token, '/api/v1/me', {
      method: 'PATCH',
      json: { companyName: 'Bare Ltd', defaultCurrency: 'EUR' },
    })
    const buyer = await customer(token, { name: 'Someone' })
    const invoice = await issue(token, { customerId: buyer, items: [line('Work', 1, 1000, { taxRate: 19 })] })
    const before = await storedKeys()
    const refused = await call(token, `/api/v1/invoices/${invoice.id}/e-invoice?format=ubl`)
    expect(refused.status).toBe(422)
    expect(refused.body.error.code).toBe('EINVOICE_INCOMPLETE')
    const details = refused.body.error.details as Json[]
    expect(details.map((d) => d.path)).toEqual(
      expect.arrayContaining(['/profile/address/country', '/profile/taxId', '/customer/address/country']),
    )
    for (const detail of details) expect(Object.keys(detail).sort()).toEqual(['message', 'path', 'rule'])
    expect(await storedKeys()).toEqual(before)

    const checks = await ok(token, `/api/v1/invoices/${invoice.id}/e-invoice/check`)
    const ubl = checks.data.find((c: Json) => c.format === 'ubl')
    expect(ubl).toEqual({ format: 'ubl', ready: false, problems: details })
    const xrechnung = checks.data.find((c: Json) => c.format === 'xrechnung-cii')
    expect(xrechnung.problems.map((p: Json) => p.rule)).toEqual(
      expect.arrayContaining(['BR-DE-15', 'BR-DE-5', 'BR-DE-1']),
    )
  })

  test('when a draft is checked, then it is checked as it would be issued now; asking its e-invoice is a 409', async () => {
    const token = await seller()
    const buyer = await customer(token, { ...GERMAN_BUYER, buyerReference: null })
    const created = await draft(token, { customerId: buyer, items: [line('Work', 1, 1000)] })
    const checks = await ok(token, `/api/v1/invoices/${created.id}/e-invoice/check`)
    expect(checks.data.map((c: Json) => [c.format, c.ready])).toEqual([
      ['facturx', true],
      ['xrechnung-cii', false],
      ['ubl', true],
    ])
    expect(checks.data[1].problems).toEqual([
      { path: '/customer/buyerReference', message: expect.any(String), rule: 'BR-DE-15' },
    ])
    const refused = await call(token, `/api/v1/invoices/${created.id}/e-invoice?format=ubl`)
    expect(refused.status).toBe(409)
    expect(refused.body.error.code).toBe('INVALID_STATUS_TRANSITION')
  })

  test('when the format is unknown or missing, then 400 names the query', async () => {
    const token = await seller()
    const id = crypto.randomUUID()
    for (const query of ['?format=pdf', '']) {
      const res = await call(token, `/api/v1/invoices/${id}/e-invoice${query}`)
      expect(res.status).toBe(400)
      expect(res.body.error.code).toBe('VALIDATION_ERROR')
    }
  })
})

async function storedKeys(): Promise<string[]> {
  const keys: string[] = []
  for await (const object of t.deps.storage.list('invoices/')) keys.push(object.key)
  return keys.filter((key) => key.endsWith('.xml')).sort()
}

describe('validation of the new fields', () => {
  test('when an exempt category has a tax rate, a reason is missing, or K has no delivery country, then 400 names each field', async () => {
    const token = await seller()
    const buyer = await customer(token, FRENCH_BUYER)
    const taxed = await call(token, '/api/v1/invoices', {
      method: 'POST',
      json: {
        customerId: buyer,
        taxExemptionReasons: { E: 'Exempt' },
        items: [line('Course', 1, 1000, { taxCategory: 'E', taxRate: 19 })],
      },
    })
    expect(taxed.status).toBe(400)
    expect(taxed.body.error.details).toEqual([
      { path: '/items/0/taxRate', message: 'must be 0 for tax category E' },
    ])

    const k = await call(token, '/api/v1/invoices', {
      method: 'POST',
      json: { customerId: buyer, items: [line('Goods', 1, 1000, { taxCategory: 'K' })] },
    })
    expect(k.status).toBe(400)
    expect(k.body.error.details.map((d: Json) => d.path)).toEqual(['/taxExemptionReasons/K', '/deliverTo'])

    const unit = await call(token, '/api/v1/invoices', {
      method: 'POST',
      json: { customerId: buyer, items: [line('Goods', 1, 1000, { unitCode: 'c62' })] },
    })
    expect(unit.status).toBe(400)
    expect(unit.body.error.details[0].path).toBe('/items/0/unitCode')

    // Defaults: an exempt category without a rate is untaxed, not the profile's 19 %; units default to C62.
    const created = await draft(token, {
      customerId: buyer,
      taxExemptionReasons: { AE: 'Reverse charge' },
      items: [
        line('Service', 1, 1000, { taxCategory: 'AE' }),
        line('Other', 1, 1000),
        line('Free', 1, 100, { taxRate: 0 }),
      ],
    })
    expect(created.items.map((i: Json) => [i.taxCategory, i.taxRate, i.unitCode])).toEqual([
      ['AE', 0, 'C62'],
      ['S', 19, 'C62'],
      ['Z', 0, 'C62'],
    ])
    expect(created.taxCalculation).toBe('per_line')
  })
})

describe('Factur-X at issue', () => {
  test('when the profile issues Factur-X and data is missing, then mark-as-sent answers 422 before a number is taken', async () => {
    const token = await seller({ eInvoiceFormat: 'facturx', taxId: null })
    const buyer = await customer(token, GERMAN_BUYER)
    const created = await draft(token, { customerId: buyer, items: [line('Work', 1, 1000)] })
    const before = (await ok(token, '/api/v1/me')).profile.nextInvoiceNumber
    const refused = await call(token, `/api/v1/invoices/${created.id}/mark-as-sent`, { method: 'POST' })
    expect(refused.status).toBe(422)
    expect(refused.body.error.code).toBe('EINVOICE_INCOMPLETE')
    expect(refused.body.error.details).toContainEqual({
      path: '/profile/taxId',
      message: expect.any(String),
      rule: 'BR-CO-26',
    })
    expect((await ok(token, '/api/v1/me')).profile.nextInvoiceNumber).toBe(before)
    expect((await ok(token, `/api/v1/invoices/${created.id}`)).status).toBe('draft')
    // The check of the draft lists exactly what the refusal named.
    const checks = await ok(token, `/api/v1/invoices/${created.id}/e-invoice/check`)
    expect(checks.data[0]).toEqual({ format: 'facturx', ready: false, problems: refused.body.error.details })

    // Completed, it is issued with the number the refusal left untouched.
    await ok(token, '/api/v1/me', { method: 'PATCH', json: { taxId: SELLER.taxId } })
    const sent = await ok(token, `/api/v1/invoices/${created.id}/mark-as-sent`, { method: 'POST' })
    expect(sent.number).toBe(`INV-${String(before).padStart(4, '0')}`)

    // A credit note of such a profile likewise: refused before its own series moves.
    await ok(token, '/api/v1/me', { method: 'PATCH', json: { taxId: null } })
    const nextNote = (await ok(token, '/api/v1/me')).profile.nextCreditNoteNumber
    const refusedNote = await call(token, `/api/v1/invoices/${created.id}/credit-notes`, {
      method: 'POST',
      json: { reason: 'other' },
    })
    expect(refusedNote.status).toBe(422)
    expect(refusedNote.body.error.code).toBe('EINVOICE_INCOMPLETE')
    expect((await ok(token, '/api/v1/me')).profile.nextCreditNoteNumber).toBe(nextNote)
    expect((await ok(token, `/api/v1/invoices/${created.id}`)).creditedTotal).toBe(0)
  })

  test('when a Factur-X invoice and its credit note are issued, then facturx links the PDF whose factur-x.xml is the CII of the frozen document', async () => {
    const token = await seller({ eInvoiceFormat: 'facturx' })
    const buyer = await customer(token, GERMAN_BUYER)
    const invoice = await issue(token, {
      customerId: buyer,
      discountPercent: 5,
      items: [line('Design', 3, 1999), line('Books', 2, 1250, { taxRate: 7 })],
    })
    const link = await ok(token, `/api/v1/invoices/${invoice.id}/e-invoice?format=facturx`)
    expect(link).toMatchObject({ format: 'facturx', filename: `${invoice.number}.pdf` })
    const pdf = await download(link.url)
    expect(pdf.type).toBe('application/pdf')
    const pdfLink = await ok(token, `/api/v1/invoices/${invoice.id}/pdf`)
    expect(Buffer.from((await download(pdfLink.url)).bytes).equals(Buffer.from(pdf.bytes))).toBe(true)

    const embedded = await detach(pdf.bytes)
    // The CII of the frozen document, as the XRechnung-free Factur-X profile writes it.
    const cii = toCii(toEInvoiceDocument(await frozenSource(token, invoice)), 'facturx')
    expect(embedded).toBe(cii)
    expect(await schemaErrors('cii', embedded)).toEqual([])
    expect(await fatalRuleIds(en16931Cii, embedded)).toEqual([])

    const note = await ok(
      token,
      `/api/v1/invoices/${invoice.id}/credit-notes`,
      { method: 'POST', json: { reason: 'duplicate' } },
      201,
    )
    const noteLink = await ok(token, `/api/v1/credit-notes/${note.id}/e-invoice?format=facturx`)
    expect(noteLink).toMatchObject({ format: 'facturx', filename: `${note.number}.pdf` })
    const noteXml = await detach((await download(noteLink.url)).bytes)
    expect(noteXml).toContain('<ram:TypeCode>381</ram:TypeCode>')
    expect(await fatalRuleIds(en16931Cii, noteXml)).toEqual([])
  })

  test('when a document was issued as a plain PDF, then format=facturx is a 409: one PDF of record', async () => {
    const token = await seller()
    const buyer = await customer(token, GERMAN_BUYER)
    const invoice = await issue(token, { customerId: buyer, items: [line('Work', 1, 1000)] })
    const refused = await call(token, `/api/v1/invoices/${invoice.id}/e-invoice?format=facturx`)
    expect(refused.status).toBe(409)
    expect(refused.body.error.code).toBe('INVALID_STATUS_TRANSITION')
    const note = await ok(
      token,
      `/api/v1/invoices/${invoice.id}/credit-notes`,
      { method: 'POST', json: { reason: 'other' } },
      201,
    )
    expect((await call(token, `/api/v1/credit-notes/${note.id}/e-invoice?format=facturx`)).status).toBe(409)
  })
})

describe('tenancy', () => {
  test("when another user's invoice or credit note is named, then every e-invoice route answers 404", async () => {
    const owner = await seller()
    const buyer = await customer(owner, GERMAN_BUYER)
    const invoice = await issue(owner, { customerId: buyer, items: [line('Work', 1, 1000)] })
    const note = await ok(
      owner,
      `/api/v1/invoices/${invoice.id}/credit-notes`,
      { method: 'POST', json: { reason: 'other' } },
      201,
    )
    const intruder = await seller()
    for (const path of [
      `/api/v1/invoices/${invoice.id}/e-invoice/check`,
      `/api/v1/invoices/${invoice.id}/e-invoice?format=ubl`,
      `/api/v1/invoices/${invoice.id}/e-invoice?format=facturx`,
      `/api/v1/credit-notes/${note.id}/e-invoice?format=xrechnung-cii`,
    ]) {
      const res = await call(intruder, path)
      expect({ path, status: res.status, code: res.body.error.code }).toEqual({
        path,
        status: 404,
        code: 'NOT_FOUND',
      })
    }
  })
})

let detached = 0
async function detach(pdf: Uint8Array): Promise<string> {
  const file = join(dir, `document-${++detached}.pdf`)
  const out = join(dir, `factur-x-${detached}.xml`)
  await Bun.write(file, pdf)
  const list = Bun.spawn(['pdfdetach', '-list', file], { stdout: 'pipe' })
  expect(await new Response(list.stdout).text()).toContain('factur-x.xml')
  const run = Bun.spawn(['pdfdetach', '-save', '1', '-o', out, file], { stderr: 'pipe' })
  expect(await run.exited).toBe(0)
  return Bun.file(out).text()
}

/** The frozen source of an issued invoice, read back through the module that made the PDF. */
async function frozenSource(token: string, invoice: Json) {
  const { findInvoiceRecord, invoiceItems } = await import('../../src/modules/invoices/service.ts')
  const { invoiceSource } = await import('../../src/modules/issuing/service.ts')
  const db = t.deps.database.db
  const userId = (await ok(token, '/api/v1/me')).id as string
  const record = await findInvoiceRecord(db, userId, invoice.id)
  const items = await invoiceItems(db, userId, invoice.id)
  return invoiceSource(record, items, {
    number: record.number!,
    seller: record.seller!,
    billTo: record.billTo!,
  })
}
