import type { SellerJson } from '../../../db/schema'
import type { VerifiedToken } from '../../lib/auth/verifier'
import type { Database, Transaction } from '../../lib/db'
import type { AuthenticatedUser } from '../../plugins/auth'
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
  takeNumber,
  type UserRow,
  type UserUpdate,
  updateUser,
  updateUserEmail,
} from './repository'

export type { AuthenticatedUser }

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
      defaultTaxRate: row.default_tax_rate,
      invoicePrefix: row.invoice_prefix,
      nextInvoiceNumber: row.next_invoice_number,
      creditNotePrefix: row.credit_note_prefix,
      nextCreditNoteNumber: row.next_credit_note_number,
      timezone: row.timezone,
      locale: row.locale,
      contactName: row.contact_name,
      paymentInstructions: row.payment_instructions,
      bankAccount: row.bank_account,
      reminders: { enabled: row.reminders_enabled, daysAfterDue: row.reminder_days },
      taxCalculation: row.tax_calculation,
      eInvoiceFormat: row.e_invoice_format,
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
  if (patch.creditNotePrefix !== undefined) update.credit_note_prefix = patch.creditNotePrefix
  if (patch.nextCreditNoteNumber !== undefined) update.next_credit_note_number = patch.nextCreditNoteNumber
  if (patch.timezone !== undefined) update.timezone = patch.timezone
  if (patch.locale !== undefined) update.locale = patch.locale
  if (patch.contactName !== undefined) update.contact_name = patch.contactName
  if (patch.paymentInstructions !== undefined) update.payment_instructions = patch.paymentInstructions
  if (patch.bankAccount !== undefined) {
    update.bank_account = patch.bankAccount && {
      iban: patch.bankAccount.iban,
      bic: patch.bankAccount.bic ?? null,
      accountName: patch.bankAccount.accountName ?? null,
    }
  }
  if (patch.taxCalculation !== undefined) update.tax_calculation = patch.taxCalculation
  if (patch.eInvoiceFormat !== undefined) update.e_invoice_format = patch.eInvoiceFormat
  if (patch.reminders?.enabled !== undefined) update.reminders_enabled = patch.reminders.enabled
  if (patch.reminders?.daysAfterDue !== undefined) {
    update.reminder_days = [...patch.reminders.daysAfterDue].sort((a, b) => a - b)
  }
  return update
}

/** The two gapless number series of a user: invoices and credit notes. */
const SERIES = [
  { name: 'invoice', field: 'nextInvoiceNumber', lastColumn: 'last_invoice_number' },
  { name: 'credit_note', field: 'nextCreditNoteNumber', lastColumn: 'last_credit_note_number' },
] as const

export type NumberSeries = (typeof SERIES)[number]['name']

/** `INV-` + 7 → `INV-0007`; numbers past 9999 simply grow (`INV-10000`). */
export const formatNumber = (prefix: string, seq: number) => `${prefix}${String(seq).padStart(4, '0')}`

export interface AllocatedNumber {
  seq: number
  number: string
  /** The profile as it is when the number is taken: the seller frozen on the document. */
  seller: SellerJson
  timezone: string
}

/**
 * Takes the next number of a series in the caller's transaction: one UPDATE that moves the counter and locks
 * the user's row until the transaction ends, which serialises the numbering of one user. A rollback (a failed
 * render or upload) gives the number back, so the series stays gapless. The lock is FOR NO KEY UPDATE strength:
 * rows that reference the user (events, payments, report totals) take a key-share lock for their foreign key and
 * do not queue behind it.
 */
export async function allocateNumber(
  trx: Transaction,
  userId: string,
  series: NumberSeries,
): Promise<AllocatedNumber> {
  const row = await takeNumber(trx, userId, series)
  if (!row) throw notFound('User')
  return {
    seq: row.seq,
    number: formatNumber(row.prefix, row.seq),
    seller: sellerOf(row),
    timezone: row.timezone,
  }
}

/**
 * The seller a document freezes: the profile's parties data, with what e-invoices need besides (contact, bank
 * account, and the profile's email as the electronic address, BT-34).
 */
export function sellerOf(row: {
  company_name: string | null
  profile_email: string | null
  phone: string | null
  tax_id: string | null
  address: UserRow['address']
  contact_name: string | null
  bank_account: UserRow['bank_account']
}): SellerJson {
  return {
    companyName: row.company_name,
    email: row.profile_email,
    phone: row.phone,
    taxId: row.tax_id,
    address: row.address,
    contactName: row.contact_name,
    bankAccount: row.bank_account,
    electronicAddress: row.profile_email,
  }
}

/** The seller a document issued now would freeze, from the profile as answered (for checks before issuing). */
export const sellerOfProfile = (profile: Me['profile']): SellerJson => ({
  companyName: profile.companyName,
  email: profile.email,
  phone: profile.phone,
  taxId: profile.taxId,
  address: profile.address,
  contactName: profile.contactName,
  bankAccount: profile.bankAccount,
  electronicAddress: profile.email,
})

/** Updates the profile under a row lock (in the caller's transaction), so the If-Match check and the numbering rule see the row they change. */
export async function updateProfile(
  trx: Transaction,
  userId: string,
  patch: ProfilePatch,
  ifMatch: string | null,
): Promise<Me & { version: number }> {
  const update = toUserUpdate(patch)
  const row = await lockUser(trx, userId)
  if (!row) throw notFound('User')
  expectedVersion(ifMatch, 'me', row.id, row.version)
  const raises = SERIES.flatMap((series) => {
    const next = patch[series.field]
    return next === undefined ? [] : [{ series, next, lastUsed: row[series.lastColumn] }]
  })
  for (const { series, next, lastUsed } of raises) {
    if (next <= lastUsed) {
      throw new AppError('VALIDATION_ERROR', `${series.field} cannot go back to a number already used`, {
        details: [
          { path: `/${series.field}`, message: `must be greater than ${lastUsed}, the last number issued` },
        ],
      })
    }
  }
  const updated = await updateUser(trx, userId, update)
  for (const { series, next, lastUsed } of raises) {
    await recordNumberSkip(trx, userId, series.name, lastUsed, next)
  }
  return { ...toMe(updated), version: updated.version }
}
