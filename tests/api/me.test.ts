import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createTestApp, type TestApp } from '../helpers/app'
import { edenClient } from '../helpers/eden'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

const patch = (token: string, json: unknown, headers: Record<string, string> = {}) =>
  t.request('/api/v1/me', { method: 'PATCH', token, json, headers })
const detailPaths = async (res: Response) =>
  ((await res.json()) as { error: { details: { path: string }[] } }).error.details.map((d) => d.path)

describe('profile', () => {
  test('when the profile is patched, then fields are trimmed, the address is stored as an object, and GET agrees', async () => {
    const api = edenClient(t, await t.token())
    const { data: body, status } = await api.api.v1.me.patch({
      companyName: '  Acme GmbH  ',
      defaultCurrency: 'EUR',
      defaultTaxRate: 7.25,
      paymentTermsDays: 14,
      invoicePrefix: 'AC-',
      timezone: 'Europe/Berlin',
      address: { line1: 'Hauptstraße 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
    })
    expect(status).toBe(200)
    expect(body?.profile).toMatchObject({
      companyName: 'Acme GmbH',
      defaultCurrency: 'EUR',
      defaultTaxRate: 7.25,
      paymentTermsDays: 14,
      invoicePrefix: 'AC-',
      timezone: 'Europe/Berlin',
    })
    expect(body?.profile.address).toEqual({
      line1: 'Hauptstraße 1',
      line2: null,
      city: 'Berlin',
      region: null,
      postalCode: '10115',
      country: 'DE',
    })
    expect((await api.api.v1.me.get()).data).toEqual(body)
  })

  test('when codes are not real (currency, country, time zone) or out of range, then 400 naming each field', async () => {
    const token = await t.token()
    const res = await patch(token, {
      defaultCurrency: 'EURO',
      timezone: 'Mars/Olympus',
      paymentTermsDays: -1,
      invoicePrefix: 'x'.repeat(21),
    })
    expect(res.status).toBe(400)
    expect(await detailPaths(res)).toEqual(
      expect.arrayContaining(['/defaultCurrency', '/timezone', '/paymentTermsDays', '/invoicePrefix']),
    )
    const country = await patch(token, { address: { country: 'XX' } })
    expect(country.status).toBe(400)
    expect(await detailPaths(country)).toEqual(['/address/country'])
    const rate = await patch(token, { defaultTaxRate: 7.2501 })
    expect(rate.status).toBe(400)
    expect(await detailPaths(rate)).toContain('/defaultTaxRate')
  })

  test('when If-Match names an older version, then 412 and nothing changes; the current ETag succeeds', async () => {
    const token = await t.token()
    const first = await t.request('/api/v1/me', { token })
    const etag = first.headers.get('etag')!
    expect(etag).toMatch(/^"me-/)
    const updated = await patch(token, { companyName: 'First' }, { 'if-match': etag })
    expect(updated.status).toBe(200)
    expect(updated.headers.get('etag')).not.toBe(etag)
    const stale = await patch(token, { companyName: 'Second' }, { 'if-match': etag })
    expect(stale.status).toBe(412)
    expect(((await stale.json()) as { error: { code: string } }).error.code).toBe('PRECONDITION_FAILED')
    const { data: now } = await edenClient(t, token).api.v1.me.get()
    expect(now?.profile.companyName).toBe('First')
  })

  test('when nextInvoiceNumber is raised, then it is kept; lowering to a used number is refused', async () => {
    const token = await t.token()
    const { data: me } = await edenClient(t, token).api.v1.me.get()
    expect((await patch(token, { nextInvoiceNumber: 100 })).status).toBe(200)
    await t.deps.database.db
      .updateTable('users')
      .set({ last_invoice_number: 99 })
      .where('id', '=', me!.id)
      .execute()
    const lowered = await patch(token, { nextInvoiceNumber: 99 })
    expect(lowered.status).toBe(400)
    expect(await detailPaths(lowered)).toEqual(['/nextInvoiceNumber'])
    expect((await patch(token, { nextInvoiceNumber: 150 })).status).toBe(200)
  })

  test('when the body is empty, then 400', async () => {
    expect((await patch(await t.token(), {})).status).toBe(400)
  })

  test('when delivery settings are patched, then locale, contact, payment instructions, bank account and reminders come back as stored', async () => {
    const token = await t.token()
    const fresh = (await (await t.request('/api/v1/me', { token })).json()) as {
      profile: Record<string, unknown>
    }
    // The defaults of API.md: en-US, no bank account, reminders off at 3, 10 and 30 days.
    expect(fresh.profile).toMatchObject({
      locale: 'en-US',
      contactName: null,
      paymentInstructions: null,
      bankAccount: null,
      reminders: { enabled: false, daysAfterDue: [3, 10, 30] },
    })
    const res = await patch(token, {
      locale: 'de-DE',
      contactName: '  Grace Hopper ',
      paymentInstructions: 'Bitte überweisen Sie den Betrag\ninnerhalb von 14 Tagen.',
      bankAccount: { iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', accountName: 'Acme GmbH' },
      reminders: { enabled: true, daysAfterDue: [30, 7, 1] },
    })
    expect(res.status).toBe(200)
    const { profile } = (await res.json()) as { profile: Record<string, unknown> }
    expect(profile).toMatchObject({
      locale: 'de-DE',
      contactName: 'Grace Hopper',
      paymentInstructions: 'Bitte überweisen Sie den Betrag\ninnerhalb von 14 Tagen.',
      bankAccount: { iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', accountName: 'Acme GmbH' },
      reminders: { enabled: true, daysAfterDue: [1, 7, 30] },
    })
    // One part of the reminders alone keeps the other; a bank account without BIC stores null for it.
    const partial = await patch(token, {
      reminders: { enabled: false },
      bankAccount: { iban: 'GB82WEST12345698765432' },
    })
    expect(((await partial.json()) as { profile: Record<string, unknown> }).profile).toMatchObject({
      reminders: { enabled: false, daysAfterDue: [1, 7, 30] },
      bankAccount: { iban: 'GB82WEST12345698765432', bic: null, accountName: null },
    })
    const cleared = await patch(token, { bankAccount: null, paymentInstructions: null })
    expect(((await cleared.json()) as { profile: Record<string, unknown> }).profile).toMatchObject({
      bankAccount: null,
      paymentInstructions: null,
    })
  })

  test('when delivery settings are invalid, then 400 naming each field, and nothing changes', async () => {
    const token = await t.token()
    const cases: [unknown, string][] = [
      [{ locale: 'en_US' }, '/locale'],
      [{ locale: 'xx-YY-zzzz-not' }, '/locale'],
      [{ locale: 'de-de' }, '/locale'],
      [{ bankAccount: { iban: 'DE89370400440532013001' } }, '/bankAccount/iban'],
      [{ bankAccount: { iban: 'de89370400440532013000' } }, '/bankAccount/iban'],
      [{ bankAccount: { iban: 'DE89 3704 0044 0532 0130 00' } }, '/bankAccount/iban'],
      [{ bankAccount: { iban: 'DE89370400440532013000', bic: 'COBAXXFF' } }, '/bankAccount/bic'],
      [{ bankAccount: { bic: 'COBADEFF' } }, '/bankAccount/iban'],
      [{ reminders: { daysAfterDue: [] } }, '/reminders/daysAfterDue'],
      [{ reminders: { daysAfterDue: [3, 3] } }, '/reminders/daysAfterDue'],
      [{ reminders: { daysAfterDue: [0] } }, '/reminders/daysAfterDue/0'],
      [{ reminders: { daysAfterDue: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] } }, '/reminders/daysAfterDue'],
      [{ reminders: {} }, '/reminders'],
      [{ contactName: '' }, '/contactName'],
    ]
    const before = await (await t.request('/api/v1/me', { token })).json()
    for (const [body, path] of cases) {
      const res = await patch(token, body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(await detailPaths(res), JSON.stringify(body)).toContain(path)
    }
    expect(await (await t.request('/api/v1/me', { token })).json()).toEqual(before)
  })
})
