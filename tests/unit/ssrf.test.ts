import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { signedHeaders } from '../../src/modules/webhooks/deliver'
import { postWebhook } from '../../src/modules/webhooks/sender'
import { isForbiddenAddress, resolveSafely, UnsafeUrlError } from '../../src/modules/webhooks/ssrf'
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver'

// The SSRF guard of webhook URLs (API.md "Webhooks"): loopback, RFC 1918, CGNAT, link-local (with the cloud
// metadata address), "this network", IPv6 loopback, link-local and unique-local addresses are refused, also
// when an IPv4 address hides inside an IPv6 one (IPv4-mapped, NAT64). Public addresses pass.

const strict = { allowPrivate: false, requireHttps: false }
const production = { allowPrivate: false, requireHttps: true }

/** The refusal of `resolveSafely`, or undefined when the URL passes. */
async function refusal(url: string, options = strict): Promise<string | undefined> {
  try {
    await resolveSafely(new URL(url), options)
    return undefined
  } catch (error) {
    expect(error).toBeInstanceOf(UnsafeUrlError)
    return (error as Error).message
  }
}

const FORBIDDEN = [
  ['127.0.0.1', 'IPv4 loopback'],
  ['127.255.0.9', 'IPv4 loopback, anywhere in 127/8'],
  ['10.0.0.1', 'RFC 1918 10/8'],
  ['172.16.0.1', 'RFC 1918 172.16/12'],
  ['172.31.255.254', 'RFC 1918 172.16/12, its end'],
  ['192.168.1.1', 'RFC 1918 192.168/16'],
  ['100.64.0.1', 'carrier-grade NAT 100.64/10'],
  ['169.254.169.254', 'the cloud metadata service (link-local)'],
  ['169.254.0.1', 'IPv4 link-local'],
  ['0.0.0.0', '"this network"'],
  ['::1', 'IPv6 loopback'],
  ['::', 'IPv6 unspecified'],
  ['fe80::1', 'IPv6 link-local'],
  ['FE80::1', 'IPv6 link-local, upper case'],
  ['fd00::1', 'IPv6 unique local'],
  ['fc00::1', 'IPv6 unique local, fc00::/7'],
  ['fd00:ec2::254', 'the AWS metadata service over IPv6'],
  ['::ffff:127.0.0.1', 'IPv4-mapped loopback, dotted'],
  ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
  ['::ffff:a9fe:a9fe', 'IPv4-mapped metadata address'],
  ['::ffff:10.0.0.1', 'IPv4-mapped RFC 1918'],
  ['64:ff9b::a00:1', 'NAT64 of 10.0.0.1'],
  ['64:ff9b::127.0.0.1', 'NAT64 of loopback, dotted'],
  ['::7f00:1', 'IPv4-compatible (deprecated) loopback'],
  ['::ffff:0:7f00:1', 'IPv4-translated (SIIT) loopback'],
  ['2002:7f00:1::', '6to4 of loopback'],
  ['not-an-address', 'not an IP address at all'],
] as const

const ALLOWED = [
  ['8.8.8.8', 'a public IPv4 address'],
  ['1.1.1.1', 'a public IPv4 address'],
  ['172.32.0.1', 'just outside 172.16/12'],
  ['100.128.0.1', 'just outside 100.64/10'],
  ['2606:4700::1111', 'a public IPv6 address'],
  ['::ffff:8.8.8.8', 'IPv4-mapped public address'],
  ['64:ff9b::808:808', 'NAT64 of a public address'],
] as const

describe('isForbiddenAddress', () => {
  for (const [address, what] of FORBIDDEN) {
    test(`when the address is ${address} (${what}), then it is forbidden`, () => {
      expect(isForbiddenAddress(address)).toBe(true)
    })
  }
  for (const [address, what] of ALLOWED) {
    test(`when the address is ${address} (${what}), then it is allowed`, () => {
      expect(isForbiddenAddress(address)).toBe(false)
    })
  }
})

describe('resolveSafely', () => {
  const refusedUrls = [
    'http://127.0.0.1/hook',
    'http://10.0.0.1/hook',
    'http://172.16.0.1/hook',
    'http://192.168.1.1/hook',
    'http://100.64.0.1/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://0.0.0.0:8080/hook',
    'http://[::1]/hook',
    'http://[::1]:3000/hook',
    'http://[fe80::1]/hook',
    'http://[fd00::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[::ffff:7f00:1]/hook',
    'http://[64:ff9b::a00:1]/hook',
    // Spellings of 127.0.0.1 that URL parsing turns into it.
    'http://2130706433/hook',
    'http://0x7f.1/hook',
    'http://127.1/hook',
    'http://[0:0:0:0:0:ffff:7f00:1]/hook',
  ]
  for (const url of refusedUrls) {
    test(`when the URL is ${url}, then it is refused as a private destination`, async () => {
      expect(await refusal(url)).toMatch(/loopback, private, link-local or reserved/)
    })
  }

  test('when the host is `localhost`, then it is resolved, found to be loopback, and refused', async () => {
    expect(await refusal('http://localhost:8080/hook')).toMatch(/resolves to (127\.0\.0\.1|::1)/)
    expect(await refusal('https://localhost/hook', production)).toBeDefined()
  })

  test('when a host cannot be resolved, then it is refused, not let through', async () => {
    expect(await refusal('http://no-such-host.invalid/hook')).toMatch(/cannot be resolved/)
  })

  test('when the address is public, then the URL passes and the checked address is what it connects to', async () => {
    expect(await resolveSafely(new URL('https://8.8.8.8/hook'), production)).toEqual({
      address: '8.8.8.8',
      family: 4,
    })
    expect(await resolveSafely(new URL('https://[2606:4700::1111]/hook'), production)).toEqual({
      address: '2606:4700::1111',
      family: 6,
    })
  })

  test('when https is required (production), then http:// is refused even to a public address', async () => {
    expect(await refusal('http://8.8.8.8/hook', production)).toMatch(/https/)
    expect(await refusal('http://8.8.8.8/hook', strict)).toBeUndefined()
  })

  test('when the scheme is neither http nor https, then it is refused whatever the mode', async () => {
    expect(await refusal('ftp://8.8.8.8/hook')).toMatch(/https/)
    expect(await refusal('file:///etc/passwd')).toBeDefined()
  })

  test('when private networks are allowed (development, tests), then loopback passes, and https is still required when asked', async () => {
    const open = { allowPrivate: true, requireHttps: false }
    expect(await resolveSafely(new URL('http://127.0.0.1:9/hook'), open)).toEqual({
      address: '127.0.0.1',
      family: 4,
    })
    expect(await resolveSafely(new URL('http://[::1]:9/hook'), open)).toEqual({ address: '::1', family: 6 })
    expect((await resolveSafely(new URL('http://localhost:9/hook'), open)).address).toMatch(
      /^(127\.0\.0\.1|::1)$/,
    )
    expect(await refusal('http://127.0.0.1:9/hook', { allowPrivate: true, requireHttps: true })).toMatch(
      /https/,
    )
  })
})

describe('postWebhook', () => {
  // The connection goes to the address that was checked; the URL's hostname only names the site (Host, TLS).
  // A hostname that would resolve elsewhere when connecting (DNS rebinding) is therefore never looked up again.
  const key = `whsec_${randomBytes(32).toString('base64')}`
  const id = crypto.randomUUID()
  const body = JSON.stringify({
    id,
    type: 'customer.created',
    createdAt: new Date().toISOString(),
    data: { object: {} },
  })
  let receiver: WebhookReceiver
  beforeAll(async () => {
    receiver = await startWebhookReceiver({ secrets: [key] })
  })
  afterAll(() => receiver.close())
  const loopback = { address: '127.0.0.1', family: 4 } as const
  const post = (url: URL, timeoutMs = 2_000) =>
    postWebhook(url, loopback, body, signedHeaders(id, body, [key]), timeoutMs)

  test('when the hostname does not resolve at all, then the request still reaches the checked address, with the hostname as Host', async () => {
    const url = new URL(`http://hooks.rebind.invalid:${receiver.port}/hooks/rebind`)
    expect(await post(url)).toEqual({ ok: true, status: 200 })
    const [message] = receiver.received.filter((m) => m.path === '/hooks/rebind')
    expect(message?.headers['host']).toBe(`hooks.rebind.invalid:${receiver.port}`)
    expect(message?.headers['content-type']).toMatch(/^application\/json/)
    expect(message?.verifiedBy).toEqual([key])
  })

  test('when the receiver redirects, then the redirect is not followed and counts as a failure', async () => {
    receiver.answerNext({ redirectTo: `http://127.0.0.1:${receiver.port}/hooks/target`, status: 307 })
    const outcome = await post(new URL(`http://127.0.0.1:${receiver.port}/hooks/redirecting`))
    expect(outcome).toMatchObject({ ok: false, status: 307 })
    expect(receiver.hits.filter((hit) => hit.path === '/hooks/target')).toEqual([])
  })

  test('when the receiver answers after the timeout, then the attempt fails at the timeout, without waiting for it', async () => {
    receiver.answerNext({ sleepMs: 2_000 })
    const started = performance.now()
    const outcome = await post(new URL(`http://127.0.0.1:${receiver.port}/hooks/slow`), 300)
    expect(outcome).toMatchObject({ ok: false, status: null, error: 'no answer within 300 ms' })
    expect(performance.now() - started).toBeLessThan(1_500)
  })

  test('when the receiver answers a large error body, then the failure keeps a short excerpt of it', async () => {
    receiver.answerNext({ status: 500, body: `boom ${'x'.repeat(1_000_000)}` })
    const outcome = await post(new URL(`http://127.0.0.1:${receiver.port}/hooks/large`))
    expect(outcome.ok).toBe(false)
    if (outcome.ok) return
    expect(outcome.status).toBe(500)
    expect(outcome.error.length).toBeLessThanOrEqual(300)
    expect(outcome.error).toStartWith('answered 500: boom')
  })

  test('when nothing listens, then the attempt fails with the connection error', async () => {
    const closed = await startWebhookReceiver({ secrets: [key] })
    const url = new URL(closed.url('gone'))
    await closed.close()
    expect(await post(url)).toMatchObject({ ok: false, status: null })
  })
})
