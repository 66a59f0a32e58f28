import {
  buildEInvoiceDocument,
  type EInvoiceDocument,
  type EInvoiceInput,
  type EInvoiceLineInput,
  type VatCategory,
} from '../../src/lib/einvoice/index.ts'
import { computeLine, currencyMinorDigits } from '../../src/shared/money.ts'

/** An item as the API takes it (API.md "Resources"), priced by the product's own money rules. */
export interface Item {
  description: string
  quantity: string
  unitPrice: number
  taxRate: string
  taxCategory?: VatCategory
  unitCode?: string
}

export interface Options {
  currency?: string
  discountPercent?: string
  /** `per_line` keeps each line's rounded tax (the product's default); `per_category` lets the norm tax each group once. */
  taxCalculation?: 'per_line' | 'per_category'
}

/** The product's lines: subtotal, discount and tax per line, as `computeLine` prices them. */
export function lines(items: readonly Item[], options: Options = {}): EInvoiceLineInput[] {
  return items.map((item, index) => {
    const amounts = computeLine({
      quantity: item.quantity,
      unitPrice: item.unitPrice,
      taxRate: item.taxRate,
      discountPercent: options.discountPercent ?? '0',
    })
    const category = item.taxCategory ?? (Number(item.taxRate) > 0 ? 'S' : 'Z')
    return {
      id: String(index + 1),
      name: item.description,
      quantity: item.quantity,
      unitCode: item.unitCode ?? 'C62',
      unitPrice: item.unitPrice,
      netAmount: amounts.subtotal,
      vatCategory: category,
      vatRate: item.taxRate,
      discount: amounts.discount,
      ...(options.taxCalculation === 'per_category' ? {} : { tax: amounts.tax }),
    }
  })
}

/** A German seller with everything XRechnung asks for, billing a German public buyer. */
export function baseInput(currency = 'EUR'): Omit<EInvoiceInput, 'lines'> {
  return {
    typeCode: '380',
    number: 'INV-0042',
    issueDate: '2026-01-15',
    dueDate: '2026-02-14',
    currency: { code: currency, minorDigits: currencyMinorDigits(currency) },
    buyerReference: '04011000-12345-67',
    purchaseOrderReference: 'PO-7781',
    seller: {
      name: 'Nordlicht Software GmbH',
      vatId: 'DE123456789',
      address: { line1: 'Lindenstraße 12', city: 'Berlin', postalCode: '10969', country: 'DE' },
      contact: { name: 'Mara Voss', phone: '+49 30 1234567', email: 'billing@nordlicht.example' },
      electronicAddress: { scheme: 'EM', value: 'billing@nordlicht.example' },
    },
    buyer: {
      name: 'Stadtwerke Musterstadt',
      vatId: 'DE987654321',
      address: { line1: 'Am Markt 1', city: 'Musterstadt', postalCode: '12345', country: 'DE' },
      email: 'rechnung@stadtwerke.example',
      electronicAddress: { scheme: 'EM', value: 'rechnung@stadtwerke.example' },
    },
    paymentTerms: 'Payable within 30 days.',
    paymentMeans: {
      code: '58',
      iban: 'DE02120300000000202051',
      bic: 'BYLADEM1001',
      accountName: 'Nordlicht Software GmbH',
    },
  }
}

export function invoice(
  items: readonly Item[],
  options: Options = {},
  overrides: Partial<EInvoiceInput> = {},
): EInvoiceDocument {
  return buildEInvoiceDocument({
    ...baseInput(options.currency),
    ...overrides,
    lines: lines(items, options),
  })
}
