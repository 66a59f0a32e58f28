import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { crossTenant } from '../../src/lib/db'
import { announceOverdue } from '../../src/modules/invoices/overdue'
import { createOutbox } from '../../src/modules/webhooks/outbox'
import { createTestApp, type TestApp } from '../helpers/app'
import { testDatabaseUrl } from '../helpers/database'
import { dayIn } from '../helpers/invoice-factory'

// Servers, queues and receivers take seconds on a busy 2-core machine (tests/setup.ts: a preload's default
// timeout reaches only the first file).
setDefaultTimeout(30_000)

// The webhook API without delivery (API.md "Webhooks"): endpoints and their secrets, the deliveries list and
// manual retry, the event log, and every event type written by the change that writes it, with the resource
// exactly as the API answered that change. No workers run here: deliveries stay as the outbox wrote them.

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' }, { queue: true })
})
afterAll(async () => {
  // Nothing here is meant to be delivered: the endpoints go (their deliveries with them), so that a worker of
  // another test file in this run finds nothing of ours to send.
  await crossTenant(t.deps.database.db)
    .deleteFrom('webhook_endpoints')
    .where('url', 'like', '%/api-tests/%')
    .execute()
  await t.close()
})

type Body = Record<string, unknown>
interface Answer<T = Body> {
  status: number
  headers: Headers
  body: T
}
interface ErrorBody {
  error: { code: string; message: string; details?: { path: string; message: string }[] }
}
interface Endpoint {
  id: string
  url: string
  events: string[]
  description: string | null
  enabled: boolean
  createdAt: string
  secret?: string
}
interface Delivery {
  id: string
  eventId: string
  eventType: string
  status: string
  attempts: number
  lastAttemptAt: string | null
  nextAttemptAt: string | null
  lastStatusCode: number | null
  lastError: string | null
}
interface EventItem {
  id: string
  type: string
  createdAt: string
  data: { object: Body }
}
interface Page<T> {
  data: T[]
  nextCursor: string | null
}

/** A public address that is never contacted (no workers here), in the path a marker for the clean-up. */
const HOOK = 'https://93.184.215.14/api-tests'
const ENDPOINTS = '/api/v1/webhook-endpoints'

async function call<T = Body>(
  token: string,
  method: string,
  path: string,
  json?: unknown,
  headers: Record<string, string> = {},
  app: TestApp = t,
): Promise<Answer<T>> {
  const res = await app.request(path, { method, token, headers, ...(json === undefined ? {} : { json }) })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T }
}

/** The body of a 2xx answer, failing the test with the error otherwise. */
function ok<T>(answer: Answer<unknown>, status = 200): T {
  if (answer.status !== status) {
    throw new Error(`expected ${status}, got ${answer.status}: ${JSON.stringify(answer.body).slice(0, 500)}`)
  }
  return answer.body as T
}

const errorOf = (answer: Answer<unknown>) => ({
  status: answer.status,
  code: (answer.body as ErrorBody | undefined)?.error?.code,
  paths: ((answer.body as ErrorBody | undefined)?.error?.details ?? []).map((d) => d.path),
})

async function newUser(profile: Body = { defaultCurrency: 'EUR', companyName: 'Seller GmbH' }) {
  const token = await t.token()
  ok(await call(token, 'PATCH', '/api/v1/me', profile))
  return token
}

const createEndpoint = (token: string, body: Body, headers: Record<string, string> = {}, app = t) =>
  call<Endpoint>(token, 'POST', ENDPOINTS, body, headers, app)

async function endpoint(token: string, events: string[] = ['*'], extra: Body = {}) {
  const answer = await createEndpoint(token, { url: `${HOOK}/${crypto.randomUUID()}`, events, ...extra })
  return { endpoint: ok<Endpoint>(answer, 201), etag: answer.headers.get('etag')! }
}

/** Every event of the user, oldest first (the log answers newest first; all pages are walked). */
async function allEvents(token: string, type?: string): Promise<EventItem[]> {
  const events: EventItem[] = []
  let cursor: string | null = null
  do {
    const query = new URLSearchParams({ limit: '100' })
    if (type) query.set('type', type)
    if (cursor) query.set('cursor', cursor)
    const page: Page<EventItem> = ok(await call(token, 'GET', `/api/v1/events?${query}`))
    events.push(...page.data)
    cursor = page.nextCursor
  } while (cursor)
  return events.reverse()
}

/** The events a step writes: runs it, and answers what it added to the log, oldest first. */
async function eventsOf<T>(
  token: string,
  step: () => Promise<T>,
): Promise<{ result: T; events: EventItem[] }> {
  const before = new Set((await allEvents(token)).map((e) => e.id))
  const result = await step()
  const events = (await allEvents(token)).filter((e) => !before.has(e.id))
  return { result, events }
}

const types = (events: EventItem[]) => events.map((e) => e.type)

async function newCustomer(token: string, body: Body = { name: 'Ada Lovelace', email: 'ada@example.com' }) {
  return ok<Body & { id: string }>(await call(token, 'POST', '/api/v1/customers', body), 201)
}

const item = (unitPrice: number, description = 'Consulting') => ({
  description,
  quantity: 1,
  unitPrice,
  taxRate: 0,
})

async function newDraft(token: string, customerId: string, extra: Body = {}) {
  return ok<Body & { id: string; items: { id: string }[] }>(
    await call(token, 'POST', '/api/v1/invoices', { customerId, items: [item(10_000)], ...extra }),
    201,
  )
}

const send = (token: string, id: string) => call(token, 'POST', `/api/v1/invoices/${id}/mark-as-sent`)
const getInvoice = async (token: string, id: string) =>
  ok<Body>(await call(token, 'GET', `/api/v1/invoices/${id}`))
const pay = (token: string, id: string, amount: number) =>
  call(token, 'POST', `/api/v1/invoices/${id}/payments`, { amount, method: 'bank_transfer' })

async function sentInvoice(token: string, extra: Body = {}) {
  const customer = await newCustomer(token)
  const draft = await newDraft(token, customer.id, extra)
  return ok<Body & { id: string; items: { id: string }[] }>(await send(token, draft.id))
}

// --------------------------------------------------------------------------------------------------------------

describe('webhook endpoints', () => {
  test('when an endpoint is created, then 201 with Location, ETag and its secret; GET, list and PATCH never show the secret', async () => {
    const token = await newUser()
    const url = `${HOOK}/crud`
    const created = await createEndpoint(token, {
      url,
      events: ['invoice.paid', 'credit_note.created'],
      description: '  Accounting sync  ',
    })
    const body = ok<Endpoint>(created, 201)
    expect(body).toEqual({
      id: expect.any(String),
      url,
      events: ['invoice.paid', 'credit_note.created'],
      description: 'Accounting sync',
      enabled: true,
      createdAt: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]+={0,2}$/),
    })
    expect(Buffer.from(body.secret!.slice('whsec_'.length), 'base64')).toHaveLength(32)
    expect(created.headers.get('location')).toBe(`${ENDPOINTS}/${body.id}`)
    const etag = created.headers.get('etag')
    expect(etag).toMatch(/^"/)

    const { secret: _, ...shown } = body
    const got = await call<Endpoint>(token, 'GET', `${ENDPOINTS}/${body.id}`)
    expect(ok(got)).toEqual(shown)
    expect(got.headers.get('etag')).toBe(etag)
    expect(ok<Page<Endpoint>>(await call(token, 'GET', ENDPOINTS)).data).toEqual([shown])

    const patched = await call<Endpoint>(
      token,
      'PATCH',
      `${ENDPOINTS}/${body.id}`,
      { enabled: false },
      {
        'if-match': etag!,
      },
    )
    expect(ok(patched)).toEqual({ ...shown, enabled: false })
    expect(patched.headers.get('etag')).not.toBe(etag)
    expect(JSON.stringify(patched.body)).not.toContain('whsec_')
  })

  test('when If-Match is stale, then PATCH, DELETE and rotate-secret answer 412 and change nothing; with the current ETag they work', async () => {
    const token = await newUser()
    const { endpoint: ep, etag } = await endpoint(token, ['customer.created'])
    const path = `${ENDPOINTS}/${ep.id}`
    const renamed = await call(token, 'PATCH', path, { description: 'v2' }, { 'if-match': etag })
    expect(ok<Endpoint>(renamed).description).toBe('v2')
    const current = renamed.headers.get('etag')!

    expect(
      errorOf(await call(token, 'PATCH', path, { description: 'v3' }, { 'if-match': etag })),
    ).toMatchObject({
      status: 412,
      code: 'PRECONDITION_FAILED',
    })
    expect(
      errorOf(await call(token, 'POST', `${path}/rotate-secret`, undefined, { 'if-match': etag })),
    ).toMatchObject({
      status: 412,
    })
    expect(errorOf(await call(token, 'DELETE', path, undefined, { 'if-match': etag }))).toMatchObject({
      status: 412,
    })
    const still = await call<Endpoint>(token, 'GET', path)
    expect(ok<Endpoint>(still).description).toBe('v2')
    expect(still.headers.get('etag')).toBe(current)

    const removed = await call(token, 'DELETE', path, undefined, { 'if-match': current })
    expect(removed.status).toBe(204)
    expect(errorOf(await call(token, 'GET', path))).toMatchObject({ status: 404, code: 'NOT_FOUND' })
    expect(errorOf(await call(token, 'DELETE', path))).toMatchObject({ status: 404 })
  })

  test('when the secret is rotated, then a new whsec_ secret is answered once with a new ETag, and GET still hides it', async () => {
    const token = await newUser()
    const { endpoint: ep, etag } = await endpoint(token)
    const rotated = await call<Endpoint>(token, 'POST', `${ENDPOINTS}/${ep.id}/rotate-secret`, undefined, {
      'if-match': etag,
    })
    const body = ok<Endpoint>(rotated)
    expect(body.secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/)
    expect(body.secret).not.toBe(ep.secret)
    expect({ ...body, secret: undefined }).toEqual({ ...ep, secret: undefined })
    expect(rotated.headers.get('etag')).not.toBe(etag)
    expect(ok<Endpoint>(await call(token, 'GET', `${ENDPOINTS}/${ep.id}`)).secret).toBeUndefined()

    // A replay with the same Idempotency-Key answers the same secret, without rotating again.
    const key = { 'idempotency-key': `rotate-${ep.id}` }
    const first = ok<Endpoint>(
      await call(token, 'POST', `${ENDPOINTS}/${ep.id}/rotate-secret`, undefined, key),
    )
    const replay = await call<Endpoint>(token, 'POST', `${ENDPOINTS}/${ep.id}/rotate-secret`, undefined, key)
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
    expect(ok<Endpoint>(replay).secret).toBe(first.secret!)
    const row = await crossTenant(t.deps.database.db)
      .selectFrom('webhook_endpoints')
      .select(['secret', 'previous_secret'])
      .where('id', '=', ep.id)
      .executeTakeFirstOrThrow()
    expect(row).toEqual({ secret: first.secret!, previous_secret: body.secret! })
  })

  test('when events are `["*"]` alone they are accepted; `*` among others, an unknown type, none or a repeat are 400 naming /events', async () => {
    const token = await newUser()
    expect((await endpoint(token, ['*'])).endpoint.events).toEqual(['*'])
    const refused = async (events: unknown) =>
      errorOf(await createEndpoint(token, { url: `${HOOK}/events`, events }))
    for (const events of [
      ['*', 'invoice.paid'],
      ['invoice.refunded'],
      ['customer.*'],
      [],
      ['invoice.paid', 'invoice.paid'],
    ]) {
      const error = await refused(events)
      expect(error).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' })
      expect(error.paths.some((path) => path.startsWith('/events'))).toBe(true)
    }
    expect((await refused('invoice.paid')).status).toBe(400)
    const { endpoint: ep, etag } = await endpoint(token, ['invoice.paid'])
    const patched = await call(
      token,
      'PATCH',
      `${ENDPOINTS}/${ep.id}`,
      { events: ['invoice.nope'] },
      { 'if-match': etag },
    )
    expect(errorOf(patched)).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' })
  })

  test('when a URL is not a URL, has credentials, or is not http(s), then 400 naming /url', async () => {
    const token = await newUser()
    for (const url of ['not a url', 'ftp://93.184.215.14/x', 'https://user:pass@93.184.215.14/x', '']) {
      const error = errorOf(await createEndpoint(token, { url, events: ['*'] }))
      expect(error).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' })
      expect(error.paths).toContain('/url')
    }
  })

  test('when the user has 16 endpoints, then the 17th gets 422 LIMIT_EXCEEDED; after a delete one fits again', async () => {
    const token = await newUser()
    const made: { endpoint: Endpoint; etag: string }[] = []
    for (let i = 0; i < 16; i++) made.push(await endpoint(token, ['customer.created']))
    expect(errorOf(await createEndpoint(token, { url: `${HOOK}/17`, events: ['*'] }))).toMatchObject({
      status: 422,
      code: 'LIMIT_EXCEEDED',
    })
    // Listed newest first.
    expect(ok<Page<Endpoint>>(await call(token, 'GET', ENDPOINTS)).data.map((e) => e.id)).toEqual(
      made.map((m) => m.endpoint.id).reverse(),
    )
    // The limit is per user.
    expect((await createEndpoint(await newUser(), { url: `${HOOK}/other`, events: ['*'] })).status).toBe(201)
    const first = made[0]!
    expect((await call(token, 'DELETE', `${ENDPOINTS}/${first.endpoint.id}`)).status).toBe(204)
    expect((await createEndpoint(token, { url: `${HOOK}/17`, events: ['*'] })).status).toBe(201)
  })

  test('when 20 endpoints are created at once, then exactly 16 exist and the other 4 got LIMIT_EXCEEDED', async () => {
    const token = await newUser()
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        createEndpoint(token, { url: `${HOOK}/race-${i}`, events: ['*'] }),
      ),
    )
    const statuses = answers.map((a) => a.status).sort()
    expect(statuses).toEqual([...Array(16).fill(201), ...Array(4).fill(422)])
    expect(answers.filter((a) => a.status === 422).map((a) => errorOf(a).code)).toEqual(
      Array(4).fill('LIMIT_EXCEEDED'),
    )
    expect(ok<Page<Endpoint>>(await call(token, 'GET', ENDPOINTS)).data).toHaveLength(16)
  })

  test('when another user asks for an endpoint, its deliveries, or changes it, then 404 as for a missing one', async () => {
    const owner = await newUser()
    const { endpoint: ep } = await endpoint(owner)
    await newCustomer(owner)
    const delivery = ok<Page<Delivery>>(await call(owner, 'GET', `${ENDPOINTS}/${ep.id}/deliveries`)).data[0]!
    const other = await newUser()
    const path = `${ENDPOINTS}/${ep.id}`
    for (const [method, p, json] of [
      ['GET', path, undefined],
      ['PATCH', path, { enabled: false }],
      ['DELETE', path, undefined],
      ['POST', `${path}/rotate-secret`, undefined],
      ['GET', `${path}/deliveries`, undefined],
      ['POST', `${path}/deliveries/${delivery.id}/retry`, undefined],
    ] as const) {
      expect(errorOf(await call(other, method, p, json))).toMatchObject({ status: 404, code: 'NOT_FOUND' })
    }
    expect(ok<Page<Endpoint>>(await call(other, 'GET', ENDPOINTS)).data).toEqual([])
    expect(ok<Page<EventItem>>(await call(other, 'GET', '/api/v1/events')).data).toEqual([])
    expect(ok<Endpoint>(await call(owner, 'GET', path)).enabled).toBe(true)
  })
})

describe('deliveries', () => {
  test('when events happen, then each listening endpoint gets a pending delivery per event, newest first, with a cursor', async () => {
    const token = await newUser()
    const { endpoint: all } = await endpoint(token, ['customer.created'])
    const { endpoint: paidOnly } = await endpoint(token, ['invoice.paid'])
    const { endpoint: disabled } = await endpoint(token, ['*'], { enabled: false })
    for (const name of ['First', 'Second', 'Third']) await newCustomer(token, { name })
    const events = await allEvents(token, 'customer.created')
    expect(events).toHaveLength(3)

    const first = ok<Page<Delivery>>(await call(token, 'GET', `${ENDPOINTS}/${all.id}/deliveries?limit=2`))
    expect(first.data).toHaveLength(2)
    expect(first.nextCursor).toEqual(expect.any(String))
    const second = ok<Page<Delivery>>(
      await call(
        token,
        'GET',
        `${ENDPOINTS}/${all.id}/deliveries?limit=2&cursor=${encodeURIComponent(first.nextCursor!)}`,
      ),
    )
    expect(second.nextCursor).toBeNull()
    const deliveries = [...first.data, ...second.data]
    expect(deliveries.map((d) => d.eventId)).toEqual(events.map((e) => e.id).reverse())
    for (const d of deliveries) {
      expect(d).toEqual({
        id: expect.any(String),
        eventId: expect.any(String),
        eventType: 'customer.created',
        status: 'pending',
        attempts: 0,
        lastAttemptAt: null,
        nextAttemptAt: expect.any(String),
        lastStatusCode: null,
        lastError: null,
      })
    }
    expect(
      ok<Page<Delivery>>(await call(token, 'GET', `${ENDPOINTS}/${paidOnly.id}/deliveries`)).data,
    ).toEqual([])
    expect(
      ok<Page<Delivery>>(await call(token, 'GET', `${ENDPOINTS}/${disabled.id}/deliveries`)).data,
    ).toEqual([])
    expect(errorOf(await call(token, 'GET', `${ENDPOINTS}/${all.id}/deliveries?cursor=bogus`))).toMatchObject(
      {
        status: 400,
        code: 'VALIDATION_ERROR',
      },
    )
  })

  test('when a delivery is retried by hand, then 202 with the delivery pending; an unknown delivery is 404', async () => {
    const token = await newUser()
    const { endpoint: ep } = await endpoint(token)
    await newCustomer(token)
    const [delivery] = ok<Page<Delivery>>(await call(token, 'GET', `${ENDPOINTS}/${ep.id}/deliveries`)).data
    const retried = await call(token, 'POST', `${ENDPOINTS}/${ep.id}/deliveries/${delivery!.id}/retry`)
    expect(ok(retried, 202)).toEqual({ id: delivery!.id, status: 'pending' })
    const missing = await call(token, 'POST', `${ENDPOINTS}/${ep.id}/deliveries/${crypto.randomUUID()}/retry`)
    expect(errorOf(missing)).toMatchObject({ status: 404, code: 'NOT_FOUND' })
    // A delivery of another endpoint of the same user is not this endpoint's.
    const { endpoint: second } = await endpoint(token)
    const wrongEndpoint = await call(
      token,
      'POST',
      `${ENDPOINTS}/${second.id}/deliveries/${delivery!.id}/retry`,
    )
    expect(errorOf(wrongEndpoint)).toMatchObject({ status: 404 })
  })

  test('when an endpoint is deleted, then its deliveries go with it and later events do not reach it', async () => {
    const token = await newUser()
    const { endpoint: ep } = await endpoint(token)
    await newCustomer(token)
    expect((await call(token, 'DELETE', `${ENDPOINTS}/${ep.id}`)).status).toBe(204)
    await newCustomer(token)
    const rows = await crossTenant(t.deps.database.db)
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('endpoint_id', '=', ep.id)
      .execute()
    expect(rows).toEqual([])
  })
})

describe('the event log', () => {
  test('when listed, then newest first, filtered by type, paged by cursor, each event as API.md shapes it', async () => {
    const token = await newUser()
    const customers = []
    for (let i = 0; i < 5; i++) customers.push(await newCustomer(token, { name: `Customer ${i}` }))
    await newDraft(token, customers[0]!.id)

    const page1 = ok<Page<EventItem>>(
      await call(token, 'GET', '/api/v1/events?type=customer.created&limit=2'),
    )
    const page2 = ok<Page<EventItem>>(
      await call(
        token,
        'GET',
        `/api/v1/events?type=customer.created&limit=2&cursor=${encodeURIComponent(page1.nextCursor!)}`,
      ),
    )
    const page3 = ok<Page<EventItem>>(
      await call(
        token,
        'GET',
        `/api/v1/events?type=customer.created&limit=2&cursor=${encodeURIComponent(page2.nextCursor!)}`,
      ),
    )
    expect(page3.nextCursor).toBeNull()
    const listed = [...page1.data, ...page2.data, ...page3.data]
    expect(listed.map((e) => e.data.object['id'])).toEqual(customers.map((c) => c.id).reverse())
    expect(new Set(listed.map((e) => e.type))).toEqual(new Set(['customer.created']))
    for (const event of listed) {
      expect(Object.keys(event).sort()).toEqual(['createdAt', 'data', 'id', 'type'])
      expect(Object.keys(event.data)).toEqual(['object'])
      expect(Date.parse(event.createdAt)).toBeGreaterThan(Date.now() - 60_000)
    }
    const everything = ok<Page<EventItem>>(await call(token, 'GET', '/api/v1/events'))
    expect(types(everything.data)).toEqual(['invoice.created', ...Array(5).fill('customer.created')])

    expect(errorOf(await call(token, 'GET', '/api/v1/events?type=invoice.nope'))).toMatchObject({
      status: 400,
    })
    expect(errorOf(await call(token, 'GET', '/api/v1/events?cursor=abc'))).toMatchObject({
      status: 400,
      code: 'VALIDATION_ERROR',
    })
  })
})

// --------------------------------------------------------------------------------------------------------------

describe('events written by each change', () => {
  test('when a customer is created, updated and deleted, then customer.created/updated/deleted carry the answers, the last with "deleted": true', async () => {
    const token = await newUser()
    const created = await eventsOf(token, async () =>
      newCustomer(token, { name: 'Grace Hopper', currency: 'USD' }),
    )
    expect(types(created.events)).toEqual(['customer.created'])
    expect(created.events[0]!.data.object).toEqual(created.result)

    const id = created.result.id
    const updated = await eventsOf(token, async () =>
      ok<Body>(await call(token, 'PATCH', `/api/v1/customers/${id}`, { email: 'grace@example.com' })),
    )
    expect(types(updated.events)).toEqual(['customer.updated'])
    expect(updated.events[0]!.data.object).toEqual(updated.result)

    const last = ok<Body>(await call(token, 'GET', `/api/v1/customers/${id}`))
    const deleted = await eventsOf(token, async () => call(token, 'DELETE', `/api/v1/customers/${id}`))
    expect(deleted.result.status).toBe(204)
    expect(types(deleted.events)).toEqual(['customer.deleted'])
    expect(deleted.events[0]!.data.object).toEqual({ ...last, deleted: true })
  })

  test('when a draft is created, updated and deleted, then invoice.created/updated/deleted carry the answers, the last with "deleted": true', async () => {
    const token = await newUser()
    const customer = await newCustomer(token)
    const created = await eventsOf(token, () => newDraft(token, customer.id))
    expect(types(created.events)).toEqual(['invoice.created'])
    expect(created.events[0]!.data.object).toEqual(created.result)

    const id = created.result.id
    const updated = await eventsOf(token, async () =>
      ok<Body>(
        await call(token, 'PATCH', `/api/v1/invoices/${id}`, {
          notes: 'Net 30',
          items: [item(5_000), item(7_000)],
        }),
      ),
    )
    expect(types(updated.events)).toEqual(['invoice.updated'])
    expect(updated.events[0]!.data.object).toEqual(updated.result)

    const last = await getInvoice(token, id)
    const deleted = await eventsOf(token, () => call(token, 'DELETE', `/api/v1/invoices/${id}`))
    expect(deleted.result.status).toBe(204)
    expect(types(deleted.events)).toEqual(['invoice.deleted'])
    expect(deleted.events[0]!.data.object).toEqual({ ...last, deleted: true })
  })

  test('when an invoice is sent, paid in part and then in full, then invoice.sent, payment.created (with invoiceId), invoice.partially_paid, payment.created, invoice.paid', async () => {
    const token = await newUser()
    const customer = await newCustomer(token)
    const draft = await newDraft(token, customer.id)
    const sent = await eventsOf(token, async () => ok<Body>(await send(token, draft.id)))
    expect(types(sent.events)).toEqual(['invoice.sent'])
    expect(sent.events[0]!.data.object).toEqual(sent.result)
    expect(sent.result['status']).toBe('sent')

    const part = await eventsOf(token, async () => ok<Body>(await pay(token, draft.id, 4_000), 201))
    expect(types(part.events)).toEqual(['payment.created', 'invoice.partially_paid'])
    expect(part.events[0]!.data.object).toEqual(part.result)
    expect(part.result['invoiceId']).toBe(draft.id)
    const afterPart = await getInvoice(token, draft.id)
    expect(part.events[1]!.data.object).toEqual(afterPart)
    expect(afterPart['status']).toBe('partially_paid')

    const rest = await eventsOf(token, async () => ok<Body>(await pay(token, draft.id, 6_000), 201))
    expect(types(rest.events)).toEqual(['payment.created', 'invoice.paid'])
    expect(rest.events[0]!.data.object).toEqual(rest.result)
    expect(rest.events[1]!.data.object).toEqual(await getInvoice(token, draft.id))
    expect(rest.events[1]!.data.object['status']).toBe('paid')
  })

  test('when a sent invoice is voided, then invoice.voided carries the answer', async () => {
    const token = await newUser()
    const invoice = await sentInvoice(token)
    const voided = await eventsOf(token, async () =>
      ok<Body>(await call(token, 'POST', `/api/v1/invoices/${invoice.id}/void`)),
    )
    expect(types(voided.events)).toEqual(['invoice.voided'])
    expect(voided.events[0]!.data.object).toEqual(voided.result)
    expect(voided.result['status']).toBe('void')
  })

  test('when a credit note is issued, then credit_note.created carries it; crediting everything writes invoice.credited', async () => {
    const token = await newUser()
    const invoice = await sentInvoice(token)
    const credited = await eventsOf(token, async () =>
      ok<Body>(
        await call(token, 'POST', `/api/v1/invoices/${invoice.id}/credit-notes`, { reason: 'duplicate' }),
        201,
      ),
    )
    expect(types(credited.events)).toEqual(['credit_note.created', 'invoice.credited'])
    expect(credited.events[0]!.data.object).toEqual(credited.result)
    const after = await getInvoice(token, invoice.id)
    expect(after['status']).toBe('credited')
    expect(credited.events[1]!.data.object).toEqual(after)
  })

  test('when a credit note settles what a payment left due, then the credit note writes invoice.paid', async () => {
    const token = await newUser()
    const customer = await newCustomer(token)
    const draft = await newDraft(token, customer.id, { items: [item(6_000, 'Design'), item(4_000, 'Build')] })
    const invoice = ok<Body & { id: string; items: { id: string; description: string }[] }>(
      await send(token, draft.id),
    )
    ok(await pay(token, invoice.id, 6_000), 201)
    const build = invoice.items.find((line) => line.description === 'Build')!
    const settled = await eventsOf(token, async () =>
      ok<Body>(
        await call(token, 'POST', `/api/v1/invoices/${invoice.id}/credit-notes`, {
          reason: 'order_change',
          items: [{ invoiceItemId: build.id, quantity: 1 }],
        }),
        201,
      ),
    )
    expect(types(settled.events)).toEqual(['credit_note.created', 'invoice.paid'])
    const after = await getInvoice(token, invoice.id)
    expect(after).toMatchObject({ status: 'paid', amountDue: 0, creditedTotal: 4_000 })
    expect(settled.events[1]!.data.object).toEqual(after)
  })

  test('when a zero-total draft is sent, then invoice.sent and then invoice.paid, both the answer', async () => {
    const token = await newUser()
    const customer = await newCustomer(token)
    const draft = await newDraft(token, customer.id, { items: [item(0, 'Free trial')] })
    const sent = await eventsOf(token, async () => ok<Body>(await send(token, draft.id)))
    expect(sent.result['status']).toBe('paid')
    expect(types(sent.events)).toEqual(['invoice.sent', 'invoice.paid'])
    for (const event of sent.events) expect(event.data.object).toEqual(sent.result)
  })

  test('when an invoice’s due date has passed in the profile’s zone, then the overdue announcement writes invoice.overdue once, even run twice or at once', async () => {
    // Kiritimati is UTC+14 and Pago Pago UTC−11: a date that is yesterday in Kiritimati is today or tomorrow
    // in Pago Pago, whatever the hour, so the same due date is past for one user and not for the other.
    const ahead = await newUser({ defaultCurrency: 'EUR', timezone: 'Pacific/Kiritimati' })
    const behind = await newUser({ defaultCurrency: 'EUR', timezone: 'Pacific/Pago_Pago' })
    const due = dayIn('Pacific/Kiritimati', -1)
    const dated = { issueDate: due, dueDate: due }
    const overdue = await sentInvoice(ahead, dated)
    const notYet = await sentInvoice(behind, dated)
    const future = await sentInvoice(ahead, {
      issueDate: dayIn('Pacific/Kiritimati'),
      dueDate: dayIn('Pacific/Kiritimati'),
    })
    expect((await getInvoice(ahead, overdue.id))['isOverdue']).toBe(true)
    expect((await getInvoice(behind, notYet.id))['isOverdue']).toBe(false)

    const outbox = createOutbox(t.deps.jobs)
    const db = t.deps.database.db
    await announceOverdue(db, outbox)
    await Promise.all([announceOverdue(db, outbox), announceOverdue(db, outbox)])
    await announceOverdue(db, outbox)

    const announced = await allEvents(ahead, 'invoice.overdue')
    expect(announced.map((e) => e.data.object['id'])).toEqual([overdue.id])
    expect(announced[0]!.data.object).toEqual(await getInvoice(ahead, overdue.id))
    expect(announced[0]!.data.object['isOverdue']).toBe(true)
    expect(await allEvents(behind, 'invoice.overdue')).toEqual([])
    expect((await getInvoice(ahead, future.id))['isOverdue']).toBe(false)

    // Paid in full, an overdue invoice is not announced again; a draft is never announced.
    ok(await pay(ahead, overdue.id, 10_000), 201)
    const customer = await newCustomer(ahead)
    await newDraft(ahead, customer.id, dated)
    await announceOverdue(db, outbox)
    expect(await allEvents(ahead, 'invoice.overdue')).toHaveLength(1)
  })

  test('when a change is refused (400, 404, 409, 412, 422), then no event is written', async () => {
    const token = await newUser()
    const customer = await newCustomer(token)
    const invoice = await sentInvoice(token)
    const draft = await newDraft(token, customer.id)
    const etag = (await call(token, 'GET', `/api/v1/customers/${customer.id}`)).headers.get('etag')!
    ok(await call(token, 'PATCH', `/api/v1/customers/${customer.id}`, { notes: 'moves the ETag on' }))

    const refusals = await eventsOf(token, async () => [
      await call(token, 'PATCH', `/api/v1/invoices/${invoice.id}`, { notes: 'too late' }),
      await call(token, 'DELETE', `/api/v1/invoices/${invoice.id}`),
      await call(token, 'DELETE', `/api/v1/customers/${customer.id}`),
      await pay(token, invoice.id, 10_001),
      await call(token, 'PATCH', `/api/v1/customers/${customer.id}`, { name: 'Stale' }, { 'if-match': etag }),
      await call(token, 'POST', `/api/v1/invoices/${draft.id}/void`),
      await call(token, 'POST', `/api/v1/invoices/${draft.id}/payments`, { amount: 1 }),
      await call(token, 'POST', '/api/v1/customers', { name: '' }),
      await call(token, 'POST', `/api/v1/invoices/${crypto.randomUUID()}/mark-as-sent`),
      await call(token, 'POST', `/api/v1/invoices/${invoice.id}/credit-notes`, {
        reason: 'other',
        items: [{ invoiceItemId: invoice.items[0]!.id, quantity: 2 }],
      }),
    ])
    expect(refusals.result.map((a) => a.status)).toEqual([409, 409, 409, 422, 412, 409, 409, 400, 404, 422])
    expect(refusals.events).toEqual([])
  })

  test('when storing the PDF fails, then mark-as-sent answers 502 and writes no event; the retry writes invoice.sent once', async () => {
    const token = await newUser()
    const customer = await newCustomer(token)
    const draft = await newDraft(token, customer.id)
    // The object store fails on this app only for the call below.
    const storage = t.deps.storage as unknown as { put: (...args: unknown[]) => Promise<unknown> }
    const put = storage.put
    storage.put = () => Promise.reject(new Error('object store unreachable'))
    let failed: { result: Answer; events: EventItem[] }
    try {
      failed = await eventsOf(token, () => send(token, draft.id))
    } finally {
      storage.put = put
    }
    expect(errorOf(failed.result)).toMatchObject({ status: 502, code: 'PDF_GENERATION_FAILED' })
    expect(failed.events).toEqual([])
    const retried = await eventsOf(token, async () => ok<Body>(await send(token, draft.id)))
    expect(types(retried.events)).toEqual(['invoice.sent'])
  })

  test('when a create is replayed with its Idempotency-Key, then its event is not written again', async () => {
    const token = await newUser()
    const headers = { 'idempotency-key': `customer-${crypto.randomUUID()}` }
    const replayed = await eventsOf(token, async () => {
      const first = await call(token, 'POST', '/api/v1/customers', { name: 'Once' }, headers)
      const second = await call(token, 'POST', '/api/v1/customers', { name: 'Once' }, headers)
      return [first, second]
    })
    expect(replayed.result.map((a) => a.status)).toEqual([201, 201])
    expect(replayed.result[1]!.headers.get('idempotent-replayed')).toBe('true')
    expect(types(replayed.events)).toEqual(['customer.created'])
  })

  test('when an event is written, then each listening endpoint has a delivery in the same transaction, and one that is not listening has none', async () => {
    const token = await newUser()
    const { endpoint: paid } = await endpoint(token, ['invoice.paid', 'payment.created'])
    const { endpoint: sentOnly } = await endpoint(token, ['invoice.sent'])
    const invoice = await sentInvoice(token)
    ok(await pay(token, invoice.id, 10_000), 201)
    const list = async (id: string) =>
      ok<Page<Delivery>>(await call(token, 'GET', `${ENDPOINTS}/${id}/deliveries`)).data.map(
        (d) => d.eventType,
      )
    expect((await list(paid.id)).sort()).toEqual(['invoice.paid', 'payment.created'])
    expect(await list(sentOnly.id)).toEqual(['invoice.sent'])
  })
})

// --------------------------------------------------------------------------------------------------------------

describe('SSRF refusals at creation', () => {
  test('when the app runs with private networks refused (the default), then private URLs are refused even outside production, and http to a public address is allowed', async () => {
    const token = await newUser()
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'http://10.0.0.1/hook',
      'http://[::1]/hook',
      'http://localhost/hook',
    ]) {
      const error = errorOf(await createEndpoint(token, { url, events: ['*'] }))
      expect({ url, ...error }).toMatchObject({ url, status: 400, code: 'VALIDATION_ERROR', paths: ['/url'] })
    }
    expect(
      (await createEndpoint(token, { url: 'http://93.184.215.14/api-tests/plain', events: ['*'] })).status,
    ).toBe(201)
  })

  describe('in production', () => {
    let prod: TestApp
    beforeAll(async () => {
      prod = await createTestApp({
        NODE_ENV: 'production',
        DATABASE_URL: testDatabaseUrl(),
        S3_BUCKET: 'webhook-tests',
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        METRICS_TOKEN: 'test-metrics-token',
        PUBLIC_URL: 'https://invoices.example.com',
        SMTP_URL: 'smtp://127.0.0.1:2525',
        MAIL_FROM: 'invoices@example.com',
        RATE_LIMIT_PER_MINUTE: '1000000',
      })
    })
    afterAll(() => prod?.close())

    test('when the URL is loopback, private, link-local, metadata or a name resolving to loopback, then 400 naming /url, and nothing is created', async () => {
      expect(prod.deps.config.isProduction).toBe(true)
      const token = await prod.token()
      for (const url of [
        'https://127.0.0.1/hook',
        'https://10.0.0.1/hook',
        'https://172.16.0.1/hook',
        'https://192.168.1.1/hook',
        'https://100.64.0.1/hook',
        'https://[::1]/hook',
        'https://[fd00::1]/hook',
        'https://[::ffff:127.0.0.1]/hook',
        'https://169.254.169.254/latest/meta-data/',
        'https://localhost/hook',
        'http://localhost/hook',
        'https://0.0.0.0/hook',
      ]) {
        const answer = await createEndpoint(token, { url, events: ['*'] }, {}, prod)
        const error = errorOf(answer)
        expect({ url, ...error }).toMatchObject({
          url,
          status: 400,
          code: 'VALIDATION_ERROR',
          paths: ['/url'],
        })
        expect(JSON.stringify(answer.body)).not.toContain('whsec_')
      }
      expect(ok<Page<Endpoint>>(await call(token, 'GET', ENDPOINTS, undefined, {}, prod)).data).toEqual([])
    })

    test('when the URL is http://, then 400 naming /url, even to a public address; https to it is created', async () => {
      const token = await prod.token()
      const refused = errorOf(
        await createEndpoint(token, { url: 'http://93.184.215.14/api-tests/prod', events: ['*'] }, {}, prod),
      )
      expect(refused).toMatchObject({ status: 400, code: 'VALIDATION_ERROR', paths: ['/url'] })
      const created = await createEndpoint(token, { url: `${HOOK}/prod`, events: ['*'] }, {}, prod)
      expect(created.status).toBe(201)
      const ep = created.body as Endpoint
      const etag = created.headers.get('etag')!

      // A change of URL is checked the same way, and a refused change leaves the endpoint as it was.
      const patched = await call(
        token,
        'PATCH',
        `${ENDPOINTS}/${ep.id}`,
        { url: 'https://169.254.169.254/' },
        { 'if-match': etag },
        prod,
      )
      expect(errorOf(patched)).toMatchObject({ status: 400, code: 'VALIDATION_ERROR', paths: ['/url'] })
      expect(ok<Endpoint>(await call(token, 'GET', `${ENDPOINTS}/${ep.id}`, undefined, {}, prod)).url).toBe(
        `${HOOK}/prod`,
      )
    })
  })
})
