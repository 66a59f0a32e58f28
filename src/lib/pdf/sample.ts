import type { CreditNoteSnapshot, InvoiceItemSnapshot, InvoiceSnapshot } from './types.ts'

/** round(n / d) half away from zero, for d > 0. */
function divRound(n: bigint, d: bigint): bigint {
  const q = n / d
  const r = n % d
  if (2n * (r < 0n ? -r : r) >= d) return n < 0n ? q - 1n : q + 1n
  return q
}

const thousandths = (value: number) => BigInt(Math.round(value * 1000))

/** A line with its amounts computed by the rules of the API's money arithmetic. */
export function sampleItem(
  description: string,
  quantity: number,
  unitPrice: number,
  taxRate: number,
  discountPercent: number,
): InvoiceItemSnapshot {
  const subtotal = divRound(thousandths(quantity) * BigInt(unitPrice), 1000n)
  const discount = divRound(subtotal * thousandths(discountPercent), 100_000n)
  const tax = divRound((subtotal - discount) * thousandths(taxRate), 100_000n)
  return {
    description,
    quantity,
    unitPrice,
    taxRate,
    subtotal: Number(subtotal),
    discount: Number(discount),
    tax: Number(tax),
    total: Number(subtotal - discount + tax),
  }
}

const LONG_DESCRIPTION =
  'Annual maintenance and support agreement covering the hosted billing platform, including security ' +
  'patches, quarterly upgrades, 24/7 incident response with a four-hour reaction time, nightly off-site ' +
  'backups with thirty-day retention, and up to twelve hours of consulting per month for integrations ' +
  'with https://accounting.example.com/api/v2/ledger-synchronisation-endpoint'

const CATALOGUE: [string, number, number, number][] = [
  ['Website redesign — discovery workshop', 1, 150_000, 19],
  [LONG_DESCRIPTION, 1, 480_000, 19],
  ['Συμβουλευτικές υπηρεσίες (Ελληνικά)', 12.5, 4_500, 24],
  ['Консультация по налогам', 3, 12_000, 20],
  ['Hosting, EU region (monthly)', 1, 2_999, 19],
  ['Design hours', 7.25, 9_500, 19],
  ['Stock photography licence', 4, 1_250, 7],
  ['Travel expenses Berlin – Athens', 1, 38_740, 0],
  ['Domain renewal example.eu', 2, 1_500, 19],
  ['Copywriting, per page', 0.5, 20_000, 7.25],
]

/** An issued invoice for looking at and testing: Greek seller, Cyrillic customer, EUR. */
export function sampleInvoiceSnapshot(
  itemCount = 10,
  overrides: Partial<InvoiceSnapshot> = {},
): InvoiceSnapshot {
  const discountPercent = overrides.discountPercent ?? 10
  const items = Array.from({ length: itemCount }, (_, i) => {
    const [description, quantity, unitPrice, taxRate] = CATALOGUE[i % CATALOGUE.length]!
    const label =
      itemCount > CATALOGUE.length && description !== LONG_DESCRIPTION
        ? `${description} #${i + 1}`
        : description
    return sampleItem(label, quantity, unitPrice, taxRate, discountPercent)
  })
  const sum = (pick: (item: InvoiceItemSnapshot) => number) =>
    items.reduce((acc, item) => acc + pick(item), 0)
  const total = sum((item) => item.total)
  const amountPaid = overrides.amountPaid ?? 50_000
  return {
    number: 'INV-0042',
    currency: 'EUR',
    issueDate: '2026-01-15',
    dueDate: '2026-02-14',
    sentAt: '2026-01-15T09:30:00.000Z',
    discountPercent,
    notes:
      'Payment by bank transfer to IBAN GR16 0110 1250 0000 0001 2300 695, reference INV-0042. Thank you!',
    from: {
      companyName: 'Αθήνα Ltd',
      email: 'billing@athina.example',
      phone: '+30 21 0123 4567',
      taxId: 'EL123456789',
      address: {
        line1: 'Οδός Ερμού 12',
        line2: null,
        city: 'Αθήνα',
        region: null,
        postalCode: '105 63',
        country: 'GR',
      },
    },
    billTo: {
      name: 'ООО Ромашка',
      email: 'accounts@romashka.example',
      taxId: '7701234567',
      address: {
        line1: 'ул. Тверская, д. 7',
        line2: 'офис 12',
        city: 'Москва',
        region: null,
        postalCode: '125009',
        country: 'RU',
      },
    },
    items,
    subtotal: sum((item) => item.subtotal),
    discountTotal: sum((item) => item.discount),
    taxTotal: sum((item) => item.tax),
    total,
    amountPaid,
    amountDue: total - amountPaid,
    ...overrides,
  }
}

/**
 * A credit note for looking at and testing: the whole of the sample invoice with `itemCount` lines, of
 * which €500.00 had been paid, so the credit clears the balance and that payment is refunded.
 */
export function sampleCreditNoteSnapshot(
  itemCount = 10,
  overrides: Partial<CreditNoteSnapshot> = {},
): CreditNoteSnapshot {
  const invoice = sampleInvoiceSnapshot(itemCount)
  const appliedToBalance = Math.min(invoice.total, invoice.amountDue)
  return {
    kind: 'credit_note',
    number: 'CN-0001',
    invoiceNumber: invoice.number,
    invoiceIssueDate: invoice.issueDate,
    currency: invoice.currency,
    issueDate: '2026-01-20',
    issuedAt: '2026-01-20T14:05:00.000Z',
    reason: 'order_change',
    memo: 'The workshop series was cancelled by the customer.\nCredited in full as agreed on 19 January.',
    discountPercent: invoice.discountPercent,
    from: invoice.from,
    billTo: invoice.billTo,
    items: invoice.items,
    subtotal: invoice.subtotal,
    discountTotal: invoice.discountTotal,
    taxTotal: invoice.taxTotal,
    total: invoice.total,
    appliedToBalance,
    refundDue: invoice.total - appliedToBalance,
    ...overrides,
  }
}
