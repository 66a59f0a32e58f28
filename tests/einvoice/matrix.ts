import type { EInvoiceDocument } from '../../src/lib/einvoice/index.ts'
import { baseInput, invoice } from './documents.ts'

/** One document of the matrix, and the rules it is known to miss in a format (none, unless stated). */
export interface MatrixCase {
  name: string
  doc: EInvoiceDocument
  /** Rules the XRechnung variant must fail, reported by both `checkDocument` and the official rules. */
  xrechnungMisses?: string[]
}

const austrianBuyer = {
  name: 'Alpenholz Handels GmbH',
  vatId: 'ATU12345678',
  address: { line1: 'Hauptplatz 3', city: 'Graz', postalCode: '8010', country: 'AT' },
  email: 'office@alpenholz.example',
}

const frenchBuyer = {
  name: 'Atelier Lumière SARL',
  vatId: 'FR32123456789',
  address: { line1: '14 rue des Lilas', city: 'Lyon', postalCode: '69003', country: 'FR' },
  email: 'compta@lumiere.example',
}

/** 120 lines of 105 yen at 10 %: each line's tax rounds 10.5 up to 11, 60 yen more than the category's 1,260. */
const manyYenItems = Array.from({ length: 120 }, (_, index) => ({
  description: `Component ${index + 1}`,
  quantity: '1',
  unitPrice: 105,
  taxRate: '10',
}))

export const JPY_PER_LINE_ITEMS = manyYenItems

export const MATRIX: MatrixCase[] = [
  {
    name: 'one standard rate (19 %, EUR)',
    doc: invoice([
      { description: 'Consulting', quantity: '3', unitPrice: 1999, taxRate: '19', unitCode: 'HUR' },
      { description: 'Licence', quantity: '1', unitPrice: 50000, taxRate: '19' },
    ]),
  },
  {
    name: 'mixed 19 % and 7 %',
    doc: invoice([
      { description: 'Software', quantity: '2', unitPrice: 12345, taxRate: '19' },
      { description: 'Handbook', quantity: '3', unitPrice: 2999, taxRate: '7' },
    ]),
  },
  {
    name: 'quantities with three decimals',
    doc: invoice([
      { description: 'Support hours', quantity: '1.5', unitPrice: 9000, taxRate: '19', unitCode: 'HUR' },
      { description: 'Cable', quantity: '0.333', unitPrice: 3, taxRate: '19', unitCode: 'MTR' },
      { description: 'Steel', quantity: '12.125', unitPrice: 1733, taxRate: '7.25', unitCode: 'KGM' },
    ]),
  },
  {
    name: 'a zero-rated and an exempt line (Z, E with reason)',
    doc: invoice(
      [
        { description: 'Books export', quantity: '4', unitPrice: 1500, taxRate: '0', taxCategory: 'Z' },
        { description: 'Medical training', quantity: '1', unitPrice: 40000, taxRate: '0', taxCategory: 'E' },
        { description: 'Printing', quantity: '1', unitPrice: 10000, taxRate: '19' },
      ],
      {},
      { exemptionReasons: { E: 'Exempt under § 4 Nr. 21 UStG' } },
    ),
  },
  {
    name: 'reverse charge (AE) to another EU country',
    doc: invoice(
      [
        {
          description: 'Installation service',
          quantity: '10',
          unitPrice: 8500,
          taxRate: '0',
          taxCategory: 'AE',
        },
      ],
      {},
      { buyer: frenchBuyer, exemptionReasons: { AE: 'Reverse charge' } },
    ),
  },
  {
    name: 'intra-community supply (K) with delivery date and country',
    doc: invoice(
      [
        {
          description: 'Oak boards',
          quantity: '40',
          unitPrice: 2250,
          taxRate: '0',
          taxCategory: 'K',
          unitCode: 'H87',
        },
      ],
      {},
      {
        buyer: austrianBuyer,
        exemptionReasons: { K: 'Intra-community supply' },
        delivery: {
          date: '2026-01-12',
          deliverTo: { line1: 'Lagerweg 5', city: 'Graz', postalCode: '8020', country: 'AT' },
        },
      },
    ),
  },
  {
    name: 'a document discount over two rates',
    doc: invoice(
      [
        { description: 'Hardware', quantity: '3', unitPrice: 1999, taxRate: '19' },
        { description: 'Food', quantity: '7', unitPrice: 333, taxRate: '7' },
        { description: 'Service', quantity: '1', unitPrice: 5000, taxRate: '7.25' },
      ],
      { discountPercent: '12.5' },
    ),
  },
  {
    name: 'a negative line (deposit received)',
    doc: invoice(
      [
        { description: 'Machine', quantity: '1', unitPrice: 250000, taxRate: '19' },
        { description: 'Deposit received', quantity: '1', unitPrice: -50000, taxRate: '19' },
      ],
      { discountPercent: '5' },
    ),
  },
  {
    name: 'JPY, 120 lines, taxed per category',
    doc: invoice(manyYenItems, { currency: 'JPY', taxCalculation: 'per_category' }),
  },
  {
    name: 'a credit note (381) referencing its invoice',
    doc: invoice(
      [
        { description: 'Consulting', quantity: '1', unitPrice: 1999, taxRate: '19', unitCode: 'HUR' },
        { description: 'Handbook', quantity: '1', unitPrice: 2999, taxRate: '7' },
      ],
      {},
      {
        typeCode: '381',
        number: 'CN-0001',
        precedingInvoice: { number: 'INV-0042', issueDate: '2026-01-15' },
        issueDate: '2026-01-20',
        paymentTerms: 'Credited against INV-0042; any balance is refunded.',
      },
    ),
  },
  {
    name: 'a partial credit note of a discounted invoice with a negative line',
    doc: invoice(
      [
        { description: 'Machine, 1 of 3', quantity: '1', unitPrice: 250000, taxRate: '19' },
        { description: 'Deposit received', quantity: '1', unitPrice: -50000, taxRate: '19' },
        { description: 'Manual', quantity: '2', unitPrice: 1999, taxRate: '7' },
      ],
      { discountPercent: '5' },
      {
        typeCode: '381',
        number: 'CN-0002',
        precedingInvoice: { number: 'INV-0043', issueDate: '2026-01-16' },
        issueDate: '2026-01-25',
        paymentTerms: 'Credited against INV-0043; any balance is refunded.',
      },
    ),
  },
  {
    name: 'a partially paid invoice (prepaid amount)',
    doc: invoice(
      [{ description: 'Licence', quantity: '2', unitPrice: 50000, taxRate: '19' }],
      {},
      { prepaid: 30000 },
    ),
  },
  {
    name: 'no payment means',
    doc: invoice(
      [{ description: 'Licence', quantity: '1', unitPrice: 50000, taxRate: '19' }],
      {},
      { paymentMeans: null },
    ),
    xrechnungMisses: ['BR-DE-1'],
  },
]

export { baseInput }
