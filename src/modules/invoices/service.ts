import type { Database, Transaction } from '../../lib/db'
import { addDays, isCalendarDate, todayIn } from '../../shared/dates'
import { AppError, type ErrorDetail, notFound } from '../../shared/errors'
import { toAddressJson, trimStrings } from '../../shared/input'
import { hostedUrl, newHostedToken } from '../../shared/links'
import {
  computeInvoice,
  type DecimalInput,
  decimal3ToString,
  parsePercent,
  type TaxCalculation,
} from '../../shared/money'
import { decodeCursor, keys, type Page, pageSize, toPage } from '../../shared/pagination'
import { foldForSearch } from '../../shared/search'
import { getCustomer } from '../customers/service'
import { getMe } from '../me/service'
import { deleted, type Outbox } from '../webhooks/outbox'
import { assertAllowed, type InvoiceStatus, STATUS_WEBHOOK_EVENTS } from './lifecycle'
import { toEvent, toInvoice } from './mapper'

export { toPayment } from './mapper'

import {
  EXEMPT_CATEGORIES,
  type Invoice,
  type InvoiceCreate,
  type InvoiceListQuery,
  type InvoicePatch,
  type ItemInput,
  type TaxCategory,
} from './model'
import {
  appendEvent,
  deleteInvoice as deleteRow,
  findInvoice,
  findInvoiceView,
  findIssuedViewByHostedToken,
  findItems,
  type InvoiceRecord,
  type InvoiceUpdate,
  type InvoiceView,
  type ItemRecord,
  insertInvoice,
  invoiceExists,
  type ListSortColumn,
  listEvents,
  listInvoiceViews,
  type NewItem,
  replaceItems,
  updateInvoice as updateRow,
} from './repository'
import { invoiceSearchText, lockForChange, lockInvoiceRecord } from './writes'

export { ETAG_KIND } from './writes'

const validation = (details: ErrorDetail[]) =>
  new AppError('VALIDATION_ERROR', 'Request validation failed', { details })

async function customerFor(db: Database, userId: string, customerId: string) {
  try {
    return await getCustomer(db, userId, customerId)
  } catch (error) {
    if (error instanceof AppError && error.code === 'NOT_FOUND') {
      throw validation([{ path: '/customerId', message: 'no such customer' }])
    }
    throw error
  }
}

interface PricedItems {
  rows: (userId: string, invoiceId: string) => NewItem[]
  totals: { subtotal: number; discountTotal: number; taxTotal: number; total: number }
}

interface PricedInput {
  /** Kept when a line is priced again, so its id does not change. */
  id?: string
  description: string
  quantity: DecimalInput
  unitPrice: number
  taxRate: DecimalInput
  unitCode: string
  taxCategory: TaxCategory
}

/** Every line priced by the money module; the client never sends an amount the server computes. */
function price(
  items: readonly PricedInput[],
  discountPercent: DecimalInput,
  taxCalculation: TaxCalculation,
): PricedItems {
  const { lines, totals } = computeInvoice({ items, discountPercent, taxCalculation })
  return {
    totals,
    rows: (userId, invoiceId) =>
      lines.map((line, position) => ({
        ...(items[position]!.id === undefined ? {} : { id: items[position]!.id }),
        invoice_id: invoiceId,
        user_id: userId,
        position,
        description: items[position]!.description,
        quantity: decimal3ToString(line.quantityThousandths),
        unit_price: items[position]!.unitPrice,
        tax_rate: decimal3ToString(line.taxRateThousandths),
        subtotal: line.subtotal,
        discount: line.discount,
        tax: line.tax,
        total: line.total,
        unit_code: items[position]!.unitCode,
        tax_category: items[position]!.taxCategory,
      })),
  }
}

const EXEMPT: ReadonlySet<TaxCategory> = new Set(EXEMPT_CATEGORIES)
/** Categories that are untaxed by definition: a missing rate defaults to 0 for them, not the profile's. */
const UNTAXED: ReadonlySet<TaxCategory> = new Set(['Z', ...EXEMPT_CATEGORIES])

/**
 * The items of a request with the API's defaults: the profile's rate (0 for untaxed categories), the unit `C62`,
 * and the category `S` when taxed, else `Z`.
 */
const withDefaults = (items: readonly ItemInput[], defaultTaxRate: number): PricedInput[] =>
  items.map((item) => {
    const taxRate =
      item.taxRate ?? (item.taxCategory !== undefined && UNTAXED.has(item.taxCategory) ? 0 : defaultTaxRate)
    return {
      ...item,
      taxRate,
      unitCode: item.unitCode ?? 'C62',
      taxCategory: item.taxCategory ?? (parsePercent(taxRate) > 0n ? 'S' : 'Z'),
    }
  })

interface TaxFacts {
  items: readonly Pick<PricedInput, 'taxRate' | 'taxCategory'>[]
  taxExemptionReasons: Partial<Record<TaxCategory, string>> | null
  deliverTo: unknown
}

/**
 * The rules on categories the API refuses on input (API.md "Resources"): E, AE, K, G and O carry no tax, each of
 * them used needs its exemption reason, and K (an intra-community supply) needs the country it goes to. Checked
 * on the invoice as the change leaves it, so items and reasons may arrive in one request or several.
 */
function checkTaxFacts(facts: TaxFacts, itemsSent: boolean): void {
  const details: ErrorDetail[] = []
  const used = new Set<TaxCategory>()
  facts.items.forEach((item, index) => {
    used.add(item.taxCategory)
    if (EXEMPT.has(item.taxCategory) && parsePercent(item.taxRate) !== 0n) {
      details.push({
        path: itemsSent ? `/items/${index}/taxRate` : '/items',
        message: `must be 0 for tax category ${item.taxCategory}`,
      })
    }
  })
  for (const category of EXEMPT_CATEGORIES) {
    if (used.has(category) && !facts.taxExemptionReasons?.[category]) {
      details.push({
        path: `/taxExemptionReasons/${category}`,
        message: `required: an item uses tax category ${category}`,
      })
    }
  }
  if (used.has('K') && !facts.deliverTo) {
    details.push({
      path: '/deliverTo',
      message: 'required: an intra-community supply (category K) names the country it is delivered to',
    })
  }
  if (details.length > 0) throw validation(details)
}

const totalsColumns = (totals: PricedItems['totals']) => ({
  subtotal: totals.subtotal,
  discount_total: totals.discountTotal,
  tax_total: totals.taxTotal,
  total: totals.total,
})

/** issueDate + the payment terms, which must still be a date the API accepts (up to 9999-12-31). */
function defaultDueDate(issueDate: string, paymentTermsDays: number): string {
  const dueDate = addDays(issueDate, paymentTermsDays)
  if (!isCalendarDate(dueDate)) {
    throw validation([
      { path: '/dueDate', message: 'required: issueDate plus the payment terms is after 9999-12-31' },
    ])
  }
  return dueDate
}

function checkDates(issueDate: string, dueDate: string) {
  if (dueDate < issueDate) throw validation([{ path: '/dueDate', message: 'must not be before issueDate' }])
}

export async function getInvoice(db: Database, userId: string, id: string): Promise<Invoice> {
  const row = await findInvoiceView(db, userId, id)
  if (!row) throw notFound('Invoice')
  return toInvoice(row)
}

/**
 * The issued invoice behind a hosted page token, with its owner (whose profile the page reads), or undefined for
 * an unknown, rotated or draft token. The caller has checked the token's shape (`HOSTED_TOKEN`).
 */
export async function findInvoiceByHostedToken(
  db: Database,
  token: string,
): Promise<{ invoice: Invoice; userId: string } | undefined> {
  const view = await findIssuedViewByHostedToken(db, token)
  return view && { invoice: toInvoice(view), userId: view.userId }
}

/** A draft with defaults from the customer and profile: currency, dates in the profile's time zone, tax rate. */
export async function createInvoice(
  trx: Transaction,
  outbox: Outbox,
  userId: string,
  body: InvoiceCreate,
): Promise<Invoice> {
  const input = trimStrings(body)
  const [customer, me] = await Promise.all([customerFor(trx, userId, input.customerId), getMe(trx, userId)])
  const { profile } = me
  const currency = input.currency ?? customer.currency ?? profile.defaultCurrency
  if (!currency) {
    throw validation([
      { path: '/currency', message: 'required: neither the customer nor the profile has a currency' },
    ])
  }
  const issueDate = input.issueDate ?? todayIn(profile.timezone)
  const dueDate = input.dueDate ?? defaultDueDate(issueDate, profile.paymentTermsDays)
  checkDates(issueDate, dueDate)
  const discountPercent = input.discountPercent ?? 0
  const items = withDefaults(input.items ?? [], profile.defaultTaxRate)
  checkTaxFacts(
    { items, taxExemptionReasons: input.taxExemptionReasons ?? null, deliverTo: input.deliverTo },
    true,
  )
  const priced = price(items, discountPercent, profile.taxCalculation)

  const row = await insertInvoice(trx, {
    user_id: userId,
    customer_id: customer.id,
    currency,
    issue_date: issueDate,
    due_date: dueDate,
    discount_percent: discountPercent,
    notes: input.notes ?? null,
    tax_calculation: profile.taxCalculation,
    tax_exemption_reasons: input.taxExemptionReasons ?? null,
    purchase_order_reference: input.purchaseOrderReference ?? null,
    delivery_date: input.deliveryDate ?? null,
    deliver_to: toAddressJson(input.deliverTo),
    search_text: invoiceSearchText(null, customer.name),
    ...totalsColumns(priced.totals),
  })
  await replaceItems(trx, userId, row.id, priced.rows(userId, row.id))
  await appendEvent(trx, {
    invoiceId: row.id,
    userId,
    type: 'created',
    actorId: userId,
    data: { total: priced.totals.total, currency, items: input.items?.length ?? 0 },
  })
  const invoice = await getInvoice(trx, userId, row.id)
  await outbox.record(trx, userId, 'invoice.created', invoice)
  return invoice
}

/** Drafts only; items, when given, replace the old ones as a whole, and every total is computed again. */
export async function updateInvoice(
  trx: Transaction,
  outbox: Outbox,
  userId: string,
  id: string,
  body: InvoicePatch,
  ifMatch: string | null,
): Promise<Invoice> {
  const patch = trimStrings(body)
  const row = await lockForChange(trx, userId, id, ifMatch)
  assertAllowed(row, 'update')
  const update: InvoiceUpdate = {}
  if (patch.customerId !== undefined && patch.customerId !== row.customerId) {
    const customer = await customerFor(trx, userId, patch.customerId)
    update.customer_id = customer.id
    update.search_text = invoiceSearchText(null, customer.name)
  }
  if (patch.currency !== undefined) update.currency = patch.currency
  if (patch.notes !== undefined) update.notes = patch.notes
  const issueDate = patch.issueDate ?? row.issueDate
  const dueDate = patch.dueDate ?? row.dueDate
  checkDates(issueDate, dueDate)
  if (patch.issueDate !== undefined) update.issue_date = issueDate
  if (patch.dueDate !== undefined) update.due_date = dueDate

  const discountPercent = patch.discountPercent ?? row.discountPercent
  if (patch.discountPercent !== undefined) update.discount_percent = patch.discountPercent
  if (patch.taxExemptionReasons !== undefined) update.tax_exemption_reasons = patch.taxExemptionReasons
  if (patch.purchaseOrderReference !== undefined)
    update.purchase_order_reference = patch.purchaseOrderReference
  if (patch.deliveryDate !== undefined) update.delivery_date = patch.deliveryDate
  if (patch.deliverTo !== undefined) update.deliver_to = toAddressJson(patch.deliverTo)
  const items = patch.items
    ? withDefaults(patch.items, (await getMe(trx, userId)).profile.defaultTaxRate)
    : await findItems(trx, userId, id)
  checkTaxFacts(
    {
      items,
      taxExemptionReasons:
        patch.taxExemptionReasons !== undefined ? patch.taxExemptionReasons : row.taxExemptionReasons,
      deliverTo: patch.deliverTo !== undefined ? patch.deliverTo : row.deliverTo,
    },
    patch.items !== undefined,
  )
  const priced = price(items, discountPercent, row.taxCalculation)
  Object.assign(update, totalsColumns(priced.totals))

  await updateRow(trx, userId, id, update)
  // Every line is written again, not only on new items: a discount or a rate changes each line's amounts,
  // and the database refuses totals that are not the sums of the lines.
  await replaceItems(trx, userId, id, priced.rows(userId, id))
  await appendEvent(trx, {
    invoiceId: id,
    userId,
    type: 'updated',
    actorId: userId,
    data: { fields: Object.keys(patch).sort(), total: priced.totals.total },
  })
  const invoice = await getInvoice(trx, userId, id)
  await outbox.record(trx, userId, 'invoice.updated', invoice)
  return invoice
}

/** Drafts are deleted with their items and events; issued invoices are voided instead. */
export async function deleteInvoice(
  trx: Transaction,
  outbox: Outbox,
  userId: string,
  id: string,
  ifMatch: string | null,
): Promise<void> {
  const row = await lockForChange(trx, userId, id, ifMatch)
  assertAllowed(row, 'delete')
  const last = await getInvoice(trx, userId, id)
  await deleteRow(trx, userId, id)
  await outbox.record(trx, userId, 'invoice.deleted', deleted(last))
}

/** Only a sent invoice that nobody paid or credited can be voided (the lifecycle's guard). */
export async function voidInvoice(
  trx: Transaction,
  outbox: Outbox,
  userId: string,
  id: string,
  ifMatch: string | null,
): Promise<Invoice> {
  const row = await lockForChange(trx, userId, id, ifMatch)
  assertAllowed(row, 'void')
  await updateRow(trx, userId, id, { status: 'void', voided_at: new Date() })
  await appendEvent(trx, { invoiceId: id, userId, type: 'voided', actorId: userId })
  return announceStatus(trx, outbox, userId, id, ['void'])
}

/**
 * A new hosted page token for an issued invoice: the old link stops working at once (API.md "Delivery"). The
 * invoice's version moves, since its `hostedUrl` changed.
 */
export async function rotateHostedLink(
  trx: Transaction,
  userId: string,
  id: string,
): Promise<{ hostedUrl: string }> {
  const row = await lockInvoiceRecord(trx, userId, id)
  assertAllowed(row, 'share')
  const token = newHostedToken()
  await updateRow(trx, userId, id, { hosted_token: token })
  return { hostedUrl: hostedUrl(token) }
}

/**
 * Announces the statuses an invoice entered, in order (a zero-total send enters `sent` then `paid`), each with
 * the invoice as it now is; answers that invoice.
 */
export async function announceStatus(
  trx: Transaction,
  outbox: Outbox,
  userId: string,
  id: string,
  entered: readonly InvoiceStatus[],
): Promise<Invoice> {
  const invoice = await getInvoice(trx, userId, id)
  for (const status of entered) {
    const type = STATUS_WEBHOOK_EVENTS[status as keyof typeof STATUS_WEBHOOK_EVENTS]
    if (type) await outbox.record(trx, userId, type, invoice)
  }
  return invoice
}

export async function listInvoiceEvents(db: Database, userId: string, id: string) {
  if (!(await invoiceExists(db, userId, id))) throw notFound('Invoice')
  return { data: (await listEvents(db, userId, id)).map(toEvent) }
}

const SORT_COLUMNS: Record<string, ListSortColumn> = {
  issueDate: 'issue_date',
  dueDate: 'due_date',
  total: 'total',
  number: 'number_seq',
}

const sortValue = (column: ListSortColumn, row: InvoiceView): string | number | null => {
  switch (column) {
    case 'issue_date':
      return row.issueDate
    case 'due_date':
      return row.dueDate
    case 'total':
      return row.total
    case 'number_seq':
      return row.numberSeq
  }
}

export async function listInvoices(
  db: Database,
  userId: string,
  query: InvoiceListQuery,
): Promise<Page<Invoice>> {
  const limit = pageSize(query.limit)
  const sort = query.sort ?? '-issueDate'
  const descending = sort.startsWith('-')
  const column = SORT_COLUMNS[descending ? sort.slice(1) : sort]!
  const cursorSort = `invoices:${sort}`
  const valueKey =
    column === 'issue_date' || column === 'due_date'
      ? keys.date
      : column === 'number_seq'
        ? keys.nullable(keys.integer)
        : keys.integer
  if (query.issuedFrom && query.issuedTo && query.issuedTo < query.issuedFrom) {
    throw validation([{ path: '/query/issuedTo', message: 'must not be before issuedFrom' }])
  }
  const after =
    query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursorSort, [valueKey, keys.uuid])
  const search = query.q === undefined ? undefined : foldForSearch(query.q)

  const rows = await listInvoiceViews(db, userId, {
    take: limit + 1,
    column,
    descending,
    after,
    status: query.status,
    customerId: query.customerId,
    issuedFrom: query.issuedFrom,
    issuedTo: query.issuedTo,
    search: search === '' ? undefined : search,
  })
  return toPage(rows, limit, cursorSort, (row) => [sortValue(column, row), row.id], toInvoice)
}

/** The invoice as a record (numeric money), without its parts; for modules that act on an invoice. */
export async function findInvoiceRecord(db: Database, userId: string, id: string): Promise<InvoiceRecord> {
  const record = await findInvoice(db, userId, id)
  if (!record) throw notFound('Invoice')
  return record
}

/** The invoice's lines in order, as records. */
export const invoiceItems = (db: Database, userId: string, invoiceId: string): Promise<ItemRecord[]> =>
  findItems(db, userId, invoiceId)

export type { InvoiceRecord, ItemRecord, PaymentRecord } from './repository'
