import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createTestApp, type TestApp } from '../helpers/app'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

/**
 * A valid request for every route that names a resource, so that a 404 proves the ownership check rather than
 * a validation error. A route missing here fails the walk: a new route must join it.
 */
const REQUESTS: Record<string, { resource: 'customer' | 'invoice'; body?: unknown }> = {
  'GET /api/v1/customers/:id': { resource: 'customer' },
  'PATCH /api/v1/customers/:id': { resource: 'customer', body: { name: 'Taken over' } },
  'DELETE /api/v1/customers/:id': { resource: 'customer' },
  'GET /api/v1/invoices/:id': { resource: 'invoice' },
  'PATCH /api/v1/invoices/:id': { resource: 'invoice', body: { notes: 'Taken over' } },
  'DELETE /api/v1/invoices/:id': { resource: 'invoice' },
  'POST /api/v1/invoices/:id/void': { resource: 'invoice' },
  'POST /api/v1/invoices/:id/mark-as-sent': { resource: 'invoice' },
  'POST /api/v1/invoices/:id/payments': { resource: 'invoice', body: { amount: 1 } },
  'GET /api/v1/invoices/:id/events': { resource: 'invoice' },
  'GET /api/v1/invoices/:id/pdf': { resource: 'invoice' },
}

describe('isolation between users', () => {
  test("when another user's ids are used on every route and verb, then each answers 404 and nothing changes", async () => {
    const owner = await t.token()
    const customer = await t.request('/api/v1/customers', {
      method: 'POST',
      token: owner,
      json: { name: 'Owned Ltd', currency: 'EUR' },
    })
    const customerId = ((await customer.json()) as { id: string }).id
    const invoice = await t.request('/api/v1/invoices', {
      method: 'POST',
      token: owner,
      json: { customerId, items: [{ description: 'Owned work', quantity: 1, unitPrice: 1000, taxRate: 0 }] },
    })
    const invoiceId = ((await invoice.json()) as { id: string }).id
    const before = {
      customer: await (await t.request(`/api/v1/customers/${customerId}`, { token: owner })).text(),
      invoice: await (await t.request(`/api/v1/invoices/${invoiceId}`, { token: owner })).text(),
    }

    const intruder = await t.token()
    const routes = t.app.routes.filter((r) => r.path.startsWith('/api/') && r.path.includes(':id'))
    expect(routes.length).toBeGreaterThanOrEqual(8)
    for (const route of routes) {
      const key = `${route.method} ${route.path}`
      const spec = REQUESTS[key]
      expect({ route: key, covered: spec !== undefined }).toEqual({ route: key, covered: true })
      const id = spec!.resource === 'customer' ? customerId : invoiceId
      const res = await t.request(route.path.replace(':id', id), {
        method: route.method,
        token: intruder,
        ...(spec!.body === undefined ? {} : { json: spec!.body }),
      })
      expect({ route: key, status: res.status }).toEqual({ route: key, status: 404 })
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND')
    }

    expect(await (await t.request(`/api/v1/customers/${customerId}`, { token: owner })).text()).toBe(
      before.customer,
    )
    expect(await (await t.request(`/api/v1/invoices/${invoiceId}`, { token: owner })).text()).toBe(
      before.invoice,
    )
    for (const list of ['/api/v1/customers', '/api/v1/invoices']) {
      const page = (await (await t.request(list, { token: intruder })).json()) as { data: unknown[] }
      expect({ list, rows: page.data.length }).toEqual({ list, rows: 0 })
    }
  })

  test("when a body references another user's customer, then it is refused like a missing one", async () => {
    const owner = await t.token()
    const res = await t.request('/api/v1/customers', {
      method: 'POST',
      token: owner,
      json: { name: 'Theirs' },
    })
    const theirs = ((await res.json()) as { id: string }).id
    const intruder = await t.token()
    const attempt = await t.request('/api/v1/invoices', {
      method: 'POST',
      token: intruder,
      json: { customerId: theirs, currency: 'EUR' },
    })
    expect(attempt.status).toBe(400)
    const missing = await t.request('/api/v1/invoices', {
      method: 'POST',
      token: intruder,
      json: { customerId: crypto.randomUUID(), currency: 'EUR' },
    })
    expect(await attempt.json()).toMatchObject({ error: { code: 'VALIDATION_ERROR' } })
    expect(((await missing.json()) as { error: { details: unknown } }).error.details).toEqual(
      (
        (await (
          await t.request('/api/v1/invoices', {
            method: 'POST',
            token: intruder,
            json: { customerId: theirs, currency: 'EUR' },
          })
        ).json()) as { error: { details: unknown } }
      ).error.details,
    )
  })
})
