import type { VerifiedToken } from '../../lib/auth/verifier'
import type { Database } from '../../lib/db'
import { AppError, notFound } from '../../shared/errors'
import { expectedVersion } from '../../shared/etag'
import { toAddressJson, trimStrings } from '../../shared/input'
import { decimal3ToString, parsePercent } from '../../shared/money'
import type { Me, ProfilePatch } from './model'
import {
  findUserById,
  findUserBySub,
  insertUserIfAbsent,
  lockUser,
  recordNumberSkip,
  type UserRow,
  type UserUpdate,
  updateUser,
  updateUserEmail,
} from './repository'

export interface AuthenticatedUser {
  id: string
  sub: string
  email: string | null
}

const toAuthenticatedUser = (row: UserRow): AuthenticatedUser => ({
  id: row.id,
  sub: row.cognito_sub,
  email: row.email,
})

/** The user behind a verified token; created on first sight, its email kept current from ID tokens. */
export async function resolveUser(db: Database, token: VerifiedToken): Promise<AuthenticatedUser> {
  const found = await findUserBySub(db, token.sub)
  if (!found) return toAuthenticatedUser(await insertUserIfAbsent(db, token.sub, token.email))
  if (token.email && token.email !== found.email) {
    await updateUserEmail(db, found.id, token.email)
    return { ...toAuthenticatedUser(found), email: token.email }
  }
  return toAuthenticatedUser(found)
}

export function toMe(row: UserRow): Me {
  return {
    id: row.id,
    email: row.email,
    profile: {
      companyName: row.company_name,
      email: row.profile_email,
      phone: row.phone,
      taxId: row.tax_id,
      address: row.address,
      defaultCurrency: row.default_currency,
      paymentTermsDays: row.payment_terms_days,
      defaultTaxRate: Number(row.default_tax_rate),
      invoicePrefix: row.invoice_prefix,
      nextInvoiceNumber: Number(row.next_invoice_number),
      timezone: row.timezone,
    },
  }
}

export async function getMe(db: Database, userId: string): Promise<Me & { version: number }> {
  const row = await findUserById(db, userId)
  if (!row) throw notFound('User')
  return { ...toMe(row), version: row.version }
}

/** Trims every string field; an address replaces the stored one as a whole, absent fields becoming null. */
function toUserUpdate(body: ProfilePatch): UserUpdate {
  const patch = trimStrings(body)
  const update: UserUpdate = {}
  if (patch.companyName !== undefined) update.company_name = patch.companyName
  if (patch.email !== undefined) update.profile_email = patch.email
  if (patch.phone !== undefined) update.phone = patch.phone
  if (patch.taxId !== undefined) update.tax_id = patch.taxId
  if (patch.address !== undefined) update.address = toAddressJson(patch.address)
  if (patch.defaultCurrency !== undefined) update.default_currency = patch.defaultCurrency
  if (patch.paymentTermsDays !== undefined) update.payment_terms_days = patch.paymentTermsDays
  if (patch.defaultTaxRate !== undefined) {
    update.default_tax_rate = decimal3ToString(parsePercent(patch.defaultTaxRate, '/defaultTaxRate'))
  }
  if (patch.invoicePrefix !== undefined) update.invoice_prefix = patch.invoicePrefix
  if (patch.nextInvoiceNumber !== undefined) update.next_invoice_number = patch.nextInvoiceNumber
  if (patch.timezone !== undefined) update.timezone = patch.timezone
  return update
}

/** Updates the profile under a row lock, so the If-Match check and the numbering rule see the row they change. */
export async function updateProfile(
  db: Database,
  userId: string,
  patch: ProfilePatch,
  ifMatch: string | null,
): Promise<Me & { version: number }> {
  const update = toUserUpdate(patch)
  return db.transaction().execute(async (trx) => {
    const row = await lockUser(trx, userId)
    if (!row) throw notFound('User')
    expectedVersion(ifMatch, 'me', row.id, row.version)
    const lastUsed = Number(row.last_invoice_number)
    if (patch.nextInvoiceNumber !== undefined && patch.nextInvoiceNumber <= lastUsed) {
      throw new AppError('VALIDATION_ERROR', 'nextInvoiceNumber cannot go back to a number already used', {
        details: [
          { path: '/nextInvoiceNumber', message: `must be greater than ${lastUsed}, the last number issued` },
        ],
      })
    }
    const updated = await updateUser(trx, userId, update)
    if (patch.nextInvoiceNumber !== undefined) {
      await recordNumberSkip(trx, userId, lastUsed, patch.nextInvoiceNumber)
    }
    return { ...toMe(updated), version: updated.version }
  })
}
