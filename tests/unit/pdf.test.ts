import { describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatDate, formatPercent, formatQuantity } from '../../src/lib/pdf/format.ts'
import { renderInvoicePdf } from '../../src/lib/pdf/index.ts'
import { sampleInvoiceSnapshot, sampleItem } from '../../src/lib/pdf/sample.ts'
import type { InvoiceSnapshot } from '../../src/lib/pdf/types.ts'
import { formatMoney } from '../../src/shared/money.ts'
import { extractPdfText } from '../helpers/pdf-text.ts'

const decoder = new TextDecoder('latin1')
const ascii = (bytes: Uint8Array) => decoder.decode(bytes)
const trailerId = (bytes: Uint8Array) => /\/ID \[<([0-9a-f]+)>/.exec(ascii(bytes))?.[1]
const squeeze = (text: string) => text.replace(/\s+/g, '')

function yenInvoice(): InvoiceSnapshot {
  const item = sampleItem('Консультация / Συμβουλή', 1, 1235, 0, 0)
  return sampleInvoiceSnapshot(0, {
    currency: 'JPY',
    discountPercent: 0,
    notes: null,
    items: [item],
    subtotal: 1235,
    discountTotal: 0,
    taxTotal: 0,
    total: 1235,
    amountPaid: 0,
    amountDue: 1235,
  })
}

describe('money and number formatting', () => {
  test('when formatting quantities, rates and dates, then no trailing zeros and no time zone shift', () => {
    expect(formatQuantity(1.5)).toBe('1.5')
    expect(formatQuantity(3)).toBe('3')
    expect(formatQuantity(0.125)).toBe('0.125')
    expect(formatPercent(19)).toBe('19%')
    expect(formatPercent(7.25)).toBe('7.25%')
    expect(formatDate('2026-01-01')).toBe('Jan 1, 2026')
    expect(formatDate('2026-12-31')).toBe('Dec 31, 2026')
  })
})

describe('renderInvoicePdf', () => {
  test('when rendering a 10-item EUR invoice, then one page shows parties, dates, items and totals as text', async () => {
    const snapshot = sampleInvoiceSnapshot(10)
    const bytes = await renderInvoicePdf(snapshot)
    expect(ascii(bytes.subarray(0, 5))).toBe('%PDF-')

    const { pages, info } = await extractPdfText(bytes)
    expect(pages).toHaveLength(1)
    const { text, lines } = pages[0]!
    for (const expected of ['Invoice', 'INV-0042', 'Αθήνα Ltd', 'Οδός Ερμού 12', 'ООО Ромашка', 'Москва']) {
      expect(text).toContain(expected)
    }
    expect(lines).toContain('Number INV-0042')
    expect(text).toContain('Issue date Jan 15, 2026')
    expect(text).toContain('Due date Feb 14, 2026')
    expect(lines).toContain('Description Quantity Unit price Tax rate Total')
    const lineTotal = (description: string) =>
      formatMoney(snapshot.items.find((i) => i.description === description)!.total, 'EUR')
    expect(lines).toContain(`Design hours 7.25 €95.00 19% ${lineTotal('Design hours')}`)
    expect(lines).toContain(`Copywriting, per page 0.5 €200.00 7.25% ${lineTotal('Copywriting, per page')}`)
    expect(lines).toContain(
      `Συμβουλευτικές υπηρεσίες (Ελληνικά) 12.5 €45.00 24% ${lineTotal('Συμβουλευτικές υπηρεσίες (Ελληνικά)')}`,
    )
    expect(text).toContain('Subtotal €8,508.64')
    expect(text).toContain('Discount (10%) -€850.87')
    expect(text).toContain('Tax €1,401.32')
    expect(text).toContain('Total €9,059.09')
    expect(text).toContain('Amount paid -€500.00')
    expect(lines).toContain('Amount due €8,559.09')
    expect(text).toContain('Payment by bank transfer')
    expect(lines.at(-1)).toBe('INV-0042 · Αθήνα Ltd Page 1 of 1')
    expect(info['Title']).toBe('Invoice INV-0042')
    expect(info['CreationDate']).toBe('D:20260115093000Z')
    expect(info['ModDate']).toBe('D:20260115093000Z')
  })

  test('when rendering a JPY invoice without discount or payments, then yen has no decimals and those rows are absent', async () => {
    const { pages } = await extractPdfText(await renderInvoicePdf(yenInvoice()))
    const { text, lines } = pages[0]!
    expect(lines).toContain('Консультация / Συμβουλή 1 ¥1,235 0% ¥1,235')
    expect(lines).toContain('Amount due ¥1,235')
    expect(text).toContain('Total ¥1,235')
    expect(text).not.toContain('Discount')
    expect(text).not.toContain('Amount paid')
    expect(text).not.toContain('NOTES')
    expect(text).toContain('Page 1 of 1')
  })

  test('when rendering 120 items, then they span several pages, each with the table header and its page count', async () => {
    const snapshot = sampleInvoiceSnapshot(120)
    const { pages } = await extractPdfText(await renderInvoicePdf(snapshot))
    expect(pages.length).toBeGreaterThan(2)
    for (const [i, page] of pages.entries()) {
      expect(page.lines).toContain('Description Quantity Unit price Tax rate Total')
      expect(page.lines.at(-1)).toEndWith(`Page ${i + 1} of ${pages.length}`)
    }
    const all = pages.map((page) => page.text).join('\n')
    for (let n = 1; n <= 120; n++) {
      if (snapshot.items[n - 1]!.description.startsWith('Annual maintenance')) continue
      expect(all.match(new RegExp(`#${n}\\b`, 'g'))).toHaveLength(1)
    }
    expect(pages.at(-1)!.lines).toContain(`Amount due ${formatMoney(snapshot.amountDue, 'EUR')}`)
  })

  test('when a description is long, then it wraps over several lines inside its column and is never cut', async () => {
    const snapshot = sampleInvoiceSnapshot(10)
    const description = snapshot.items[1]!.description
    const { pages } = await extractPdfText(await renderInvoicePdf(snapshot))
    const quantityHeader = pages[0]!.items.find((item) => item.str === 'Quantity')!
    const column = pages[0]!.items.filter((item) => item.x < quantityHeader.x && item.y > quantityHeader.y)
    const start = column.findIndex((item) => item.str.startsWith('Annual maintenance'))
    const wrapped = column.slice(start, start + 12).filter((item) => description.includes(item.str.trim()))
    expect(wrapped.length).toBeGreaterThan(3)
    expect(squeeze(wrapped.map((item) => item.str).join(''))).toBe(squeeze(description))
    for (const item of wrapped) expect(item.x + item.width).toBeLessThan(quantityHeader.x)
  })

  test('when notes are long, then they flow onto further pages and every page still counts the total', async () => {
    const notes = Array.from(
      { length: 300 },
      (_, i) => `Clause ${i + 1}: goods remain our property until paid.`,
    )
    const { pages } = await extractPdfText(
      await renderInvoicePdf(sampleInvoiceSnapshot(30, { notes: notes.join(' ') })),
    )
    expect(pages.length).toBeGreaterThan(2)
    for (const [i, page] of pages.entries()) {
      expect(page.lines.at(-1)).toEndWith(`Page ${i + 1} of ${pages.length}`)
    }
    const all = pages.map((page) => page.text).join(' ')
    expect(all).toContain('Clause 1:')
    expect(all).toContain('Clause 300:')
  })

  test('when there are no items, then the table says so and the totals still render', async () => {
    const snapshot = sampleInvoiceSnapshot(0, { amountPaid: 0, discountPercent: 0 })
    const { pages } = await extractPdfText(await renderInvoicePdf(snapshot))
    expect(pages[0]!.lines).toContain('No items')
    expect(pages[0]!.lines).toContain('Amount due €0.00')
  })

  test('when rendering the same snapshot twice, given time passes between, then the bytes are identical', async () => {
    const snapshot = sampleInvoiceSnapshot(10)
    const first = await renderInvoicePdf(snapshot)
    await Bun.sleep(1100)
    await renderInvoicePdf(yenInvoice())
    const second = await renderInvoicePdf(structuredClone(snapshot))
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true)

    const reordered = Object.fromEntries(Object.entries(snapshot).reverse()) as InvoiceSnapshot
    const asDate = await renderInvoicePdf({ ...reordered, sentAt: new Date(snapshot.sentAt) })
    expect(Buffer.from(asDate).equals(Buffer.from(first))).toBe(true)
  })

  test('when rendering after other documents, then the bytes equal those of a fresh process', async () => {
    await renderInvoicePdf(sampleInvoiceSnapshot(1))
    await renderInvoicePdf(yenInvoice())
    const warm = await renderInvoicePdf(sampleInvoiceSnapshot(10))
    const dir = mkdtempSync(join(tmpdir(), 'pdf-'))
    const out = join(dir, 'sample.pdf')
    const script = join(import.meta.dir, '../../scripts/render-sample-pdf.ts')
    const child = Bun.spawnSync([process.execPath, script, out, '10'])
    expect(child.exitCode).toBe(0)
    const fresh = await Bun.file(out).bytes()
    rmSync(dir, { recursive: true })
    expect(Buffer.from(warm).equals(Buffer.from(fresh))).toBe(true)
    const { pages } = await extractPdfText(warm)
    expect(pages[0]!.text).toContain('Συμβουλευτικές υπηρεσίες (Ελληνικά)')
  })

  test('when snapshots differ, then their document ids differ and neither derives from the clock', async () => {
    const a = await renderInvoicePdf(sampleInvoiceSnapshot(3))
    const b = await renderInvoicePdf(sampleInvoiceSnapshot(3, { number: 'INV-0043' }))
    expect(trailerId(a)).toMatch(/^[0-9a-f]{32}$/)
    expect(trailerId(b)).toMatch(/^[0-9a-f]{32}$/)
    expect(trailerId(a)).not.toBe(trailerId(b))
  })

  test('when sentAt is not a date, then rendering fails loudly', async () => {
    await expect(renderInvoicePdf(sampleInvoiceSnapshot(1, { sentAt: 'yesterday' }))).rejects.toThrow(
      RangeError,
    )
  })

  test('timings: 10 items warm, 500 items', async () => {
    const ten = sampleInvoiceSnapshot(10)
    const fiveHundred = sampleInvoiceSnapshot(500)
    await renderInvoicePdf(ten)
    const runs = 20
    let started = performance.now()
    for (let i = 0; i < runs; i++) await renderInvoicePdf(ten)
    const warm = (performance.now() - started) / runs
    started = performance.now()
    const big = await renderInvoicePdf(fiveHundred)
    const large = performance.now() - started
    console.log(
      `pdf render: 10 items ${warm.toFixed(2)} ms warm (mean of ${runs}), 500 items ${large.toFixed(1)} ms`,
    )
    expect(big.byteLength).toBeGreaterThan(0)
  })
})
