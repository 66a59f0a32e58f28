// Writes a sample invoice PDF: bun scripts/render-sample-pdf.ts <out.pdf> [item count]
import { renderInvoicePdf } from '../src/lib/pdf/index.ts'
import { sampleInvoiceSnapshot } from '../src/lib/pdf/sample.ts'

const [out, count = '10'] = process.argv.slice(2)
if (!out) {
  console.error('usage: bun scripts/render-sample-pdf.ts <out.pdf> [item count]')
  process.exit(1)
}
const items = Number(count)
if (!Number.isInteger(items) || items < 0 || items > 500) {
  console.error('item count must be an integer from 0 to 500')
  process.exit(1)
}
const bytes = await renderInvoicePdf(sampleInvoiceSnapshot(items))
await Bun.write(out, bytes)
console.log(`${out}: ${items} items, ${bytes.byteLength} bytes`)
