import { expect } from 'bun:test'
import type { CustomerCreate } from '../../src/modules/customers/model'
import type { ItemInput } from '../../src/modules/invoices/model'
import type { ProfilePatch } from '../../src/modules/me/model'
import type { TestApp } from './app'
import { edenClient } from './eden'

/** A credit note as API.md "Credit notes" describes it (every answer is also checked against the OpenAPI document). */
export interface CreditNote {
  id: string
  number: string
  invoiceId: string
  invoiceNumber: string
  customerId: string
  reason: string
  memo: string | null
  currency: string
  items: {
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
  }[]
  subtotal: number
  discountTotal: number
  taxTotal: number
  total: number
  appliedToBalance: number
  refundDue: number
  billTo: { name: string; email: string | null } & Record<string, unknown>
  from: { companyName: string | null } & Record<string, unknown>
  pdf: { sha256: string; size: number; generatedAt: string }
  issueDate: string
  issuedAt: string
  createdAt: string
}

export interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: { path: string; message: string }[] }
}

/** One answer of a credit-note route: its status and headers, and the body as the note, the list or the error. */
export interface Answer<T> {
  status: number
  headers: Headers
  /** Set on 2xx. */
  data: T
  /** Set on errors. */
  error: ErrorBody['error']
}

export interface CreditNoteBody {
  reason?: string
  memo?: string | null
  items?: { invoiceItemId: string; quantity: unknown }[]
  [extra: string]: unknown
}

type HeaderMap = Record<string, string>

/**
 * Users, customers and invoices issued through mark-as-sent (with their PDFs), and the credit-note routes, all
 * over HTTP through `t.request`.
 */
export function creditNoteKit(t: TestApp) {
  async function answer<T>(res: Response): Promise<Answer<T>> {
    const text = await res.text()
    const body = text === '' ? null : (JSON.parse(text) as unknown)
    const ok = res.status >= 200 && res.status < 300
    return {
      status: res.status,
      headers: res.headers,
      data: (ok ? body : undefined) as T,
      error: (ok ? undefined : (body as ErrorBody | null)?.error) as ErrorBody['error'],
    }
  }

  const api = (token: string) => edenClient(t, token).api.v1

  async function newUser(profile: ProfilePatch = {}) {
    const token = await t.token()
    const { status } = await api(token).me.patch({
      defaultCurrency: 'EUR',
      companyName: 'Seller GmbH',
      ...profile,
    })
    expect(status).toBe(200)
    return token
  }

  async function newCustomer(
    token: string,
    body: CustomerCreate = { name: 'Ada Lovelace', email: 'ada@example.com' },
  ) {
    const { data, status } = await api(token).customers.post(body)
    expect(status).toBe(201)
    return data!.id
  }

  async function draft(
    token: string,
    customerId: string,
    items: ItemInput[],
    extra: { discountPercent?: number; currency?: string } = {},
  ) {
    const { data, status, error } = await api(token).invoices.post({ customerId, items, ...extra })
    if (error) throw new Error(`draft: ${status} ${JSON.stringify(error.value)}`)
    return data!
  }

  /** A draft issued through mark-as-sent: numbered, frozen, its PDF stored. */
  async function issued(
    token: string,
    customerId: string,
    items: ItemInput[],
    extra: { discountPercent?: number; currency?: string } = {},
  ) {
    const created = await draft(token, customerId, items, extra)
    const { data, status, error } = await api(token).invoices({ id: created.id })['mark-as-sent'].post()
    if (error) throw new Error(`mark-as-sent: ${status} ${JSON.stringify(error.value)}`)
    return data!
  }

  async function invoice(token: string, id: string) {
    const { data, error, response } = await api(token).invoices({ id }).get()
    if (error) throw new Error(`get invoice: ${JSON.stringify(error.value)}`)
    return { ...data!, etag: response.headers.get('etag')! }
  }

  async function events(token: string, id: string) {
    const { data, error } = await api(token).invoices({ id }).events.get()
    if (error) throw new Error(`events: ${JSON.stringify(error.value)}`)
    return data!.data
  }

  const pay = (token: string, id: string, amount: number) =>
    api(token).invoices({ id }).payments.post({ amount })

  async function profile(token: string) {
    const { data } = await api(token).me.get()
    return data!.profile
  }

  async function credit(token: string, invoiceId: string, body: CreditNoteBody, headers: HeaderMap = {}) {
    const res = await t.request(`/api/v1/invoices/${invoiceId}/credit-notes`, {
      method: 'POST',
      token,
      json: body,
      headers,
    })
    return answer<CreditNote>(res)
  }

  /** A credit note that must be issued: fails the test with the error otherwise. */
  async function credited(token: string, invoiceId: string, body: CreditNoteBody, headers: HeaderMap = {}) {
    const res = await credit(token, invoiceId, body, headers)
    if (res.status !== 201) throw new Error(`credit note: ${res.status} ${JSON.stringify(res.error)}`)
    return res.data
  }

  async function note(token: string, id: string) {
    return answer<CreditNote>(await t.request(`/api/v1/credit-notes/${id}`, { token }))
  }

  async function list(token: string, query: Record<string, string | number> = {}) {
    const search = new URLSearchParams(
      Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
    )
    const qs = search.size > 0 ? `?${search}` : ''
    return answer<{ data: CreditNote[]; nextCursor: string | null }>(
      await t.request(`/api/v1/credit-notes${qs}`, { token }),
    )
  }

  /** The numbers a list answers, in its order (one page of up to 100). */
  async function numbers(token: string, query: Record<string, string | number> = {}) {
    const res = await list(token, { limit: 100, ...query })
    expect(res.status).toBe(200)
    return res.data.data.map((n) => n.number)
  }

  async function pdfLink(token: string, id: string) {
    return answer<{ url: string; expiresAt: string }>(
      await t.request(`/api/v1/credit-notes/${id}/pdf`, { token }),
    )
  }

  return {
    api,
    newUser,
    newCustomer,
    draft,
    issued,
    invoice,
    events,
    pay,
    profile,
    credit,
    credited,
    note,
    list,
    numbers,
    pdfLink,
  }
}

/** A line of the invoice by its description. */
export function lineOf<T extends { description: string }>(invoice: { items: T[] }, description: string): T {
  const line = invoice.items.find((i) => i.description === description)
  if (!line) throw new Error(`no line ${description}`)
  return line
}
