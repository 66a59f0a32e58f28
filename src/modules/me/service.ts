import type { VerifiedToken } from '../../lib/auth/verifier'
import type { Database } from '../../lib/db'
import { notFound } from '../../shared/errors'
import type { Me } from './model'
import { findUserById, findUserBySub, insertUserIfAbsent, type UserRow, updateUserEmail } from './repository'

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

export async function getMe(db: Database, userId: string): Promise<Me> {
  const row = await findUserById(db, userId)
  if (!row) throw notFound('User')
  return toMe(row)
}
