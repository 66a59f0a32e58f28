import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createTestApp, type TestApp } from '../helpers/app'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' }, { queue: true })
})
afterAll(() => t.close())

/**
 * A valid request for every route that names a resource, so that a 404 proves the ownership check rather than
 * a validation error. A route missing here fails the walk: a new route must join it.
 */
const REQUESTS: Record<
  string,
  { resource: 'customer' | 'invoice' | 'issued' | 'creditNote' | 'endpoint'; body?: unknown; query?: string }
> = {
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
  'GET /api/v1/invoices/:id/pdf': { resource: 'issued' },
  'POST /api/v1/invoices/:id/credit-notes': { resource: 'issued', body: { reason: 'other' } },
  'GET /api/v1/credit-notes/:id': { resource: 'creditNote' },
  'GET /api/v1/credit-notes/:id/pdf': { resource: 'creditNote' },
  'POST /api/v1/invoices/:id/hosted-link/rotate': { resource: 'issued' },
  'POST /api/v1/credit-notes/:id/hosted-link/rotate': { resource: 'creditNote' },
  'POST /api/v1/invoices/:id/send-email': { resource: 'issued', body: { to: ['intruder@example.com'] } },
  'GET /api/v1/invoices/:id/emails': { resource: 'issued' },
  'POST /api/v1/credit-notes/:id/send-email': {
    resource: 'creditNote',
    body: { to: ['intruder@example.com'] },
  },
  'GET /api/v1/credit-notes/:id/emails': { resource: 'creditNote' },
  'GET /api/v1/invoices/:id/e-invoice/check': { resource: 'invoice' },
  'GET /api/v1/invoices/:id/e-invoice': { resource: 'issued', query: '?format=ubl' },
  'GET /api/v1/credit-notes/:id/e-invoice': { resource: 'creditNote', query: '?format=xrechnung-cii' },
  'GET /api/v1/webhook-endpoints/:id': { resource: 'endpoint' },
  'PATCH /api/v1/webhook-endpoints/:id': { resource: 'endpoint', body: { description: 'Taken over' } },
  'DELETE /api/v1/webhook-endpoints/:id': { resource: 'endpoint' },
  'POST /api/v1/webhook-endpoints/:id/rotate-secret': { resource: 'endpoint' },
  'GET /api/v1/webhook-endpoints/:id/deliveries': { resource: 'endpoint' },
  'POST /api/v1/webhook-endpoints/:id/deliveries/:deliveryId/retry': { resource: 'endpoint' },
}

describe('isolation between users', () => {
  test("when another user's ids are used on every route and verb, then each answers 404 and nothing changes", async () => {
    const owner = await t.token()
    // An endpoint first, so that every change below has a delivery on it (nothing listens on the port).
    const endpoint = await t.request('/api/v1/webhook-endpoints', {
      method: 'POST',
      token: owner,
      json: { url: 'http://127.0.0.1:9/hooks', events: ['*'] },
    })
    expect(endpoint.status).toBe(201)
    const endpointId = ((await endpoint.json()) as { id: string }).id
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
    // An issued invoice with a partial credit note: the routes that need one must refuse for ownership alone.
    const issued = await t.request('/api/v1/invoices', {
      method: 'POST',
      token: owner,
      json: { customerId, items: [{ description: 'Issued work', quantity: 4, unitPrice: 2500, taxRate: 0 }] },
    })
    const issuedId = ((await issued.json()) as { id: string }).id
    const sent = await t.request(`/api/v1/invoices/${issuedId}/mark-as-sent`, {
      method: 'POST',
      token: owner,
    })
    const lineId = ((await sent.json()) as { items: { id: string }[] }).items[0]!.id
    const note = await t.request(`/api/v1/invoices/${issuedId}/credit-notes`, {
      method: 'POST',
      token: owner,
      json: { reason: 'order_change', items: [{ invoiceItemId: lineId, quantity: 1 }] },
    })
    expect(note.status).toBe(201)
    const creditNoteId = ((await note.json()) as { id: string }).id
    const ids = {
      customer: customerId,
      invoice: invoiceId,
      issued: issuedId,
      creditNote: creditNoteId,
      endpoint: endpointId,
    }
    const deliveries = await t.request(`/api/v1/webhook-endpoints/${endpointId}/deliveries`, { token: owner })
    const deliveryId = ((await deliveries.json()) as { data: { id: string }[] }).data[0]!.id
    const read = async () => ({
      customer: await (await t.request(`/api/v1/customers/${customerId}`, { token: owner })).text(),
      invoice: await (await t.request(`/api/v1/invoices/${invoiceId}`, { token: owner })).text(),
      issued: await (await t.request(`/api/v1/invoices/${issuedId}`, { token: owner })).text(),
      creditNote: await (await t.request(`/api/v1/credit-notes/${creditNoteId}`, { token: owner })).text(),
      emails: [
        await (await t.request(`/api/v1/invoices/${issuedId}/emails`, { token: owner })).text(),
        await (await t.request(`/api/v1/credit-notes/${creditNoteId}/emails`, { token: owner })).text(),
      ],
      creditNotes: await (await t.request('/api/v1/credit-notes', { token: owner })).text(),
      endpoint: await (await t.request(`/api/v1/webhook-endpoints/${endpointId}`, { token: owner })).text(),
      deliveries: (
        (await (
          await t.request(`/api/v1/webhook-endpoints/${endpointId}/deliveries`, { token: owner })
        ).json()) as { data: { id: string; status: string }[] }
      ).data.map((delivery) => `${delivery.id}:${delivery.status}`),
    })
    const before = await read()

    const intruder = await t.token()
    const routes = t.app.routes.filter((r) => r.path.startsWith('/api/') && r.path.includes(':id'))
    expect(routes.length).toBeGreaterThanOrEqual(8)
    for (const route of routes) {
      const key = `${route.method} ${route.path}`
      const spec = REQUESTS[key]
      expect({ route: key, covered: spec !== undefined }).toEqual({ route: key, covered: true })
      const id = ids[spec!.resource]
      const path = route.path.replace(':id', id).replace(':deliveryId', deliveryId) + (spec!.query ?? '')
      const res = await t.request(path, {
        method: route.method,
        token: intruder,
        ...(spec!.body === undefined ? {} : { json: spec!.body }),
      })
      expect({ route: key, status: res.status }).toEqual({ route: key, status: 404 })
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND')
    }

    expect(await read()).toEqual(before)
    for (const list of [
      '/api/v1/customers',
      '/api/v1/invoices',
      '/api/v1/credit-notes',
      '/api/v1/webhook-endpoints',
      '/api/v1/events',
      `/api/v1/credit-notes?invoiceId=${issuedId}`,
      `/api/v1/credit-notes?customerId=${customerId}`,
    ]) {
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
