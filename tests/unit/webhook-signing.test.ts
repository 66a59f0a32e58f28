import { describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { Webhook, WebhookVerificationError } from 'standardwebhooks'
import { liveSecrets, retryDelaySeconds, signedHeaders } from '../../src/modules/webhooks/deliver'
import type { EndpointRow } from '../../src/modules/webhooks/repository'
import { newSecret } from '../../src/modules/webhooks/service'

// Signatures are checked with the `standardwebhooks` package (the reference implementation), the way a receiver
// would check them; the retry waits against API.md's schedule.

const secret = () => `whsec_${randomBytes(32).toString('base64')}`
const eventId = '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'
const body = JSON.stringify({
  id: eventId,
  type: 'invoice.paid',
  createdAt: '2026-01-15T12:00:00.000Z',
  data: { object: { id: 'inv', total: 1999, notes: 'Grüße — “quotes” & <tags> ✓' } },
})

describe('signedHeaders', () => {
  test('when signed with one secret, then standardwebhooks verifies it, and the headers are the specification’s', () => {
    const key = secret()
    const at = new Date()
    const headers = signedHeaders(eventId, body, [key], at)
    expect(headers['webhook-id']).toBe(eventId)
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(at.getTime() / 1000)))
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/)
    expect(new Webhook(key).verify(body, headers)).toEqual(JSON.parse(body))
  })

  test('when any byte of the body, the id or the timestamp changes, or the secret is another, then verification fails', () => {
    const key = secret()
    const headers = signedHeaders(eventId, body, [key])
    const fails = (payload: string, h: Record<string, string>, k = key) =>
      expect(() => new Webhook(k).verify(payload, h)).toThrow(WebhookVerificationError)
    fails(body.replace('1999', '1990'), headers)
    fails(body, { ...headers, 'webhook-id': `${eventId.slice(0, -1)}e` })
    fails(body, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) + 1) })
    fails(body, headers, secret())
  })

  test('when signed long ago, then a receiver refuses it as too old (the timestamp is the signing time)', () => {
    const key = secret()
    const headers = signedHeaders(eventId, body, [key], new Date(Date.now() - 10 * 60_000))
    expect(() => new Webhook(key).verify(body, headers)).toThrow(/too old/)
  })

  test('when two secrets are live, then two space-separated signatures, and each secret alone verifies', () => {
    const [oldKey, newKey] = [secret(), secret()]
    const headers = signedHeaders(eventId, body, [newKey, oldKey])
    const parts = headers['webhook-signature'].split(' ')
    expect(parts).toHaveLength(2)
    for (const part of parts) expect(part).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/)
    expect(new Webhook(newKey).verify(body, headers)).toEqual(JSON.parse(body))
    expect(new Webhook(oldKey).verify(body, headers)).toEqual(JSON.parse(body))
    expect(() => new Webhook(secret()).verify(body, headers)).toThrow(WebhookVerificationError)
  })

  test('when the secret is made by the API, then it is whsec_ + base64 of 32 random bytes, usable by standardwebhooks', () => {
    const made = newSecret()
    expect(made).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/)
    expect(Buffer.from(made.slice('whsec_'.length), 'base64')).toHaveLength(32)
    expect(newSecret()).not.toBe(made)
    expect(new Webhook(made).verify(body, signedHeaders(eventId, body, [made]))).toEqual(JSON.parse(body))
  })
})

describe('liveSecrets', () => {
  const rotatedAt = new Date('2026-03-01T10:00:00.000Z')
  const endpoint = {
    secret: 'whsec_bmV3',
    previous_secret: 'whsec_b2xk',
    previous_secret_expires_at: new Date(rotatedAt.getTime() + 24 * 3_600_000),
  } as EndpointRow

  test('when a secret was rotated, then both sign during the 24 h overlap, and each alone verifies the delivery', () => {
    for (const hours of [0, 1, 12, 23.99]) {
      const now = new Date(rotatedAt.getTime() + hours * 3_600_000)
      expect(liveSecrets(endpoint, now)).toEqual(['whsec_bmV3', 'whsec_b2xk'])
    }
    const [oldKey, newKey] = [secret(), secret()]
    const live = liveSecrets({ ...endpoint, secret: newKey, previous_secret: oldKey }, rotatedAt)
    const headers = signedHeaders(eventId, body, live)
    expect(new Webhook(oldKey).verify(body, headers)).toEqual(JSON.parse(body))
    expect(new Webhook(newKey).verify(body, headers)).toEqual(JSON.parse(body))
  })

  test('when the overlap is over, or there was no rotation, then only the current secret signs', () => {
    expect(liveSecrets(endpoint, new Date(rotatedAt.getTime() + 24 * 3_600_000))).toEqual(['whsec_bmV3'])
    expect(liveSecrets(endpoint, new Date(rotatedAt.getTime() + 25 * 3_600_000))).toEqual(['whsec_bmV3'])
    expect(
      liveSecrets({ ...endpoint, previous_secret: null, previous_secret_expires_at: null } as EndpointRow),
    ).toEqual(['whsec_bmV3'])
  })
})

describe('retryDelaySeconds', () => {
  /** API.md: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
  const DEFAULT = [5, 300, 1800, 7200, 18_000, 36_000, 36_000]
  const draws = [0, 0.001, 0.25, 0.5, 0.75, 0.999, 0.999999]

  test('when the schedule is the default, then every wait stays within ±20 % of its step, whatever the draw', () => {
    DEFAULT.forEach((base, retry) => {
      for (const draw of [...draws, ...Array.from({ length: 200 }, Math.random)]) {
        const delay = retryDelaySeconds(DEFAULT, retry, () => draw)
        expect(Number.isInteger(delay)).toBe(true)
        expect(delay).toBeGreaterThanOrEqual(base * 0.8)
        expect(delay).toBeLessThanOrEqual(base * 1.2)
      }
    })
  })

  test('when drawn many times, then the waits spread over the band instead of repeating one value', () => {
    const delays = new Set(Array.from({ length: 500 }, () => retryDelaySeconds(DEFAULT, 1)))
    expect(delays.size).toBeGreaterThan(20)
    expect(Math.min(...delays)).toBeLessThan(300 * 0.9)
    expect(Math.max(...delays)).toBeGreaterThan(300 * 1.1)
  })

  test('when the schedule is short (WEBHOOK_RETRY_SCHEDULE), then waits are whole seconds within ±20 % give or take the rounding', () => {
    const schedule = [1, 2, 3, 7, 10]
    schedule.forEach((base, retry) => {
      for (const draw of draws) {
        const delay = retryDelaySeconds(schedule, retry, () => draw)
        expect(Number.isInteger(delay)).toBe(true)
        expect(Math.abs(delay - base)).toBeLessThanOrEqual(base * 0.2 + 0.5)
      }
    })
    expect(retryDelaySeconds([0], 0, () => 0.99)).toBe(0)
  })
})
