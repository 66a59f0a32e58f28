import type { AddressJson } from '../../../db/schema'
import type { Database } from '../../lib/db'
import { AppError, type ErrorDetail, notFound } from '../../shared/errors'
import { expectedVersion } from '../../shared/etag'
import { decodeCursor, keys, type Page, pageSize, toPage } from '../../shared/pagination'
import type { AddressInput } from '../../shared/schemas'
import type { Customer, CustomerCreate, CustomerListQuery, CustomerPatch } from './model'
import {
  type CustomerRow,
  type CustomerUpdate,
  deleteCustomer as deleteRow,
  findCustomer,
  insertCustomer,
  listCustomers as listRows,
  updateCustomer as updateRow,
} from './repository'
import { foldForSearch, searchTextOf } from './search'

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
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    version: row.version,
  }
}

/** Trims every string of the input; a string left blank is an error naming its path, as the schema would. */
function trimmed<T>(input: T): T {
  const blank: ErrorDetail[] = []
  const walk = (value: unknown, path: string): unknown => {
    if (typeof value === 'string') {
      const result = value.trim()
      if (result === '') blank.push({ path, message: 'must not be blank (send null to clear it)' })
      return result
    }
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, walk(v, `${path}/${key}`)]))
    }
    return value
  }
  const result = walk(input, '') as T
  if (blank.length > 0)
    throw new AppError('VALIDATION_ERROR', 'Request validation failed', { details: blank })
  return result
}

const toAddressJson = (address: AddressInput | null | undefined): AddressJson | null =>
  address
    ? {
        line1: address.line1 ?? null,
        line2: address.line2 ?? null,
        city: address.city ?? null,
        region: address.region ?? null,
        postalCode: address.postalCode ?? null,
        country: address.country ?? null,
      }
    : null

export async function createCustomer(
  db: Database,
  userId: string,
  body: CustomerCreate,
): Promise<VersionedCustomer> {
  const input = trimmed(body)
  const row = await insertCustomer(db, userId, {
    name: input.name,
    email: input.email ?? null,
    phone: input.phone ?? null,
    tax_id: input.taxId ?? null,
    address: toAddressJson(input.address),
    currency: input.currency ?? null,
    notes: input.notes ?? null,
    search_text: searchTextOf(input.name, input.email ?? null),
  })
  return toCustomer(row)
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
  return update
}

/** Updates under a row lock, so the If-Match check and the recomputed search text see the row they change. */
export async function updateCustomer(
  db: Database,
  userId: string,
  id: string,
  body: CustomerPatch,
  ifMatch: string | null,
): Promise<VersionedCustomer> {
  const patch = trimmed(body)
  return db.transaction().execute(async (trx) => {
    const current = await findCustomer(trx, userId, id, { forUpdate: true })
    if (!current) throw notFound('Customer')
    expectedVersion(ifMatch, ETAG_KIND, id, current.version)
    const update = toUpdate(patch)
    if (patch.name !== undefined || patch.email !== undefined) {
      const email = patch.email !== undefined ? patch.email : current.email
      update.search_text = searchTextOf(patch.name ?? current.name, email)
    }
    return toCustomer(await updateRow(trx, userId, id, update))
  })
}

export async function deleteCustomer(
  db: Database,
  userId: string,
  id: string,
  ifMatch: string | null,
): Promise<void> {
  try {
    await db.transaction().execute(async (trx) => {
      const current = await findCustomer(trx, userId, id, { forUpdate: true })
      if (!current) throw notFound('Customer')
      expectedVersion(ifMatch, ETAG_KIND, id, current.version)
      await deleteRow(trx, userId, id)
    })
  } catch (error) {
    // Invoices reference customers(id) ON DELETE RESTRICT: the database refuses, and that refusal is the rule.
    if (STILL_REFERENCED.has(String((error as { code?: unknown }).code))) {
      throw new AppError('CUSTOMER_HAS_INVOICES', 'The customer has invoices and cannot be deleted', {
        cause: error,
      })
    }
    throw error
  }
}
