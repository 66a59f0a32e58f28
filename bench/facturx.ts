/**
 * What an e-invoice costs to produce (issue 16's numbers): the CII of a 10-line invoice (`toCii`, target p95
 * ≤ 5 ms), and the Factur-X PDF (PDF/A-3b with that CII embedded) against today's plain PDF of the same
 * snapshot (target: at most 30 % more). In process, on one core, after a warm-up; plain and Factur-X renders
 * alternate (and swap order every round) so drift and GC weigh on both alike.
 *
 *   bun bench/facturx.ts            # N=200 renders of each kind
 *   BENCH_N=500 bun bench/facturx.ts
 *
 * Prints a Markdown table and the load before and after; run it on a quiet machine (1-minute load < 1.5).
 */
import { cpus, loadavg } from 'node:os'
import { checkDocument, toCii } from '../src/lib/einvoice/index.ts'
import { type RenderOptions, renderDocumentPdf } from '../src/lib/pdf/index.ts'
import { sampleInvoiceSnapshot } from '../src/lib/pdf/sample.ts'
import { invoice } from '../tests/einvoice/documents.ts'

const N = Number(process.env['BENCH_N'] ?? 200)
const WARM_UP = 30
const XML_RUNS = Math.max(1_000, N)

const snapshot = sampleInvoiceSnapshot(10)
/** The same ten lines as an EN 16931 document (the test matrix's German seller and buyer). */
const document = invoice(
  snapshot.items.map((item) => ({
    description: item.description,
    quantity: String(item.quantity),
    unitPrice: item.unitPrice,
    taxRate: String(item.taxRate),
  })),
  { discountPercent: String(snapshot.discountPercent) },
  { number: snapshot.number, issueDate: snapshot.issueDate },
)
const problems = checkDocument(document, 'facturx')
if (problems.length > 0) throw new Error(`the benchmark document is incomplete: ${JSON.stringify(problems)}`)

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b)
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    mean: samples.reduce((a, b) => a + b) / samples.length,
  }
}
const ms = (value: number) => value.toFixed(2)
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(', ')

async function timed(work: () => unknown): Promise<number> {
  const started = performance.now()
  await work()
  return performance.now() - started
}

const loadBefore = load()

// The XML alone.
let xml = ''
for (let i = 0; i < 100; i++) xml = toCii(document, 'facturx')
const xmlTimes: number[] = []
for (let i = 0; i < XML_RUNS; i++) xmlTimes.push(await timed(() => toCii(document, 'facturx')))

const options: RenderOptions = { facturx: { xml, conformance: 'EN 16931' } }
const plainRender = () => renderDocumentPdf(snapshot)
const facturxRender = () => renderDocumentPdf(snapshot, options)
/** What issuing a Factur-X document renders: the XML, then the PDF that carries it. */
const facturxWithXml = () =>
  renderDocumentPdf(snapshot, { facturx: { xml: toCii(document, 'facturx'), conformance: 'EN 16931' } })

for (let i = 0; i < WARM_UP; i++) {
  await plainRender()
  await facturxRender()
  await facturxWithXml()
}

const plain: number[] = []
const facturx: number[] = []
const withXml: number[] = []
for (let i = 0; i < N; i++) {
  const rounds: [number[], () => Promise<Uint8Array>][] = [
    [plain, plainRender],
    [facturx, facturxRender],
    [withXml, facturxWithXml],
  ]
  if (i % 2 === 1) rounds.reverse()
  for (const [samples, render] of rounds) samples.push(await timed(render))
}

const sizes = { plain: (await plainRender()).byteLength, facturx: (await facturxRender()).byteLength }
const x = summary(xmlTimes)
const p = summary(plain)
const f = summary(facturx)
const w = summary(withXml)
const ratio = (a: number, b: number) =>
  `${(a / b).toFixed(2)}× (${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(0)} %)`

console.log(
  `E-invoices, 10-line invoice (sample snapshot), Bun ${Bun.version}, ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}`,
)
console.log(`load (1, 5, 15 min) before: ${loadBefore}; after: ${load()}`)
console.log(`N = ${N} renders of each kind after ${WARM_UP} warm-up rounds; toCii ${XML_RUNS} runs\n`)
console.log('| what | p50 | p95 | mean | bytes |')
console.log('|---|---:|---:|---:|---:|')
console.log(
  `| \`toCii\` (CII XML) | ${ms(x.p50)} ms | ${ms(x.p95)} ms | ${ms(x.mean)} ms | ${new TextEncoder().encode(xml).byteLength} |`,
)
console.log(`| plain PDF | ${ms(p.p50)} ms | ${ms(p.p95)} ms | ${ms(p.mean)} ms | ${sizes.plain} |`)
console.log(
  `| Factur-X PDF (XML given) | ${ms(f.p50)} ms | ${ms(f.p95)} ms | ${ms(f.mean)} ms | ${sizes.facturx} |`,
)
console.log(`| Factur-X PDF + \`toCii\` | ${ms(w.p50)} ms | ${ms(w.p95)} ms | ${ms(w.mean)} ms | |`)
console.log('')
console.log(`Factur-X / plain: p50 ${ratio(f.p50, p.p50)}, p95 ${ratio(f.p95, p.p95)}`)
console.log(`Factur-X + toCii / plain: p50 ${ratio(w.p50, p.p50)}, p95 ${ratio(w.p95, p.p95)}`)
