import type { Database, Transaction } from '../../lib/db'
import { AppError, notFound } from '../../shared/errors'
import { expectedVersion } from '../../shared/etag'
import { toAddressJson, trimStrings } from '../../shared/input'
import { decodeCursor, keys, type Page, pageSize, toPage } from '../../shared/pagination'
import { foldForSearch, searchTextOf } from '../../shared/search'
import { deleted, type Outbox } from '../webhooks/outbox'
import type { Customer, CustomerCreate, CustomerListQuery, CustomerPatch } from './model'
import {
  type CustomerRow,
  type CustomerUpdate,
  deleteCustomer as deleteRow,
  findCustomer,
  insertCustomer,
  listCustomers as listRows,
  lockCustomer,
  updateCustomer as updateRow,
} from './repository'

export const ETAG_KIND = 'customer'
const LIST_SORT = 'customers:-createdAt'
/** `restrict_violation` for ON DELETE RESTRICT, `foreign_key_violation` for NO ACTION. */
const STILL_REFERENCED = new Set(['23001', '23503'])

export type VersionedCustomer = Customer & { version: number }

export function toCustomer(row: CustomerRow): VersionedCustomer {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    phone: row.phone,
    taxId: row.tax_id,
    address: row.address,
    currency: row.currency,
    notes: row.notes,
    buyerReference: row.buyer_reference,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    version: row.version,
  }
}

/** The customer as the API answers it, without the version its ETag carries. */
const publicCustomer = ({ version: _, ...customer }: VersionedCustomer): Customer => customer

export async function createCustomer(
  trx: Transaction,
  outbox: Outbox,
  userId: string,
  body: CustomerCreate,
): Promise<VersionedCustomer> {
  const input = trimStrings(body)
  const row = await insertCustomer(trx, userId, {
    name: input.name,
    email: input.email ?? null,
    phone: input.phone ?? null,
    tax_id: input.taxId ?? null,
    address: toAddressJson(input.address),
    currency: input.currency ?? null,
    notes: input.notes ?? null,
    buyer_reference: input.buyerReference ?? null,
    search_text: searchTextOf(input.name, input.email ?? null),
  })
  const customer = toCustomer(row)
  await outbox.record(trx, userId, 'customer.created', publicCustomer(customer))
  return customer
}

export async function getCustomer(db: Database, userId: string, id: string): Promise<VersionedCustomer> {
  const row = await findCustomer(db, userId, id)
  if (!row) throw notFound('Customer')
  return toCustomer(row)
}

export async function listCustomers(
  db: Database,
  userId: string,
  query: CustomerListQuery,
): Promise<Page<Customer>> {
  const limit = pageSize(query.limit)
  const after =
    query.cursor === undefined
      ? undefined
      : decodeCursor(query.cursor, LIST_SORT, [keys.timestamp, keys.uuid])
  const folded = query.q === undefined ? '' : foldForSearch(query.q)
  const rows = await listRows(db, userId, { take: limit + 1, after, search: folded || undefined })
  return toPage(
    rows,
    limit,
    LIST_SORT,
    (row) => [row.created_at_key, row.id],
    (row) => {
      const { version: _, ...customer } = toCustomer(row)
      return customer
    },
  )
}

function toUpdate(patch: CustomerPatch): CustomerUpdate {
  const update: CustomerUpdate = {}
  if (patch.name !== undefined) update.name = patch.name
  if (patch.email !== undefined) update.email = patch.email
  if (patch.phone !== undefined) update.phone = patch.phone
  if (patch.taxId !== undefined) update.tax_id = patch.taxId
  if (patch.address !== undefined) update.address = toAddressJson(patch.address)
  if (patch.currency !== undefined) update.currency = patch.currency
  if (patch.notes !== undefined) update.notes = patch.notes
  if (patch.buyerReference !== undefined) update.buyer_reference = patch.buyerReference
  return update
}

/**
 * Run in the rename's transaction. Customers import no other module: the invoices module, which keeps its
 * drafts' search text in step with the name, is given here by the app.
 */
export type RenameHook = (trx: Transaction, userId: string, customerId: string, name: string) => Promise<void>

/** Updates under a row lock, so the If-Match check and the recomputed search text see the row they change. */
export async function updateCustomer(
  trx: Transaction,
  outbox: Outbox,
  userId: string,
  id: string,
  body: CustomerPatch,
  ifMatch: string | null,
  onRenamed: RenameHook,
): Promise<VersionedCustomer> {
  const patch = trimStrings(body)
  const current = await lockCustomer(trx, userId, id)
  if (!current) throw notFound('Customer')
  expectedVersion(ifMatch, ETAG_KIND, id, current.version)
  const update = toUpdate(patch)
  if (patch.name !== undefined || patch.email !== undefined) {
    const email = patch.email !== undefined ? patch.email : current.email
    update.search_text = searchTextOf(patch.name ?? current.name, email)
  }
  if (patch.name !== undefined && patch.name !== current.name) {
    await onRenamed(trx, userId, id, patch.name)
  }
  const customer = toCustomer(await updateRow(trx, userId, id, update))
  await outbox.record(trx, userId, 'customer.updated', publicCustomer(customer))
  return customer
}

export async function deleteCustomer(
  trx: Transaction,
  outbox: Outbox,
  userId: string,
  id: string,
  ifMatch: string | null,
): Promise<void> {
  const current = await lockCustomer(trx, userId, id)
  if (!current) throw notFound('Customer')
  expectedVersion(ifMatch, ETAG_KIND, id, current.version)
  try {
    await deleteRow(trx, userId, id)
  } catch (error) {
    // Invoices reference customers(id) ON DELETE RESTRICT: the database refuses, and that refusal is the rule.
    if (STILL_REFERENCED.has(String((error as { code?: unknown }).code))) {
      throw new AppError('CUSTOMER_HAS_INVOICES', 'The customer has invoices and cannot be deleted', {
        cause: error,
      })
    }
    throw error
  }
  await outbox.record(trx, userId, 'customer.deleted', deleted(publicCustomer(toCustomer(current))))
}
