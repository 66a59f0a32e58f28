import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import fc from 'fast-check'
import { createTestApp, type TestApp } from '../helpers/app'
import * as ref from './reference'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

/**
 * A model-based test of the invoice API: random sequences of customer, profile, invoice and credit-note
 * commands run against the real app, and after every step the answer, the stored invoice (re-read), its event
 * trail, its credit notes and the invariants are compared with a reference model written from API.md
 * (./reference.ts). Each sequence is a new user. The model encodes the contract, not what the app happens to do.
 * Credit notes (full, partial by line and quantity, over-credits and malformed ones) interleave with payments,
 * voids and sends; credit-note numbers form their own gapless series.
 *
 * MODEL_RUNS (default 100) sets the number of sequences, MODEL_SEED the seed (a failure prints it; the same
 * seed repeats the whole search). A failure reports every distinct defect found, each shrunk to a short
 * sequence of steps: once a defect is found, later rounds pass over it where the app's state still agrees with
 * the model (a wrong amountDue, one error answered for another), end the sequence quietly where it does not,
 * and go on looking for others. MODEL_SEED with MODEL_PATH replays one round's counterexample; a defect
 * found in a later round is then met after the earlier ones that lie on its way.
 */

const integerEnv = (name: string, fallback: number) => {
  const value = process.env[name]
  if (value === undefined) return fallback
  if (!/^-?\d+$/.test(value)) throw new Error(`${name} must be an integer, not ${value}`)
  return Number(value)
}

const SEQUENCES = integerEnv('MODEL_RUNS', 100)
/** Commands generated a sequence; those whose precondition fails (no invoice to pay yet) are skipped. */
const MAX_COMMANDS = 45
const SEED = integerEnv('MODEL_SEED', (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0)
const REPLAY_PATH = process.env['MODEL_PATH']
/** Searches for further distinct defects after the first, at most this many rounds of SEQUENCES each. */
const MAX_ROUNDS = 6
/** Bounds a round (its shrinking above all) and all of them, within the test's own timeout. */
const ROUND_LIMIT_MS = 150_000
const SEARCH_LIMIT_MS = 420_000
const TEST_TIMEOUT_MS = 600_000

let app: TestApp
beforeAll(async () => {
  app = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' })
})
afterAll(() => app.close())

// ---------------------------------------------------------------------------------------------------------
// What the API answers

interface ItemBody {
  id: string
  description: string
  quantity: number
  unitPrice: number
  taxRate: number
  subtotal: number
  discount: number
  tax: number
  total: number
}

interface InvoiceBody {
  id: string
  number: string | null
  status: string
  customerId: string
  billTo: { name: string } | null
  currency: string
  issueDate: string
  dueDate: string
  discountPercent: number
  items: ItemBody[]
  subtotal: number
  discountTotal: number
  taxTotal: number
  total: number
  amountPaid: number
  creditedTotal: number
  amountDue: number
  isOverdue: boolean
  creditNotes: { id: string; number: string; total: number; issuedAt: string }[]
  payments: {
    invoiceId: string
    amount: number
    paidAt: string
    method: string
    reference: string | null
  }[]
  sentAt: string | null
  paidAt: string | null
  voidedAt: string | null
}

interface ProfileBody {
  defaultTaxRate: number
  defaultCurrency: string | null
  paymentTermsDays: number
  invoicePrefix: string
  nextInvoiceNumber: number
  creditNotePrefix: string
  nextCreditNoteNumber: number
  timezone: string
}

interface CreditNoteItemBody {
  id: string
  invoiceItemId: string
  description: string
  quantity: number
  unitPrice: number
  taxRate: number
  subtotal: number
  discount: number
  tax: number
  total: number
}

interface CreditNoteBody {
  id: string
  number: string
  invoiceId: string
  invoiceNumber: string
  customerId: string
  reason: string
  memo: string | null
  currency: string
  items: CreditNoteItemBody[]
  subtotal: number
  discountTotal: number
  taxTotal: number
  total: number
  appliedToBalance: number
  refundDue: number
  billTo: { name: string } | null
  issueDate: string
  issuedAt: string
}

interface ErrorBody {
  error?: { code?: string; message?: string; details?: { path: string; message: string }[] }
}

interface Answer {
  status: number
  body: unknown
}

// ---------------------------------------------------------------------------------------------------------
// The model

interface ModelProfile {
  defaultTaxRate: bigint
  defaultCurrency: string | null
  paymentTermsDays: number
  invoicePrefix: string
  nextInvoiceNumber: number
  creditNotePrefix: string
  nextCreditNoteNumber: number
}

interface ModelCustomer {
  label: string
  id: string
  name: string
  currency: string | null
}

interface ModelItem extends ref.LineInput {
  description: string
  /** The line's id as the last answer showed it; fixed once the invoice is issued. */
  id: string
  /** What credit notes took of the line so far. */
  credit: ref.LineCredit
}

interface ModelCreditNoteLine {
  invoiceItemId: string
  description: string
  quantity: bigint
  unitPrice: bigint
  taxRate: bigint
  amounts: ref.Amounts
}

interface ModelCreditNote {
  label: string
  id: string
  number: string
  /** The counter's value the number was made of. */
  seq: number
  invoice: ModelInvoice
  reason: string
  memo: string | null
  lines: ModelCreditNoteLine[]
  total: bigint
  appliedToBalance: bigint
  refundDue: bigint
  issueDate: string
  issuedAt: string
}

interface ModelInvoice {
  label: string
  id: string
  customer: ModelCustomer
  status: ref.Status
  deleted: boolean
  number: string | null
  currency: string
  issueDate: string
  dueDate: string
  discountPercent: bigint
  items: ModelItem[]
  payments: bigint[]
  creditNotes: ModelCreditNote[]
  sentAt: string | null
  paidAt: string | null
  voided: boolean
  events: string[]
}

interface Model {
  profile: ModelProfile
  customers: ModelCustomer[]
  invoices: ModelInvoice[]
  /** In the order they were issued. */
  creditNotes: ModelCreditNote[]
}

interface Real {
  token: string
  /** Facets of defects reported by earlier rounds. */
  known: ReadonlySet<string>
  /** The steps run so far, with the invoices they resolved to and the status each answered. */
  trace: string[]
  /** The kind of the step under way. */
  kind?: string
}

/** Stands for a timestamp the model cannot predict (sentAt) but the answer failed to carry. */
const A_TIMESTAMP = '<a timestamp>'

const today = () => new Date().toISOString().slice(0, 10)
const sum = (values: readonly bigint[]) => values.reduce((acc, v) => acc + v, 0n)
const amountPaidOf = (invoice: ModelInvoice) => sum(invoice.payments)
const amountsOf = (invoice: ModelInvoice) => ref.documentAmounts(invoice.items, invoice.discountPercent)
const creditedTotalOf = (invoice: ModelInvoice) => sum(invoice.creditNotes.map((note) => note.total))
const amountDueOf = (invoice: ModelInvoice) =>
  ref.amountDue(amountsOf(invoice).total, amountPaidOf(invoice), creditedTotalOf(invoice))

/** The invoice as the contract says the API shows it, in the shape of `viewOf`. */
function expectedView(invoice: ModelInvoice) {
  const amounts = amountsOf(invoice)
  const amountPaid = amountPaidOf(invoice)
  return {
    number: invoice.number,
    status: invoice.status,
    customerId: invoice.customer.id,
    billToName: invoice.customer.name,
    currency: invoice.currency,
    issueDate: invoice.issueDate,
    dueDate: invoice.dueDate,
    discountPercent: ref.decimalNumber(invoice.discountPercent),
    items: invoice.items.map((item, i) => {
      const line = amounts.lines[i]!
      return {
        // A draft's lines may be written anew; an issued invoice's lines keep the ids credit notes refer to.
        ...(invoice.status === 'draft' ? {} : { id: item.id }),
        description: item.description,
        quantity: ref.decimalNumber(item.quantity),
        unitPrice: Number(item.unitPrice),
        taxRate: ref.decimalNumber(item.taxRate),
        subtotal: Number(line.subtotal),
        discount: Number(line.discount),
        tax: Number(line.tax),
        total: Number(line.total),
      }
    }),
    subtotal: Number(amounts.subtotal),
    discountTotal: Number(amounts.discountTotal),
    taxTotal: Number(amounts.taxTotal),
    total: Number(amounts.total),
    amountPaid: Number(amountPaid),
    creditedTotal: Number(creditedTotalOf(invoice)),
    amountDue: Number(amountDueOf(invoice)),
    isOverdue: ref.isOverdue(invoice.status, invoice.dueDate, today()),
    creditNotes: invoice.creditNotes.map((note) => ({
      id: note.id,
      number: note.number,
      total: Number(note.total),
      issuedAt: note.issuedAt,
    })),
    payments: invoice.payments.map((amount) => ({ amount: Number(amount), invoiceId: invoice.id })),
    sentAt: invoice.sentAt,
    paidAt: invoice.paidAt,
    voided: invoice.voided,
  }
}

/** The fields of an answered invoice that the model predicts. */
function viewOf(body: InvoiceBody): ReturnType<typeof expectedView> {
  return {
    number: body.number,
    status: body.status as ref.Status,
    customerId: body.customerId,
    billToName: body.billTo?.name ?? '',
    currency: body.currency,
    issueDate: body.issueDate,
    dueDate: body.dueDate,
    discountPercent: body.discountPercent,
    items: (body.items ?? []).map((item) => ({
      ...(body.status === 'draft' ? {} : { id: item.id }),
      description: item.description,
      quantity: item.quantity,
      unitPrice: item.unitPrice,
      taxRate: item.taxRate,
      subtotal: item.subtotal,
      discount: item.discount,
      tax: item.tax,
      total: item.total,
    })),
    subtotal: body.subtotal,
    discountTotal: body.discountTotal,
    taxTotal: body.taxTotal,
    total: body.total,
    amountPaid: body.amountPaid,
    creditedTotal: body.creditedTotal,
    amountDue: body.amountDue,
    isOverdue: body.isOverdue,
    creditNotes: (body.creditNotes ?? []).map((note) => ({
      id: note.id,
      number: note.number,
      total: note.total,
      issuedAt: note.issuedAt,
    })),
    payments: (body.payments ?? []).map((p) => ({ amount: p.amount, invoiceId: p.invoiceId })),
    sentAt: body.sentAt,
    paidAt: body.paidAt,
    voided: body.voidedAt !== null && body.voidedAt !== undefined,
  }
}

/** What holds of any invoice the API shows, whatever the model says. */
function invariantProblems(body: InvoiceBody): Problem[] {
  const problems: Problem[] = []
  const items = body.items ?? []
  const lineSum = (key: 'subtotal' | 'discount' | 'tax' | 'total') =>
    items.reduce((acc, i) => acc + i[key], 0)
  const documentKeys = [
    ['subtotal', 'subtotal'],
    ['discount', 'discountTotal'],
    ['tax', 'taxTotal'],
    ['total', 'total'],
  ] as const
  for (const [line, document] of documentKeys) {
    if (lineSum(line) !== body[document]) {
      problems.push({
        facet: 'invariant: totals = sums of lines',
        text: `${document} ${body[document]} ≠ ${lineSum(line)}, the sum of the lines' ${line}`,
      })
    }
  }
  items.forEach((item, i) => {
    if (item.subtotal - item.discount + item.tax !== item.total) {
      problems.push({
        facet: 'invariant: line total = subtotal − discount + tax',
        text: `/items/${i}: total ${item.total} ≠ ${item.subtotal} − ${item.discount} + ${item.tax}`,
      })
    }
  })
  const paid = (body.payments ?? []).reduce((acc, p) => acc + p.amount, 0)
  if (paid !== body.amountPaid) {
    problems.push({
      facet: 'invariant: amountPaid = sum of payments',
      text: `amountPaid ${body.amountPaid} ≠ ${paid}`,
    })
  }
  if (body.amountPaid > 0 && body.amountPaid > body.total) {
    problems.push({
      facet: 'invariant: amountPaid ≤ total',
      text: `amountPaid ${body.amountPaid} > total ${body.total}`,
    })
  }
  const credited = (body.creditNotes ?? []).reduce((acc, n) => acc + n.total, 0)
  if (credited !== body.creditedTotal) {
    problems.push({
      facet: 'invariant: creditedTotal = sum of credit notes',
      text: `creditedTotal ${body.creditedTotal} ≠ ${credited}, the sum of its ${body.creditNotes?.length ?? 0} credit notes`,
    })
  }
  if ((body.creditNotes ?? []).some((n) => n.total <= 0)) {
    problems.push({
      facet: 'invariant: a credit note totals more than 0',
      text: `credit notes of totals [${body.creditNotes.map((n) => n.total).join(', ')}]`,
    })
  }
  if (body.creditedTotal > Math.max(0, body.total)) {
    problems.push({
      facet: 'invariant: creditedTotal ≤ total',
      text: `creditedTotal ${body.creditedTotal} > total ${body.total}`,
    })
  }
  if ((body.status === 'credited') !== (body.creditedTotal > 0 && body.creditedTotal === body.total)) {
    problems.push({
      facet: 'invariant: credited exactly when creditedTotal = total',
      text: `status ${body.status} with creditedTotal ${body.creditedTotal} of total ${body.total}`,
    })
  }
  const due = Math.max(0, body.total - body.amountPaid - body.creditedTotal)
  if (body.amountDue !== due) {
    problems.push({
      facet: 'amountDue',
      text: `amountDue ${body.amountDue} ≠ ${due}`,
      contained: true,
    })
  }
  if ((body.status === 'draft') !== (body.number === null)) {
    problems.push({
      facet: 'invariant: a number exactly when issued',
      text: `status ${body.status} with number ${body.number}`,
    })
  }
  return problems
}

// ---------------------------------------------------------------------------------------------------------
// Reporting

interface Problem {
  /** What kind of problem, without the values: distinct defects have distinct facets. */
  facet: string
  text: string
  /**
   * The app's state still agrees with the model: only a field derived from it differs (amountDue, isOverdue),
   * or an error was answered instead of another. A sequence can go on past a known problem of this kind.
   */
  contained?: boolean
}

/** Fields computed from the state the model keeps; a wrong one does not make the app's state diverge. */
const DERIVED_FIELDS = new Set(['amountDue', 'isOverdue'])

/** The facets that name a defect: the contained ones only when nothing else differs. */
function essentialFacets(problems: readonly Problem[]): string[] {
  const primary = problems.filter((p) => !p.contained)
  return [...new Set((primary.length > 0 ? primary : problems).map((p) => p.facet))].sort()
}

/** A step whose answer or stored result differs from the model. */
class Mismatch extends Error {
  readonly facets: string[]
  readonly contained: boolean
  constructor(
    readonly step: string,
    readonly problems: Problem[],
  ) {
    super(`${step}\n${problems.map((p) => `    ${p.text}`).join('\n')}`)
    this.name = 'Mismatch'
    this.facets = essentialFacets(problems)
    this.contained = problems.every((p) => p.contained)
  }

  /** Every facet of it was reported already. */
  isKnown(known: ReadonlySet<string>) {
    return this.facets.every((facet) => known.has(facet))
  }
}

/**
 * Field paths at which `actual` differs from `expected`. The facet names where (answer, GET, list) and which
 * top-level field, not which invoice or line: the same defect seen on different invoices is one defect.
 */
function differences(expected: unknown, actual: unknown, where: string, path = ''): Problem[] {
  const field = path.split('/')[1] ?? ''
  const derived = DERIVED_FIELDS.has(field)
  const problem = (text: string): Problem => ({
    facet: derived ? field : `${where.split(' ')[0]} ${field}`.trim(),
    text: `${where} ${path}: ${text}`,
    ...(derived ? { contained: true } : {}),
  })
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const problems: Problem[] = []
    if (expected.length !== actual.length) {
      problems.push(problem(`${actual.length} entries, expected ${expected.length}`))
    }
    for (let i = 0; i < Math.min(expected.length, actual.length); i++) {
      problems.push(...differences(expected[i], actual[i], where, `${path}/${i}`))
    }
    return problems
  }
  if (expected !== null && typeof expected === 'object' && actual !== null && typeof actual === 'object') {
    return Object.keys(expected).flatMap((key) =>
      differences(
        (expected as Record<string, unknown>)[key],
        (actual as Record<string, unknown>)[key],
        where,
        `${path}/${key}`,
      ),
    )
  }
  return Object.is(expected, actual)
    ? []
    : [problem(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)]
}

/** An answer a step accepts: its status, and for errors the code and a path `details` must name. */
interface Expected {
  status: number
  code?: string | undefined
  detailPath?: string | undefined
}

/**
 * One step of a sequence: collects what differs from the model and throws it at the end, unless it is a
 * contained problem already reported (the sequence then goes on looking for others).
 */
class Step {
  readonly problems: Problem[] = []
  constructor(
    readonly label: string,
    readonly kind: string,
    readonly real: Real,
  ) {}

  /** A problem of a derived field is the same defect after any step; any other is named with the step. */
  add(...problems: Problem[]) {
    for (const p of problems)
      this.problems.push(p.contained ? p : { ...p, facet: `${this.kind}: ${p.facet}` })
  }

  /**
   * The answer has this status (and error code, and detail path). Another error instead of the expected one
   * is noted and the step goes on (nothing should have changed either way); any other difference ends it.
   */
  expectStatus(answer: Answer, status: number, code?: string, detailPath?: string) {
    this.expectOneOf(answer, [{ status, code, detailPath }])
  }

  /**
   * The answer is one of these (API.md does not say which of several errors wins when a request has more
   * than one). Another error instead is noted as for `expectStatus`; any other difference ends the step.
   */
  expectOneOf(answer: Answer, expected: readonly Expected[]) {
    const error = (answer.body as ErrorBody | null)?.error
    const paths = error?.details?.map((d) => d.path) ?? []
    const matches = ({ status, code, detailPath }: Expected) =>
      answer.status === status &&
      (code === undefined || error?.code === code) &&
      (detailPath === undefined || paths.includes(detailPath))
    if (expected.some(matches)) return
    const wanted = expected
      .map(({ status, code, detailPath }) =>
        [status, code, detailPath && `on ${detailPath}`].filter(Boolean).join(' '),
      )
      .join(' or ')
    const got = [answer.status, error?.code, paths.length > 0 && `on ${paths.join(', ')}`]
      .filter(Boolean)
      .join(' ')
    const allErrors = expected.every((e) => e.status >= 400)
    const problem: Problem = {
      facet: `${this.kind}: answer ${wanted} → ${answer.status} ${error?.code ?? ''}`.trim(),
      text: `answer: expected ${wanted}, got ${got}${error?.message ? ` (${error.message})` : ''}`,
      ...(allErrors && answer.status >= 400 ? { contained: true } : {}),
    }
    this.problems.push(problem)
    if (!problem.contained) throw new Mismatch(this.label, this.problems)
  }

  compareNote(where: string, note: ModelCreditNote, body: CreditNoteBody) {
    this.add(...differences(expectedNoteView(note), noteViewOf(body), where))
    this.add(...noteInvariantProblems(body).map((p) => ({ ...p, text: `${where}: ${p.text}` })))
  }

  compareInvoice(where: string, invoice: ModelInvoice, body: InvoiceBody) {
    this.add(...differences(expectedView(invoice), viewOf(body), where))
    this.add(...invariantProblems(body).map((p) => ({ ...p, text: `${where}: ${p.text}` })))
  }

  done() {
    if (this.problems.length === 0) return
    const mismatch = new Mismatch(this.label, this.problems)
    if (!mismatch.contained || !mismatch.isKnown(this.real.known)) throw mismatch
    this.real.trace[this.real.trace.length - 1] += ` (known: ${mismatch.facets.join('; ')})`
  }
}

// ---------------------------------------------------------------------------------------------------------
// Talking to the app

async function call(real: Real, method: string, path: string, json?: unknown): Promise<Answer> {
  const res = await app.request(path, { method, token: real.token, json })
  const text = await res.text()
  let body: unknown = null
  if (text) {
    try {
      body = JSON.parse(text)
    } catch {
      body = { error: { code: 'NOT_JSON', message: text.slice(0, 200) } }
    }
  }
  return { status: res.status, body }
}

/** What the runs exercised: answers by kind of step, and where credit notes left their invoices. */
const tally = new Map<string, number>()
const count = (what: string) => tally.set(what, (tally.get(what) ?? 0) + 1)

function begin(real: Real, kind: string, label: string): Step {
  real.trace.push(`${real.trace.length + 1}. ${label}`)
  real.kind = kind
  return new Step(label, kind, real)
}

function answered(real: Real, answer: Answer) {
  const code = (answer.body as ErrorBody | null)?.error?.code
  real.trace[real.trace.length - 1] += ` → ${answer.status}${code ? ` ${code}` : ''}`
  count(`${real.kind} → ${answer.status}${code ? ` ${code}` : ''}`)
}

/** Re-reads the invoice and its trail: what is stored matches the model and the invariants hold. */
async function verifyStored(step: Step, real: Real, invoice: ModelInvoice, options = { events: true }) {
  const read = await call(real, 'GET', `/api/v1/invoices/${invoice.id}`)
  if (invoice.deleted) {
    if (read.status !== 404) {
      step.add({ facet: 'GET of a deleted draft', text: `GET: expected 404, got ${read.status}` })
    }
    return
  }
  if (read.status !== 200) {
    step.add({
      facet: `GET → ${read.status}`,
      text: `GET ${invoice.label}: answered ${read.status}`,
    })
    return
  }
  step.compareInvoice(`GET ${invoice.label}`, invoice, read.body as InvoiceBody)
  if (!options.events) return
  const trail = await call(real, 'GET', `/api/v1/invoices/${invoice.id}/events`)
  const events =
    (trail.body as { data?: { type: string; data?: Record<string, unknown> }[] } | null)?.data ?? []
  const types = events.map((e) => e.type)
  // Each `credited` event names its credit note (spec: data creditNoteId, number, total), in issue order.
  const credited = events
    .filter((e) => e.type === 'credited')
    .map((e) => ({
      creditNoteId: e.data?.['creditNoteId'],
      number: e.data?.['number'],
      total: e.data?.['total'],
    }))
  const notes = invoice.creditNotes.map((n) => ({
    creditNoteId: n.id,
    number: n.number,
    total: Number(n.total),
  }))
  if (credited.length === notes.length) step.add(...differences(notes, credited, 'events-credited'))
  if (trail.status !== 200 || types.join() !== invoice.events.join()) {
    step.add({
      facet: 'events',
      text: `events of ${invoice.label}: expected [${invoice.events.join(', ')}], got ${trail.status} [${types.join(', ')}]`,
    })
  }
}

/** The credit note as the contract says the API shows it, in the shape of `noteViewOf`. */
function expectedNoteView(note: ModelCreditNote) {
  const total = (pick: (a: ref.Amounts) => bigint) =>
    Number(sum(note.lines.map((line) => pick(line.amounts))))
  return {
    id: note.id,
    number: note.number,
    invoiceId: note.invoice.id,
    invoiceNumber: note.invoice.number,
    customerId: note.invoice.customer.id,
    reason: note.reason,
    memo: note.memo,
    currency: note.invoice.currency,
    items: note.lines.map((line) => ({
      invoiceItemId: line.invoiceItemId,
      description: line.description,
      quantity: ref.decimalNumber(line.quantity),
      unitPrice: Number(line.unitPrice),
      taxRate: ref.decimalNumber(line.taxRate),
      subtotal: Number(line.amounts.subtotal),
      discount: Number(line.amounts.discount),
      tax: Number(line.amounts.tax),
      total: Number(line.amounts.total),
    })),
    subtotal: total((a) => a.subtotal),
    discountTotal: total((a) => a.discount),
    taxTotal: total((a) => a.tax),
    total: total((a) => a.total),
    appliedToBalance: Number(note.appliedToBalance),
    refundDue: Number(note.refundDue),
    billToName: note.invoice.customer.name,
    issueDate: note.issueDate,
    issuedAt: note.issuedAt,
  }
}

function noteViewOf(body: CreditNoteBody): ReturnType<typeof expectedNoteView> {
  return {
    id: body.id,
    number: body.number,
    invoiceId: body.invoiceId,
    invoiceNumber: body.invoiceNumber,
    customerId: body.customerId,
    reason: body.reason,
    memo: body.memo,
    currency: body.currency,
    items: (body.items ?? []).map((item) => ({
      invoiceItemId: item.invoiceItemId,
      description: item.description,
      quantity: item.quantity,
      unitPrice: item.unitPrice,
      taxRate: item.taxRate,
      subtotal: item.subtotal,
      discount: item.discount,
      tax: item.tax,
      total: item.total,
    })),
    subtotal: body.subtotal,
    discountTotal: body.discountTotal,
    taxTotal: body.taxTotal,
    total: body.total,
    appliedToBalance: body.appliedToBalance,
    refundDue: body.refundDue,
    billToName: body.billTo?.name ?? '',
    issueDate: body.issueDate,
    issuedAt: body.issuedAt,
  }
}

/** What holds of any credit note the API shows, whatever the model says. */
function noteInvariantProblems(body: CreditNoteBody): Problem[] {
  const problems: Problem[] = []
  const items = body.items ?? []
  const lineSum = (key: 'subtotal' | 'discount' | 'tax' | 'total') =>
    items.reduce((acc, i) => acc + i[key], 0)
  const documentKeys = [
    ['subtotal', 'subtotal'],
    ['discount', 'discountTotal'],
    ['tax', 'taxTotal'],
    ['total', 'total'],
  ] as const
  for (const [line, document] of documentKeys) {
    if (lineSum(line) !== body[document]) {
      problems.push({
        facet: 'invariant: credit note totals = sums of lines',
        text: `${document} ${body[document]} ≠ ${lineSum(line)}, the sum of the lines' ${line}`,
      })
    }
  }
  items.forEach((item, i) => {
    if (item.subtotal - item.discount + item.tax !== item.total) {
      problems.push({
        facet: 'invariant: credit line total = subtotal − discount + tax',
        text: `/items/${i}: total ${item.total} ≠ ${item.subtotal} − ${item.discount} + ${item.tax}`,
      })
    }
  })
  if (!(body.total > 0)) {
    problems.push({ facet: 'invariant: a credit note totals more than 0', text: `total ${body.total}` })
  }
  if (
    body.appliedToBalance + body.refundDue !== body.total ||
    body.appliedToBalance < 0 ||
    body.refundDue < 0
  ) {
    problems.push({
      facet: 'invariant: appliedToBalance + refundDue = total',
      text: `appliedToBalance ${body.appliedToBalance} + refundDue ${body.refundDue} ≠ total ${body.total}`,
    })
  }
  return problems
}

/** Re-reads a credit note: what is stored matches the model. */
async function verifyNote(step: Step, real: Real, note: ModelCreditNote) {
  const read = await call(real, 'GET', `/api/v1/credit-notes/${note.id}`)
  if (read.status !== 200) {
    step.add({
      facet: `GET credit note → ${read.status}`,
      text: `GET ${note.label}: answered ${read.status}`,
    })
    return
  }
  step.compareNote(`credit-note-GET ${note.label}`, note, read.body as CreditNoteBody)
}

/**
 * Walks the credit-note list (all, or some) through nextCursor: each note exactly once, newest number first,
 * each as the model says; the user's credit-note numbers are unique and 1, 2, 3, … without a gap but where the
 * counter was raised.
 */
/** A filter of the credit-note list: its query and the notes it keeps. */
interface NoteSelection {
  label: string
  query: string
  keep: (note: ModelCreditNote) => boolean
}

async function verifyNoteList(
  step: Step,
  model: Model,
  real: Real,
  limit: number,
  selection?: NoteSelection,
) {
  const expected = model.creditNotes.filter((n) => selection?.keep(n) ?? true).reverse()
  const byId = new Map(model.creditNotes.map((n) => [n.id, n]))
  const seen: string[] = []
  const numbers: string[] = []
  let cursor: string | null = null
  const filter = selection?.query ?? ''
  for (let page = 0; ; page++) {
    if (page > expected.length + 1) {
      step.add({
        facet: 'credit-note list',
        text: `credit-note list: still a nextCursor after ${page} pages`,
      })
      break
    }
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`
    const answer = await call(real, 'GET', `/api/v1/credit-notes?limit=${limit}${filter}${query}`)
    if (answer.status !== 200) {
      step.add({
        facet: `credit-note list → ${answer.status}`,
        text: `credit-note list: answered ${answer.status}`,
      })
      return
    }
    const body = answer.body as { data: CreditNoteBody[]; nextCursor: string | null }
    if (body.data.length > limit) {
      step.add({
        facet: 'credit-note list',
        text: `credit-note list: ${body.data.length} rows on a page of ${limit}`,
      })
    }
    for (const row of body.data) {
      seen.push(row.id)
      numbers.push(row.number)
      const note = byId.get(row.id)
      if (note) step.compareNote(`credit-note-list ${note.label}`, note, row)
    }
    cursor = body.nextCursor
    if (cursor === null) break
  }
  const labelOf = (id: string) => byId.get(id)?.label ?? id
  if (seen.join() !== expected.map((n) => n.id).join()) {
    step.add({
      facet: 'credit-note list',
      text:
        `credit-note list (limit ${limit}${selection ? `, ${selection.label}` : ''}): ` +
        `expected [${expected.map((n) => n.label).join(', ')}], got [${seen.map(labelOf).join(', ')}]`,
    })
  }
  if (selection) return
  const sequence = numbers.map((n) => Number(/(\d+)$/.exec(n)?.[1] ?? Number.NaN)).sort((a, b) => a - b)
  const expectedSeqs = model.creditNotes.map((n) => n.seq).sort((a, b) => a - b)
  if (sequence.join() !== expectedSeqs.join() || new Set(numbers).size !== numbers.length) {
    step.add({
      facet: 'credit-note numbers',
      text:
        `credit-note numbers are not unique or not the counter's values [${expectedSeqs.join(', ')}]: ` +
        `[${numbers.sort().join(', ')}]`,
    })
  }
}

async function verifyAllStored(step: Step, model: Model, real: Real) {
  for (const invoice of model.invoices) await verifyStored(step, real, invoice, { events: false })
}

/**
 * Walks the list through nextCursor: every invoice of the model exactly once and nothing else, each as the
 * model says; the numbers issued are unique and, whatever the prefix, 1, 2, 3, … without a gap.
 */
async function verifyList(
  step: Step,
  model: Model,
  real: Real,
  limit: number,
  status?: ref.Status | 'overdue',
) {
  const matches = (i: ModelInvoice) =>
    status === undefined ||
    (status === 'overdue' ? ref.isOverdue(i.status, i.dueDate, today()) : i.status === status)
  const live = model.invoices.filter((i) => !i.deleted && matches(i))
  const byId = new Map(live.map((i) => [i.id, i]))
  const filter = status === undefined ? '' : `&status=${status}`
  const seen: string[] = []
  const numbers: string[] = []
  let cursor: string | null = null
  for (let page = 0; ; page++) {
    if (page > live.length + 1) {
      step.add({ facet: 'list', text: `list: still a nextCursor after ${page} pages of ${limit}` })
      break
    }
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`
    const answer = await call(real, 'GET', `/api/v1/invoices?limit=${limit}${filter}${query}`)
    if (answer.status !== 200) {
      step.add({ facet: `list → ${answer.status}`, text: `list: answered ${answer.status}` })
      return
    }
    const body = answer.body as { data: InvoiceBody[]; nextCursor: string | null }
    if (body.data.length > limit) {
      step.add({ facet: 'list', text: `list: ${body.data.length} rows on a page of ${limit}` })
    }
    for (const row of body.data) {
      seen.push(row.id)
      if (row.number !== null) numbers.push(row.number)
      const invoice = byId.get(row.id)
      if (invoice) step.compareInvoice(`list ${invoice.label}`, invoice, row)
    }
    cursor = body.nextCursor
    if (cursor === null) break
  }
  const labelOf = (id: string) => byId.get(id)?.label ?? id
  const duplicates = seen.filter((id, i) => seen.indexOf(id) !== i)
  const missing = live.filter((i) => !seen.includes(i.id))
  const unknown = seen.filter((id) => !byId.has(id))
  if (duplicates.length > 0 || missing.length > 0 || unknown.length > 0) {
    step.add({
      facet: 'list',
      text:
        `list (limit ${limit}${filter}): twice [${duplicates.map(labelOf).join(', ')}], ` +
        `missing [${missing.map((i) => i.label).join(', ')}], unknown [${unknown.join(', ')}]`,
    })
  }
  if (status !== undefined) return
  const sequence = numbers.map((n) => Number(/(\d+)$/.exec(n)?.[1] ?? Number.NaN)).sort((a, b) => a - b)
  const gapless = sequence.every((n, i) => n === i + 1)
  if (!gapless || new Set(numbers).size !== numbers.length) {
    step.add({
      facet: 'numbers',
      text: `numbers are not unique and gapless: [${numbers.sort().join(', ')}]`,
    })
  }
}

// ---------------------------------------------------------------------------------------------------------
// Commands

interface ItemSpec {
  description: string
  quantity: bigint
  unitPrice: bigint
  taxRate: bigint | undefined
}

const itemJson = (item: ItemSpec) => ({
  description: item.description,
  quantity: ref.decimalNumber(item.quantity),
  unitPrice: Number(item.unitPrice),
  ...(item.taxRate === undefined ? {} : { taxRate: ref.decimalNumber(item.taxRate) }),
})

const describeItems = (items: readonly ItemSpec[], defaultRate?: bigint) =>
  `[${items
    .map((i) => {
      const rate =
        i.taxRate !== undefined
          ? ref.decimalString(i.taxRate)
          : `default${defaultRate === undefined ? '' : `=${ref.decimalString(defaultRate)}`}`
      return `${ref.decimalString(i.quantity)}×${i.unitPrice}@${rate}%`
    })
    .join(', ')}]`

/** Items as the model keeps them: a missing rate is the profile's default at the time they are written. */
const modelItems = (items: readonly ItemSpec[], profile: ModelProfile): ModelItem[] =>
  items.map((item) => ({
    description: item.description,
    quantity: item.quantity,
    unitPrice: item.unitPrice,
    taxRate: item.taxRate ?? profile.defaultTaxRate,
    id: '',
    credit: ref.NO_CREDIT,
  }))

/** Takes the ids of the lines from an answer that shows them (the request's lines, in order). */
function takeItemIds(invoice: ModelInvoice, body: InvoiceBody) {
  invoice.items.forEach((item, i) => {
    item.id = body.items?.[i]?.id ?? ''
  })
}

/** Arguments as text; the BigInts of arguments are decimals in thousandths. */
const shown = (value: unknown) =>
  JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? ref.decimalNumber(v) : v))

const pickFrom = <T>(list: readonly T[], pick: number): T => list[pick % list.length]!

/**
 * Which invoice a command acts on: mostly one it suits (a draft to send, a sent one to pay), sometimes any
 * invoice of the sequence, deleted ones included, to try what the lifecycle forbids.
 */
interface Target {
  pick: number
  any: boolean
}

abstract class InvoiceCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly target: Target) {}
  /** Without an invoice it suits, a command meant for one waits (is skipped); one for any invoice runs. */
  check(model: Readonly<Model>) {
    const suited = model.invoices.some((i) => !i.deleted && this.suits(i))
    return model.invoices.length > 0 && (this.target.any || suited)
  }
  /** The invoices this command is meant for. */
  abstract suits(invoice: ModelInvoice): boolean
  abstract run(model: Model, real: Real): Promise<void>

  invoiceOf(model: Model): ModelInvoice {
    const suited = model.invoices.filter((i) => !i.deleted && this.suits(i))
    return pickFrom(this.target.any ? model.invoices : suited, this.target.pick)
  }

  get targetText() {
    return `${this.target.any ? 'any' : 'suited'} invoice #${this.target.pick}`
  }
}

const isDraft = (invoice: ModelInvoice) => invoice.status === 'draft'

class CreateCustomer implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly name: string,
    readonly currency: string | null,
  ) {}
  check() {
    return true
  }
  async run(model: Model, real: Real) {
    const label = `C${model.customers.length + 1}`
    const json = { name: this.name, ...(this.currency ? { currency: this.currency } : {}) }
    const step = begin(real, 'create customer', `create customer ${label} ${JSON.stringify(json)}`)
    const answer = await call(real, 'POST', '/api/v1/customers', json)
    answered(real, answer)
    step.expectStatus(answer, 201)
    const body = answer.body as { id: string; name: string; currency: string | null }
    step.add(
      ...differences(
        { name: this.name, currency: this.currency },
        { name: body.name, currency: body.currency },
        'answer',
      ),
    )
    model.customers.push({ label, id: body.id, name: this.name, currency: this.currency })
    await verifyAllStored(step, model, real)
    step.done()
  }
  toString() {
    return `createCustomer(${JSON.stringify(this.name)}, ${this.currency})`
  }
}

interface ProfileSpec {
  defaultTaxRate?: bigint
  defaultCurrency?: string | null
  paymentTermsDays?: number
  invoicePrefix?: string
  creditNotePrefix?: string
  /**
   * The credit-note counter: raised, set to just past the last number used (allowed), or back to the last
   * number used (refused; 0 when none is used yet).
   */
  nextCreditNoteNumber?: { to: 'raise'; by: number } | { to: 'next free' } | { to: 'last used' }
}

/** The highest credit-note number issued so far, 0 before the first. */
const lastCreditNoteSeq = (model: Model) => model.creditNotes.reduce((max, n) => Math.max(max, n.seq), 0)

/** The counter value a spec asks for, given the model's state. */
function creditNoteCounter(spec: NonNullable<ProfileSpec['nextCreditNoteNumber']>, model: Model): number {
  if (spec.to === 'raise') return model.profile.nextCreditNoteNumber + spec.by
  return spec.to === 'next free' ? lastCreditNoteSeq(model) + 1 : lastCreditNoteSeq(model)
}

const profileJson = (spec: ProfileSpec, model?: Model) => {
  const { nextCreditNoteNumber: counter, ...rest } = spec
  return {
    ...rest,
    ...(spec.defaultTaxRate === undefined ? {} : { defaultTaxRate: ref.decimalNumber(spec.defaultTaxRate) }),
    ...(counter === undefined
      ? {}
      : {
          nextCreditNoteNumber: model
            ? creditNoteCounter(counter, model)
            : `<${counter.to}${'by' in counter ? ` + ${counter.by}` : ''}>`,
        }),
  }
}

class PatchProfile implements fc.AsyncCommand<Model, Real> {
  constructor(readonly spec: ProfileSpec) {}
  check() {
    return true
  }
  async run(model: Model, real: Real) {
    const json = profileJson(this.spec, model)
    const step = begin(real, 'PATCH /me', `PATCH /me ${JSON.stringify(json)}`)
    const answer = await call(real, 'PATCH', '/api/v1/me', json)
    answered(real, answer)
    const { spec } = this
    const profile = model.profile
    const counter = typeof json.nextCreditNoteNumber === 'number' ? json.nextCreditNoteNumber : undefined
    if (counter !== undefined && counter <= lastCreditNoteSeq(model)) {
      // Never lowered to or below a number already used: the whole patch is refused.
      step.expectStatus(answer, 400, 'VALIDATION_ERROR', '/nextCreditNoteNumber')
      await verifyProfile(step, model, real)
      return step.done()
    }
    step.expectStatus(answer, 200)
    if (counter !== undefined) profile.nextCreditNoteNumber = counter
    if (spec.defaultTaxRate !== undefined) profile.defaultTaxRate = spec.defaultTaxRate
    if (spec.defaultCurrency !== undefined) profile.defaultCurrency = spec.defaultCurrency
    if (spec.paymentTermsDays !== undefined) profile.paymentTermsDays = spec.paymentTermsDays
    if (spec.invoicePrefix !== undefined) profile.invoicePrefix = spec.invoicePrefix
    if (spec.creditNotePrefix !== undefined) profile.creditNotePrefix = spec.creditNotePrefix
    const body = (answer.body as { profile: ProfileBody }).profile
    step.add(...differences(profileView(profile), profileViewOf(body), 'answer'))
    await verifyAllStored(step, model, real)
    step.done()
  }
  toString() {
    return `patchProfile(${JSON.stringify(profileJson(this.spec))})`
  }
}

/** Re-reads the profile: it is as the model says. */
async function verifyProfile(step: Step, model: Model, real: Real) {
  const me = await call(real, 'GET', '/api/v1/me')
  if (me.status !== 200) {
    step.add({ facet: `GET /me → ${me.status}`, text: `GET /me: answered ${me.status}` })
    return
  }
  const body = (me.body as { profile: ProfileBody }).profile
  step.add(...differences(profileView(model.profile), profileViewOf(body), 'GET /me'))
}

const profileView = (profile: ModelProfile) => ({
  defaultTaxRate: ref.decimalNumber(profile.defaultTaxRate),
  defaultCurrency: profile.defaultCurrency,
  paymentTermsDays: profile.paymentTermsDays,
  invoicePrefix: profile.invoicePrefix,
  nextInvoiceNumber: profile.nextInvoiceNumber,
  creditNotePrefix: profile.creditNotePrefix,
  nextCreditNoteNumber: profile.nextCreditNoteNumber,
})

const profileViewOf = (body: ProfileBody) => ({
  defaultTaxRate: body.defaultTaxRate,
  defaultCurrency: body.defaultCurrency,
  paymentTermsDays: body.paymentTermsDays,
  invoicePrefix: body.invoicePrefix,
  nextInvoiceNumber: body.nextInvoiceNumber,
  creditNotePrefix: body.creditNotePrefix,
  nextCreditNoteNumber: body.nextCreditNoteNumber,
})

interface DraftSpec {
  customerPick: number
  items: ItemSpec[]
  discountPercent: bigint | undefined
  currency: string | undefined
  /** Explicit dates: issueDate this many days ago, dueDate that many days later (else the payment terms). */
  dates: { daysAgo: number; dueAfter: number | undefined } | undefined
}

class CreateDraft implements fc.AsyncCommand<Model, Real> {
  constructor(readonly spec: DraftSpec) {}
  check(model: Readonly<Model>) {
    return model.customers.length > 0
  }
  async run(model: Model, real: Real) {
    const { spec } = this
    const customer = pickFrom(model.customers, spec.customerPick)
    const label = `I${model.invoices.length + 1}`
    const issueDate = spec.dates ? ref.addDays(today(), -spec.dates.daysAgo) : undefined
    const dueDate =
      issueDate && spec.dates?.dueAfter !== undefined
        ? ref.addDays(issueDate, spec.dates.dueAfter)
        : undefined
    const json = {
      customerId: customer.id,
      items: spec.items.map(itemJson),
      ...(spec.discountPercent === undefined
        ? {}
        : { discountPercent: ref.decimalNumber(spec.discountPercent) }),
      ...(spec.currency === undefined ? {} : { currency: spec.currency }),
      ...(issueDate === undefined ? {} : { issueDate }),
      ...(dueDate === undefined ? {} : { dueDate }),
    }
    const args = {
      ...(spec.discountPercent === undefined ? {} : { discountPercent: json.discountPercent }),
      ...(spec.currency === undefined ? {} : { currency: spec.currency }),
      ...(issueDate === undefined ? {} : { issueDate }),
      ...(dueDate === undefined ? {} : { dueDate }),
    }
    const step = begin(
      real,
      'create draft',
      `create draft ${label} for ${customer.label} ${JSON.stringify(args)} items ` +
        describeItems(spec.items, model.profile.defaultTaxRate),
    )
    const answer = await call(real, 'POST', '/api/v1/invoices', json)
    answered(real, answer)
    const currency = spec.currency ?? customer.currency ?? model.profile.defaultCurrency
    if (currency === null) {
      step.expectStatus(answer, 400, 'VALIDATION_ERROR', '/currency')
      return step.done()
    }
    step.expectStatus(answer, 201)
    const body = answer.body as InvoiceBody
    const issue = issueDate ?? today()
    const invoice: ModelInvoice = {
      label,
      id: body.id,
      customer,
      status: 'draft',
      deleted: false,
      number: null,
      currency,
      issueDate: issue,
      dueDate: dueDate ?? ref.addDays(issue, model.profile.paymentTermsDays),
      discountPercent: spec.discountPercent ?? 0n,
      items: modelItems(spec.items, model.profile),
      payments: [],
      creditNotes: [],
      sentAt: null,
      paidAt: null,
      voided: false,
      events: ['created'],
    }
    model.invoices.push(invoice)
    takeItemIds(invoice, body)
    step.compareInvoice('answer', invoice, body)
    await verifyStored(step, real, invoice)
    step.done()
  }
  toString() {
    const { items, ...rest } = this.spec
    return `createDraft(${shown(rest)}, items ${describeItems(items)})`
  }
}

interface PatchSpec {
  discountPercent?: bigint
  currency?: string
  items?: ItemSpec[]
}

class PatchDraft extends InvoiceCommand {
  constructor(
    target: Target,
    readonly spec: PatchSpec,
  ) {
    super(target)
  }
  suits = isDraft
  override async run(model: Model, real: Real) {
    const { spec } = this
    const invoice = this.invoiceOf(model)
    const json = {
      ...(spec.discountPercent === undefined
        ? {}
        : { discountPercent: ref.decimalNumber(spec.discountPercent) }),
      ...(spec.currency === undefined ? {} : { currency: spec.currency }),
      ...(spec.items === undefined ? {} : { items: spec.items.map(itemJson) }),
    }
    const { items: _, ...args } = json
    const step = begin(
      real,
      'PATCH draft',
      `PATCH ${invoice.label} (${invoice.deleted ? 'deleted' : invoice.status}) ${JSON.stringify(args)}` +
        (spec.items ? ` items ${describeItems(spec.items, model.profile.defaultTaxRate)}` : ''),
    )
    const answer = await call(real, 'PATCH', `/api/v1/invoices/${invoice.id}`, json)
    answered(real, answer)
    if (invoice.deleted) {
      step.expectStatus(answer, 404, 'NOT_FOUND')
    } else if (invoice.status !== 'draft') {
      step.expectStatus(answer, 409, 'INVALID_STATUS_TRANSITION')
    } else {
      step.expectStatus(answer, 200)
      if (spec.discountPercent !== undefined) invoice.discountPercent = spec.discountPercent
      if (spec.currency !== undefined) invoice.currency = spec.currency
      if (spec.items !== undefined) invoice.items = modelItems(spec.items, model.profile)
      takeItemIds(invoice, answer.body as InvoiceBody)
      invoice.events.push('updated')
      step.compareInvoice('answer', invoice, answer.body as InvoiceBody)
    }
    await verifyStored(step, real, invoice)
    step.done()
  }
  override toString() {
    const { items, ...rest } = this.spec
    return `patch(${this.targetText}, ${shown(rest)}${items ? `, items ${describeItems(items)}` : ''})`
  }
}

class MarkAsSent extends InvoiceCommand {
  suits = isDraft
  override async run(model: Model, real: Real) {
    const invoice = this.invoiceOf(model)
    const total = amountsOf(invoice).total
    const step = begin(
      real,
      'mark-as-sent',
      `mark-as-sent ${invoice.label} (${invoice.deleted ? 'deleted' : invoice.status}, total ${total})`,
    )
    const answer = await call(real, 'POST', `/api/v1/invoices/${invoice.id}/mark-as-sent`)
    answered(real, answer)
    if (invoice.deleted) {
      step.expectStatus(answer, 404, 'NOT_FOUND')
    } else if (invoice.status !== 'draft') {
      step.expectStatus(answer, 409, 'INVALID_STATUS_TRANSITION')
    } else {
      const outcome = ref.issueOutcome(total)
      if (outcome === 'negative_total') {
        step.expectStatus(answer, 400, 'VALIDATION_ERROR', '/total')
      } else {
        step.expectStatus(answer, 200)
        const body = answer.body as InvoiceBody
        invoice.status = outcome
        invoice.number = ref.invoiceNumber(model.profile.invoicePrefix, model.profile.nextInvoiceNumber)
        model.profile.nextInvoiceNumber += 1
        invoice.sentAt = body.sentAt ?? A_TIMESTAMP
        takeItemIds(invoice, body)
        invoice.events.push('sent')
        if (outcome === 'paid') {
          invoice.paidAt = invoice.sentAt
          invoice.events.push('paid')
        }
        step.compareInvoice('answer', invoice, body)
      }
    }
    await verifyStored(step, real, invoice)
    step.done()
  }
  override toString() {
    return `markAsSent(${this.targetText})`
  }
}

type PaymentKind = { kind: 'partial'; percent: number } | { kind: 'exact' } | { kind: 'over'; extra: number }

interface PaymentSpec {
  amount: PaymentKind
  method: string | undefined
  reference: string | undefined
  paidAt: string | undefined
}

class Pay extends InvoiceCommand {
  constructor(
    target: Target,
    readonly spec: PaymentSpec,
  ) {
    super(target)
  }
  suits = (invoice: ModelInvoice) => ref.canTakePayments(invoice.status)
  override async run(model: Model, real: Real) {
    const { spec } = this
    const invoice = this.invoiceOf(model)
    const due = amountDueOf(invoice)
    const base = due > 0n ? due : 1n
    const amount =
      spec.amount.kind === 'exact'
        ? base
        : spec.amount.kind === 'over'
          ? due + BigInt(spec.amount.extra)
          : ref.roundDiv(base * BigInt(spec.amount.percent), 100n) || 1n
    const json = {
      amount: Number(amount),
      ...(spec.method === undefined ? {} : { method: spec.method }),
      ...(spec.reference === undefined ? {} : { reference: spec.reference }),
      ...(spec.paidAt === undefined ? {} : { paidAt: spec.paidAt }),
    }
    const step = begin(
      real,
      'pay',
      `pay ${invoice.label} (${invoice.deleted ? 'deleted' : invoice.status}, due ${due}) ${JSON.stringify(json)}`,
    )
    const answer = await call(real, 'POST', `/api/v1/invoices/${invoice.id}/payments`, json)
    answered(real, answer)
    if (invoice.creditNotes.length > 0) {
      count(`payment on a ${invoice.status} invoice with credit notes → ${answer.status}`)
    }
    if (invoice.deleted) {
      step.expectStatus(answer, 404, 'NOT_FOUND')
    } else if (!ref.canTakePayments(invoice.status)) {
      step.expectStatus(answer, 409, 'INVALID_STATUS_TRANSITION')
    } else if (amount > due) {
      step.expectStatus(answer, 422, 'PAYMENT_EXCEEDS_BALANCE')
    } else {
      step.expectStatus(answer, 201)
      const payment = answer.body as InvoiceBody['payments'][number]
      step.add(
        ...differences(
          {
            amount: json.amount,
            ...(spec.method === undefined ? {} : { method: spec.method }),
            ...(spec.reference === undefined ? {} : { reference: spec.reference }),
            ...(spec.paidAt === undefined ? {} : { paidAt: spec.paidAt }),
          },
          payment,
          'answer',
        ),
      )
      invoice.payments.push(amount)
      invoice.events.push('payment_recorded')
      invoice.status = ref.statusAfterPayment(
        amountsOf(invoice).total,
        amountPaidOf(invoice),
        creditedTotalOf(invoice),
      )
      if (invoice.status === 'paid') {
        invoice.paidAt = spec.paidAt ?? payment.paidAt ?? A_TIMESTAMP
        invoice.events.push('paid')
      }
    }
    await verifyStored(step, real, invoice)
    step.done()
  }
  override toString() {
    return `pay(${this.targetText}, ${shown(this.spec)})`
  }
}

class Void extends InvoiceCommand {
  /** Suited: a sent invoice nobody paid, credited or not (a credit note forbids the void). */
  suits = (invoice: ModelInvoice) => invoice.status === 'sent' && amountPaidOf(invoice) === 0n
  override async run(model: Model, real: Real) {
    const invoice = this.invoiceOf(model)
    const step = begin(
      real,
      'void',
      `void ${invoice.label} (${invoice.deleted ? 'deleted' : invoice.status})`,
    )
    const answer = await call(real, 'POST', `/api/v1/invoices/${invoice.id}/void`)
    answered(real, answer)
    if (invoice.creditNotes.length > 0)
      count(`void of a ${invoice.status} invoice with credit notes → ${answer.status}`)
    if (invoice.deleted) {
      step.expectStatus(answer, 404, 'NOT_FOUND')
    } else if (!ref.canVoid(invoice.status, amountPaidOf(invoice), creditedTotalOf(invoice))) {
      step.expectStatus(answer, 409, 'INVALID_STATUS_TRANSITION')
    } else {
      step.expectStatus(answer, 200)
      invoice.status = 'void'
      invoice.voided = true
      invoice.events.push('voided')
      step.compareInvoice('answer', invoice, answer.body as InvoiceBody)
    }
    await verifyStored(step, real, invoice)
    step.done()
  }
  override toString() {
    return `void(${this.targetText})`
  }
}

class Delete extends InvoiceCommand {
  suits = isDraft
  override async run(model: Model, real: Real) {
    const invoice = this.invoiceOf(model)
    const step = begin(
      real,
      'delete',
      `delete ${invoice.label} (${invoice.deleted ? 'deleted' : invoice.status})`,
    )
    const answer = await call(real, 'DELETE', `/api/v1/invoices/${invoice.id}`)
    answered(real, answer)
    if (invoice.deleted) {
      step.expectStatus(answer, 404, 'NOT_FOUND')
    } else if (invoice.status !== 'draft') {
      step.expectStatus(answer, 409, 'INVALID_STATUS_TRANSITION')
    } else {
      step.expectStatus(answer, 204)
      invoice.deleted = true
    }
    await verifyStored(step, real, invoice)
    step.done()
  }
  override toString() {
    return `delete(${this.targetText})`
  }
}

/** How much of a line a credit asks for, against what is left of it when the command runs. */
type CreditQuantity =
  | { kind: 'rest' }
  | { kind: 'part'; permille: number }
  | { kind: 'units'; quantity: bigint }
  | { kind: 'over'; extra: bigint }

/**
 * A fault put into a credit's items: a line of another invoice, a line named twice, a quantity out of range, no
 * entries at all.
 */
type CreditTwist = 'none' | 'foreign' | 'duplicate' | 'zero' | 'four_decimals' | 'empty'

interface CreditSpec {
  reason: string
  memo: string | undefined
  /** Lines (picked among the invoice's) and quantities; without them, everything not yet credited. */
  lines: { pick: number; quantity: CreditQuantity }[] | undefined
  twist: CreditTwist
}

/** One entry of a credit's `items`: the invoice line meant, the quantity sent, and the fault put in it. */
interface CreditEntry {
  line: number
  invoiceItemId: string
  /** Thousandths; the quantity sent unless `fault` is 'quantity'. */
  quantity: bigint
  json: number
  fault?: 'foreign' | 'duplicate' | 'quantity'
}

interface PlannedCredit {
  line: number
  quantity: bigint
  amounts: ref.Amounts
}

const leftOf = (item: ModelItem) => item.quantity - item.credit.quantity

/** The quantity a spec asks for when `left` is left of the line: never 0 (a 0 is the 'zero' twist's). */
function creditQuantityOf(spec: CreditQuantity, left: bigint): bigint {
  const atLeastOne = (q: bigint) => (q > 0n ? q : 1n)
  switch (spec.kind) {
    case 'rest':
      return atLeastOne(left)
    case 'part':
      return atLeastOne(ref.roundDiv(left * BigInt(spec.permille), 1000n))
    case 'units':
      return spec.quantity
    case 'over':
      return left + spec.extra
  }
}

/** A quantity with 4 fraction digits next to `thousandths`: 1500n → 1.5005. */
const fourDecimals = (thousandths: bigint) =>
  Number(`${thousandths / ref.THOUSANDTHS}.${String(thousandths % ref.THOUSANDTHS).padStart(3, '0')}5`)

/**
 * What a credit request must get, from the contract: an error (one of several when the request has several
 * faults, since API.md does not order them), or the lines it credits and its total.
 */
function creditOutcome(
  invoice: ModelInvoice,
  entries: readonly CreditEntry[] | undefined,
): { refused: Expected[] } | { lines: PlannedCredit[]; total: bigint } {
  const validation = (detailPath?: string): Expected => ({
    status: 400,
    code: 'VALIDATION_ERROR',
    detailPath,
  })
  const exceeds = (detailPath?: string): Expected => ({
    status: 422,
    code: 'CREDIT_EXCEEDS_INVOICE',
    detailPath,
  })
  // Faults of the body alone, which a server may find before it looks at the invoice.
  const badQuantities = [
    ...(entries ?? []).flatMap((e, i) =>
      e.fault === 'quantity' ? [validation(`/items/${i}/quantity`)] : [],
    ),
    ...(entries?.length === 0 ? [validation()] : []),
  ]
  if (invoice.deleted) return { refused: [{ status: 404, code: 'NOT_FOUND' }, ...badQuantities] }
  if (!ref.canCredit(invoice.status)) {
    return { refused: [{ status: 409, code: 'INVALID_STATUS_TRANSITION' }, ...badQuantities] }
  }
  if (entries?.length === 0) return { refused: [validation()] }
  if (entries) {
    const faults = entries.flatMap((e, i): Expected[] => {
      if (e.fault === 'foreign') return [validation(`/items/${i}/invoiceItemId`)]
      if (e.fault === 'duplicate') return [validation()]
      if (e.fault === 'quantity') return [validation(`/items/${i}/quantity`)]
      return e.quantity > leftOf(invoice.items[e.line]!) ? [exceeds(`/items/${i}/quantity`)] : []
    })
    if (faults.length > 0) return { refused: faults }
  }
  const wanted =
    entries?.map((e) => ({ line: e.line, quantity: e.quantity })) ??
    invoice.items.flatMap((item, line) => (leftOf(item) > 0n ? [{ line, quantity: leftOf(item) }] : []))
  const lines = wanted.map(({ line, quantity }) => {
    const item = invoice.items[line]!
    return {
      line,
      quantity,
      amounts: ref.creditLineAmounts(item, invoice.discountPercent, item.credit, quantity),
    }
  })
  const total = sum(lines.map((l) => l.amounts.total))
  if (lines.length === 0 || total <= 0n) return { refused: [validation('/items')] }
  if (total > amountsOf(invoice).total - creditedTotalOf(invoice)) return { refused: [exceeds()] }
  return { lines, total }
}

class IssueCredit extends InvoiceCommand {
  constructor(
    target: Target,
    readonly spec: CreditSpec,
  ) {
    super(target)
  }
  /** Suited: an invoice with something left to credit (a zero-total one has not, yet is paid). */
  suits = (invoice: ModelInvoice) =>
    ref.canCredit(invoice.status) && amountsOf(invoice).total > creditedTotalOf(invoice)

  /** The request's items for this invoice as it stands, with the spec's twist. */
  entries(model: Model, invoice: ModelInvoice): CreditEntry[] | undefined {
    const { lines, twist } = this.spec
    if (lines === undefined) return undefined
    if (twist === 'empty') return []
    const picked = [...new Set(lines.map((l) => l.pick % invoice.items.length))]
    const entries: CreditEntry[] = picked.map((line) => {
      const item = invoice.items[line]!
      const spec = lines.find((l) => l.pick % invoice.items.length === line)!.quantity
      const quantity = creditQuantityOf(spec, leftOf(item))
      return { line, invoiceItemId: item.id, quantity, json: ref.decimalNumber(quantity) }
    })
    const first = entries[0]!
    const last = entries[entries.length - 1]!
    if (twist === 'foreign') {
      const other = model.invoices.find((i) => i !== invoice && i.items.some((item) => item.id !== ''))
      first.invoiceItemId = other?.items.find((item) => item.id !== '')?.id ?? crypto.randomUUID()
      first.fault = 'foreign'
    } else if (twist === 'duplicate') {
      entries.push({ ...first, fault: 'duplicate' })
    } else if (twist === 'zero') {
      last.json = 0
      last.fault = 'quantity'
    } else if (twist === 'four_decimals') {
      last.json = fourDecimals(last.quantity)
      last.fault = 'quantity'
    }
    return entries
  }

  override async run(model: Model, real: Real) {
    const { spec } = this
    const invoice = this.invoiceOf(model)
    const entries = this.entries(model, invoice)
    const json = {
      reason: spec.reason,
      ...(spec.memo === undefined ? {} : { memo: spec.memo }),
      ...(entries === undefined
        ? {}
        : { items: entries.map((e) => ({ invoiceItemId: e.invoiceItemId, quantity: e.json })) }),
    }
    const total = amountsOf(invoice).total
    const credited = creditedTotalOf(invoice)
    const described =
      entries === undefined
        ? 'everything left'
        : `[${entries
            .map((e) => {
              const item = invoice.items[e.line]
              const left = item ? ref.decimalString(leftOf(item)) : '?'
              return `L${e.line + 1} ${e.json} of ${left} left${e.fault ? ` (${e.fault})` : ''}`
            })
            .join(', ')}]`
    const step = begin(
      real,
      'credit',
      `credit ${invoice.label} (${invoice.deleted ? 'deleted' : invoice.status}, total ${total}, ` +
        `paid ${amountPaidOf(invoice)}, credited ${credited}) ${described}`,
    )
    const answer = await call(real, 'POST', `/api/v1/invoices/${invoice.id}/credit-notes`, json)
    answered(real, answer)
    const outcome = creditOutcome(invoice, entries)
    if ('refused' in outcome) {
      step.expectOneOf(answer, outcome.refused)
    } else {
      step.expectStatus(answer, 201)
      const body = answer.body as CreditNoteBody
      const note: ModelCreditNote = {
        label: `CN${model.creditNotes.length + 1}`,
        id: body.id,
        number: ref.creditNoteNumber(model.profile.creditNotePrefix, model.profile.nextCreditNoteNumber),
        seq: model.profile.nextCreditNoteNumber,
        invoice,
        reason: spec.reason,
        memo: spec.memo?.normalize('NFC') ?? null,
        lines: outcome.lines.map(({ line, quantity, amounts }) => {
          const item = invoice.items[line]!
          return {
            invoiceItemId: item.id,
            description: item.description,
            quantity,
            unitPrice: item.unitPrice,
            taxRate: item.taxRate,
            amounts,
          }
        }),
        total: outcome.total,
        ...ref.creditSplit(outcome.total, amountDueOf(invoice)),
        issueDate: today(),
        issuedAt: body.issuedAt ?? A_TIMESTAMP,
      }
      real.trace[real.trace.length - 1] += ` ${note.label} total ${note.total}`
      model.profile.nextCreditNoteNumber += 1
      for (const { line, quantity, amounts } of outcome.lines) {
        const item = invoice.items[line]!
        item.credit = {
          quantity: item.credit.quantity + quantity,
          amounts: ref.plus(item.credit.amounts, amounts),
        }
      }
      invoice.creditNotes.push(note)
      model.creditNotes.push(note)
      const before = invoice.status
      invoice.status = ref.statusAfterPayment(total, amountPaidOf(invoice), creditedTotalOf(invoice))
      invoice.events.push('credited')
      count(`credit note: ${before} → ${invoice.status}${note.refundDue > 0n ? ', refund due' : ''}`)
      if (invoice.status === 'paid' && before !== 'paid') {
        invoice.events.push('paid')
        if (invoice.paidAt === null) invoice.paidAt = await paidByCredit(real, invoice)
      }
      step.compareNote('credit-note-answer', note, body)
      await verifyNote(step, real, note)
    }
    await verifyStored(step, real, invoice)
    step.done()
  }
  override toString() {
    return `credit(${this.targetText}, ${shown(this.spec)})`
  }
}

/**
 * When a credit note leaves nothing due on an invoice nobody paid in full, the invoice is paid from then on;
 * API.md does not say which instant paidAt takes, so any from its issue until now does (and is then kept).
 */
async function paidByCredit(real: Real, invoice: ModelInvoice): Promise<string> {
  const read = await call(real, 'GET', `/api/v1/invoices/${invoice.id}`)
  const paidAt = (read.body as InvoiceBody | null)?.paidAt
  const plausible =
    typeof paidAt === 'string' &&
    !Number.isNaN(Date.parse(paidAt)) &&
    (invoice.sentAt === null || Date.parse(paidAt) >= Date.parse(invoice.sentAt)) &&
    Date.parse(paidAt) <= Date.now() + 1_000
  return plausible ? paidAt : A_TIMESTAMP
}

/** Which credit notes a walk of the list asks for. */
type NoteFilter =
  | { by: 'none' }
  | { by: 'invoice'; pick: number }
  | { by: 'customer'; pick: number }
  | { by: 'issuedFrom today' }
  | { by: 'issuedTo yesterday' }

class WalkCreditNotes implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly limit: number,
    readonly filter: NoteFilter,
  ) {}
  check() {
    return true
  }
  async run(model: Model, real: Real) {
    const { filter } = this
    const invoice =
      filter.by === 'invoice' && model.invoices.length > 0 ? pickFrom(model.invoices, filter.pick) : undefined
    const customer = filter.by === 'customer' ? pickFrom(model.customers, filter.pick) : undefined
    const selection: NoteSelection | undefined = invoice
      ? {
          label: `of ${invoice.label}`,
          query: `&invoiceId=${invoice.id}`,
          keep: (n) => n.invoice === invoice,
        }
      : customer
        ? {
            label: `of ${customer.label}`,
            query: `&customerId=${customer.id}`,
            keep: (n) => n.invoice.customer === customer,
          }
        : filter.by === 'issuedFrom today'
          ? {
              label: 'issued from today',
              query: `&issuedFrom=${today()}`,
              keep: (n) => n.issueDate >= today(),
            }
          : filter.by === 'issuedTo yesterday'
            ? {
                label: 'issued until yesterday',
                query: `&issuedTo=${ref.addDays(today(), -1)}`,
                keep: (n) => n.issueDate <= ref.addDays(today(), -1),
              }
            : undefined
    const step = begin(
      real,
      'credit-note list',
      `list credit notes with limit ${this.limit}${selection ? ` ${selection.label}` : ''}`,
    )
    await verifyNoteList(step, model, real, this.limit, selection)
    step.done()
  }
  toString() {
    return `listCreditNotes(limit ${this.limit}, ${shown(this.filter)})`
  }
}

class WalkList implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly limit: number,
    readonly status?: ref.Status | 'overdue',
  ) {}
  check() {
    return true
  }
  async run(model: Model, real: Real) {
    const filter = this.status === undefined ? '' : ` of status ${this.status}`
    const step = begin(real, 'list', `list with limit ${this.limit}${filter}`)
    await verifyList(step, model, real, this.limit, this.status)
    step.done()
  }
  toString() {
    return `list(limit ${this.limit}${this.status === undefined ? '' : `, status ${this.status}`})`
  }
}

// ---------------------------------------------------------------------------------------------------------
// Arbitraries

const currencies = fc.constantFrom('EUR', 'USD', 'JPY', 'KWD', 'GBP', 'CHF')

/** Thousandths of a percent in 0–100: whole, the usual rates, and any with 3 decimals. */
const percent = fc.oneof(
  fc.constant(0n),
  fc.bigInt({ min: 0n, max: 100n }).map((whole) => whole * ref.THOUSANDTHS),
  fc.constantFrom(7_250n, 12_500n, 19_000n, 33_333n, 66_667n, 100_000n, 1n, 99_999n),
  fc.bigInt({ min: 0n, max: 100_000n }),
)

/** Thousandths with 0–3 fraction digits, some so small that a line rounds to nothing. */
const quantity = fc.oneof(
  fc.bigInt({ min: 1n, max: 20n }).map((n) => n * 1000n),
  fc.bigInt({ min: 1n, max: 200n }).map((n) => n * 100n),
  fc.bigInt({ min: 1n, max: 2_000n }).map((n) => n * 10n),
  fc.bigInt({ min: 1n, max: 20_000n }),
  fc.constantFrom(1n, 333n, 500n, 1_500n),
)

const unitPrice = fc.oneof(
  { weight: 6, arbitrary: fc.bigInt({ min: 1n, max: 200_000n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: -200_000n, max: -1n }) },
  { weight: 1, arbitrary: fc.constantFrom(0n, 1n, -1n, 3n, 333n, 1999n, -1999n, 3333n, -5000n) },
)

const item: fc.Arbitrary<ItemSpec> = fc.record({
  description: fc.constantFrom('Design', 'Hosting', 'Beratung', 'Ремонт', 'Refund'),
  quantity,
  unitPrice,
  taxRate: fc.option(percent, { nil: undefined, freq: 3 }),
})

/** One to four lines, or lines with their negations, which total exactly zero. */
const items = fc.oneof(
  { weight: 4, arbitrary: fc.array(item, { minLength: 1, maxLength: 4 }) },
  {
    weight: 1,
    arbitrary: fc
      .array(item, { minLength: 1, maxLength: 2 })
      .map((lines) => [...lines, ...lines.map((line) => ({ ...line, unitPrice: -line.unitPrice }))]),
  },
)

const target: fc.Arbitrary<Target> = fc.record({
  pick: fc.nat({ max: 7 }),
  any: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
})

const createCustomer = fc
  .record({
    name: fc.constantFrom('Ada Lovelace', 'Zoë Müller', 'Ωmega SA', 'ООО Ромашка', 'Acme Ltd'),
    currency: fc.option(currencies, { nil: null }),
  })
  .map(({ name, currency }) => new CreateCustomer(name, currency))

const patchProfile = fc
  .record(
    {
      defaultTaxRate: percent,
      defaultCurrency: fc.option(currencies, { nil: null, freq: 5 }),
      paymentTermsDays: fc.oneof(fc.constantFrom(0, 14, 30), fc.nat({ max: 365 })),
      invoicePrefix: fc.constantFrom('INV-', 'F-', 'RE/', 'ACME-INV-', 'R'),
      creditNotePrefix: fc.constantFrom('CN-', 'GS-', 'CR/', 'K'),
      nextCreditNoteNumber: fc.oneof(
        fc.integer({ min: 1, max: 30 }).map((by) => ({ to: 'raise' as const, by })),
        fc.constantFrom({ to: 'next free' as const }, { to: 'last used' as const }),
      ),
    },
    { requiredKeys: [] },
  )
  .filter((spec) => Object.keys(spec).length > 0)
  .map((spec) => new PatchProfile(spec))

const createDraft = fc
  .record({
    customerPick: fc.nat({ max: 7 }),
    items,
    discountPercent: fc.option(percent, { nil: undefined }),
    currency: fc.option(currencies, { nil: undefined }),
    dates: fc.option(
      fc.record({
        daysAgo: fc.nat({ max: 90 }),
        dueAfter: fc.option(fc.nat({ max: 60 }), { nil: undefined }),
      }),
      { nil: undefined, freq: 2 },
    ),
  })
  .map((spec) => new CreateDraft(spec))

/** Only discountPercent, only currency, only items, or any combination of them. */
const patchDraft = fc
  .tuple(target, fc.record({ discountPercent: percent, currency: currencies, items }, { requiredKeys: [] }))
  .filter(([, spec]) => Object.keys(spec).length > 0)
  .map(([at, spec]) => new PatchDraft(at, spec))

const markAsSent = target.map((at) => new MarkAsSent(at))

const pay = fc
  .tuple(
    target,
    fc.record({
      amount: fc.oneof(
        {
          weight: 3,
          arbitrary: fc.record({
            kind: fc.constant('partial' as const),
            percent: fc.integer({ min: 1, max: 99 }),
          }),
        },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('exact' as const) }) },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('over' as const),
            extra: fc.integer({ min: 1, max: 5000 }),
          }),
        },
      ),
      method: fc.option(fc.constantFrom('bank_transfer', 'card', 'cash', 'check', 'other'), {
        nil: undefined,
      }),
      reference: fc.option(fc.constantFrom('SEPA-1', 'CHK 42'), { nil: undefined }),
      paidAt: fc.option(fc.constantFrom('2025-01-20T10:00:00.000Z', '2025-06-30T23:59:59.999Z'), {
        nil: undefined,
      }),
    }),
  )
  .map(([at, spec]) => new Pay(at, spec))

const creditQuantity: fc.Arbitrary<CreditQuantity> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'rest' as const }) },
  {
    weight: 4,
    arbitrary: fc.integer({ min: 1, max: 999 }).map((permille) => ({ kind: 'part' as const, permille })),
  },
  { weight: 2, arbitrary: quantity.map((q) => ({ kind: 'units' as const, quantity: q })) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(fc.constant(1n), fc.bigInt({ min: 1n, max: 2_000n }))
      .map((extra) => ({ kind: 'over' as const, extra })),
  },
)

/** Everything left (one in three), or one to three lines; now and then a fault in the items. */
const issueCredit = fc
  .tuple(
    target,
    fc.record({
      reason: fc.constantFrom('duplicate', 'fraudulent', 'order_change', 'product_unsatisfactory', 'other'),
      memo: fc.option(
        // The last is decomposed (e + U+0308): stored NFC-normalised, as every text field.
        fc.constantFrom(
          'Two units returned',
          'Goodwill\nTicket #42',
          'Rückerstattung — Ωμέγα',
          'Zoe\u0308 sent it back',
        ),
        {
          nil: undefined,
        },
      ),
      lines: fc.option(
        fc.array(fc.record({ pick: fc.nat({ max: 7 }), quantity: creditQuantity }), {
          minLength: 1,
          maxLength: 3,
        }),
        { nil: undefined, freq: 3 },
      ),
      twist: fc.oneof(
        { weight: 16, arbitrary: fc.constant('none' as const) },
        { weight: 1, arbitrary: fc.constantFrom('foreign' as const, 'duplicate' as const) },
        {
          weight: 1,
          arbitrary: fc.constantFrom('zero' as const, 'four_decimals' as const, 'empty' as const),
        },
      ),
    }),
  )
  .map(([at, spec]) => new IssueCredit(at, spec))

const walkCreditNotes = fc
  .tuple(
    fc.integer({ min: 1, max: 5 }),
    fc.oneof(
      { weight: 2, arbitrary: fc.constant<NoteFilter>({ by: 'none' }) },
      { weight: 2, arbitrary: fc.nat({ max: 7 }).map((pick): NoteFilter => ({ by: 'invoice', pick })) },
      { weight: 1, arbitrary: fc.nat({ max: 7 }).map((pick): NoteFilter => ({ by: 'customer', pick })) },
      {
        weight: 1,
        arbitrary: fc.constantFrom<NoteFilter>({ by: 'issuedFrom today' }, { by: 'issuedTo yesterday' }),
      },
    ),
  )
  .map(([limit, filter]) => new WalkCreditNotes(limit, filter))

const voidInvoice = target.map((at) => new Void(at))
const deleteInvoice = target.map((at) => new Delete(at))
const walkList = fc
  .tuple(
    fc.integer({ min: 1, max: 7 }),
    fc.option(fc.constantFrom('sent', 'partially_paid', 'paid', 'credited', 'void', 'overdue' as const), {
      nil: undefined,
      freq: 2,
    }),
  )
  .map(([limit, status]) => new WalkList(limit, status))

/** Repeated entries weigh the choice of the next command. */
const commands = fc.commands(
  [
    createCustomer,
    patchProfile,
    createDraft,
    createDraft,
    createDraft,
    patchDraft,
    patchDraft,
    patchDraft,
    markAsSent,
    markAsSent,
    markAsSent,
    pay,
    pay,
    pay,
    issueCredit,
    issueCredit,
    issueCredit,
    issueCredit,
    issueCredit,
    issueCredit,
    voidInvoice,
    deleteInvoice,
    walkList,
    walkCreditNotes,
  ],
  { maxCommands: MAX_COMMANDS, size: 'max' },
)

// ---------------------------------------------------------------------------------------------------------
// Running sequences

/** A new user whose profile the model starts from; one customer without a currency so drafts can begin. */
async function newSequence(known: ReadonlySet<string>): Promise<{ model: Model; real: Real }> {
  const real: Real = { token: await app.token(), known, trace: [] }
  const step = begin(real, 'setup', 'new user: GET /me')
  const me = await call(real, 'GET', '/api/v1/me')
  answered(real, me)
  step.expectStatus(me, 200)
  const profile = (me.body as { profile: ProfileBody }).profile
  const model: Model = {
    profile: {
      defaultTaxRate: ref.parseDecimal(String(profile.defaultTaxRate)),
      defaultCurrency: profile.defaultCurrency,
      paymentTermsDays: 30,
      invoicePrefix: 'INV-',
      nextInvoiceNumber: 1,
      creditNotePrefix: 'CN-',
      nextCreditNoteNumber: 1,
    },
    customers: [],
    invoices: [],
    creditNotes: [],
  }
  // The contract's defaults; the time zone makes "today" UTC for dates and isOverdue.
  step.add(
    ...differences(
      {
        paymentTermsDays: 30,
        invoicePrefix: 'INV-',
        nextInvoiceNumber: 1,
        creditNotePrefix: 'CN-',
        nextCreditNoteNumber: 1,
        timezone: 'UTC',
      },
      {
        paymentTermsDays: profile.paymentTermsDays,
        invoicePrefix: profile.invoicePrefix,
        nextInvoiceNumber: profile.nextInvoiceNumber,
        creditNotePrefix: profile.creditNotePrefix,
        nextCreditNoteNumber: profile.nextCreditNoteNumber,
        timezone: profile.timezone,
      },
      'profile',
    ),
  )
  step.done()
  await new CreateCustomer('Ada Lovelace', null).run(model, real)
  return { model, real }
}

/**
 * Runs one sequence. A defect reported by an earlier round ends it quietly where the app's state departs from
 * the model, and is passed over where it does not (see Problem.contained).
 */
async function runSequence(
  cmds: Iterable<fc.AsyncCommand<Model, Real>>,
  known: ReadonlySet<string>,
  onTrace?: (trace: string[]) => void,
) {
  let real: Real | undefined
  try {
    const started = await newSequence(known)
    real = started.real
    await fc.asyncModelRun(async () => started, cmds)
    const step = begin(started.real, 'final list', 'final: list with limit 3')
    await verifyList(step, started.model, started.real, 3)
    await verifyNoteList(step, started.model, started.real, 2)
    step.done()
  } catch (error) {
    if (error instanceof Mismatch && error.isKnown(known)) return
    throw error
  } finally {
    if (real) onTrace?.(real.trace)
  }
}

interface Found {
  facets: string[]
  seed: number
  path: string
  shrinks: number
  commands: string[]
  trace: string[]
  error: string
}

const ran = (cmd: unknown) => (cmd as { hasRan?: boolean }).hasRan === true
const unwrap = (cmd: unknown) => ((cmd as { cmd?: unknown }).cmd ?? cmd) as fc.AsyncCommand<Model, Real>

/** Runs the counterexample once more to record the steps it resolved to and the error it ends with. */
async function replay(
  cmds: Iterable<unknown>,
  known: ReadonlySet<string>,
): Promise<{ trace: string[]; error: unknown }> {
  const steps = [...cmds].filter(ran).map(unwrap)
  let trace: string[] = []
  try {
    await runSequence(steps, known, (t) => {
      trace = t
    })
    return { trace, error: new Error('the counterexample did not fail again when replayed') }
  } catch (error) {
    return { trace, error }
  }
}

type Sequence = [Iterable<fc.AsyncCommand<Model, Real>>]

async function search(
  seed: number,
  known: Set<string>,
  limitMs: number,
  path?: string,
): Promise<Found | undefined> {
  const details = await fc.check<Sequence>(
    fc.asyncProperty(commands, (cmds) => runSequence(cmds, known)),
    {
      seed,
      numRuns: SEQUENCES,
      // The plugin is typed for any property; it only counts time.
      plugins: [fc.interruptAfterTimeLimit(limitMs) as fc.Plugin<Sequence>],
      ...(path ? { path, endOnFailure: true } : {}),
    },
  )
  if (!details.failed || !details.counterexample) return undefined
  const [cmds] = details.counterexample
  const again = await replay(cmds, known)
  const error = again.error instanceof Mismatch ? again.error : details.errorInstance
  const fresh = error instanceof Mismatch ? error.facets.filter((facet) => !known.has(facet)) : []
  return {
    facets:
      error instanceof Mismatch
        ? fresh.length > 0
          ? fresh
          : error.facets
        : [`unexpected error: ${String(error instanceof Error ? error.message : error).split('\n')[0]}`],
    seed,
    path: details.counterexamplePath ?? '',
    shrinks: details.numShrinks,
    commands: [...cmds].filter(ran).map(String),
    trace: again.trace,
    error:
      error instanceof Mismatch
        ? error.message
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error),
  }
}

function report(found: Found[]): string {
  return [
    `The invoice model found ${found.length} distinct defect(s); MODEL_SEED=${SEED} repeats the search ` +
      `(${SEQUENCES} sequences a round):`,
    ...found.map((f, i) =>
      [
        '',
        `${i + 1}) ${f.facets.join('; ')}`,
        `   found with MODEL_SEED=${f.seed} MODEL_PATH=${f.path}, shrunk ${f.shrinks} times`,
        `   counterexample: ${f.commands.join(', ')}`,
        '   steps:',
        ...f.trace.map((line) => `     ${line}`),
        `   error: ${f.error.split('\n').join('\n   ')}`,
      ].join('\n'),
    ),
  ].join('\n')
}

describe('the reference model', () => {
  test("when it prices API.md's examples, then it gets API.md's numbers", () => {
    const line = (quantity: string, unitPrice: bigint, taxRate: string, discountPercent = '0') =>
      ref.lineAmounts(
        { quantity: ref.parseDecimal(quantity), unitPrice, taxRate: ref.parseDecimal(taxRate) },
        ref.parseDecimal(discountPercent),
      )
    expect(line('3', 1999n, '19')).toEqual({ subtotal: 5997n, discount: 0n, tax: 1139n, total: 7136n })
    expect(line('1.5', 3333n, '0').subtotal).toBe(5000n)
    expect(line('1', 5000n, '7.25').tax).toBe(363n)
    expect(line('1', 5000n, '7.25', '10')).toEqual({
      subtotal: 5000n,
      discount: 500n,
      tax: 326n,
      total: 4826n,
    })
    expect(line('0.333', 3n, '0').subtotal).toBe(1n)
    // Half away from zero on both sides.
    expect([ref.roundDiv(5n, 10n), ref.roundDiv(-5n, 10n), ref.roundDiv(-4n, 10n)]).toEqual([1n, -1n, 0n])
    expect(ref.amountDue(-500n, 0n)).toBe(0n)
    expect(ref.invoiceNumber('INV-', 1)).toBe('INV-0001')
    expect(ref.invoiceNumber('INV-', 10_000)).toBe('INV-10000')
    expect([ref.decimalString(7n), ref.decimalString(1500n), ref.parseDecimal('19.5')]).toEqual([
      '0.007',
      '1.5',
      19_500n,
    ])
  })

  test('when it credits a line unit by unit, then each credit follows the rules and the last takes the rest', () => {
    const line = { quantity: 3_000n, unitPrice: 1999n, taxRate: 19_000n }
    let earlier = ref.NO_CREDIT
    const totals: bigint[] = []
    for (let i = 0; i < 3; i++) {
      const amounts = ref.creditLineAmounts(line, 0n, earlier, 1_000n)
      totals.push(amounts.total)
      earlier = { quantity: earlier.quantity + 1_000n, amounts: ref.plus(earlier.amounts, amounts) }
    }
    expect(totals).toEqual([2379n, 2379n, 2378n])
    expect(earlier.amounts).toEqual(ref.lineAmounts(line, 0n))
    // 0.333 of 1 × 3 is 1; the rest (0.667) takes 2, whatever the rule would give 0.667 alone.
    const small = { quantity: 1_000n, unitPrice: 3n, taxRate: 0n }
    const first = ref.creditLineAmounts(small, 0n, ref.NO_CREDIT, 333n)
    expect(first.total).toBe(1n)
    expect(ref.creditLineAmounts(small, 0n, { quantity: 333n, amounts: first }, 667n).total).toBe(2n)
    expect(() => ref.creditLineAmounts(small, 0n, ref.NO_CREDIT, 1_001n)).toThrow(RangeError)
    expect(ref.creditSplit(500n, 200n)).toEqual({ appliedToBalance: 200n, refundDue: 300n })
    expect(ref.creditSplit(100n, 200n)).toEqual({ appliedToBalance: 100n, refundDue: 0n })
    expect([
      ref.statusAfterPayment(1000n, 0n, 1000n),
      ref.statusAfterPayment(1000n, 600n, 400n),
      ref.statusAfterPayment(1000n, 600n, 300n),
      ref.statusAfterPayment(1000n, 0n, 300n),
      ref.statusAfterPayment(1000n, 1000n, 1000n),
    ]).toEqual(['credited', 'paid', 'partially_paid', 'sent', 'credited'])
    expect(ref.canVoid('sent', 0n, 1n)).toBe(false)
    expect(ref.creditNoteNumber('CN-', 1)).toBe('CN-0001')
  })
})

describe('the invoice API against its reference model', () => {
  test(
    'when random sequences of customer, profile and invoice commands run, then every answer and every stored invoice follows API.md',
    async () => {
      const found: Found[] = []
      const known = new Set<string>()
      const rounds = REPLAY_PATH ? 1 : MAX_ROUNDS
      const deadline = Date.now() + SEARCH_LIMIT_MS
      for (let round = 0; round < rounds && Date.now() < deadline; round++) {
        const limit = Math.min(ROUND_LIMIT_MS, deadline - Date.now())
        const result = await search(SEED + round, known, limit, REPLAY_PATH)
        if (!result || result.facets.every((facet) => known.has(facet))) break
        found.push(result)
        for (const facet of result.facets) known.add(facet)
      }
      console.info(
        `MODEL_SEED=${SEED}, ${SEQUENCES} sequences a round; answers and credit outcomes:\n` +
          [...tally]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([what, n]) => `  ${what}: ${n}`)
            .join('\n'),
      )
      if (found.length > 0) throw new Error(report(found))
    },
    TEST_TIMEOUT_MS,
  )
})
