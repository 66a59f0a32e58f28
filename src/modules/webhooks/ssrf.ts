import { lookup } from 'node:dns/promises'
import net from 'node:net'

/**
 * The guard against server-side request forgery: a webhook URL is any user's input, and the API delivers from
 * inside the network. Every address the host resolves to is checked, and the connection then goes to the
 * address that was checked (the hostname kept for `Host` and TLS), so a name that resolves to a public address
 * when checked and to 127.0.0.1 when connecting (DNS rebinding) cannot slip past.
 */
const blocked = new net.BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // RFC 1918
  ['100.64.0.0', 10], // carrier-grade NAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, and 169.254.169.254, the cloud metadata service
  ['172.16.0.0', 12], // RFC 1918
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16], // RFC 1918
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible form (::a.b.c.d)
  ['::ffff:0:0:0', 96], // IPv4-translated (SIIT)
  ['2002::', 16], // 6to4: embeds any IPv4 address, private ones included
  ['fc00::', 7], // unique local (fd00:ec2::254 is a cloud metadata address)
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['2001:db8::', 32], // documentation
  ['100::', 64], // discard
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6')
}

/** The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`) IPv6 address. */
function embeddedIpv4(address: string): string | undefined {
  const match = /^(?:::ffff:|64:ff9b::)(?:0:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (match) return match[1]
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address)
  if (!hex) return undefined
  const high = Number.parseInt(hex[1]!, 16)
  const low = Number.parseInt(hex[2]!, 16)
  return [high >> 8, high & 255, low >> 8, low & 255].join('.')
}

/** Whether an address is one a webhook must never reach: loopback, private, link-local, metadata, … */
export function isForbiddenAddress(address: string): boolean {
  const family = net.isIP(address)
  if (family === 4) return blocked.check(address, 'ipv4')
  if (family === 6) {
    const inner = embeddedIpv4(address.toLowerCase())
    if (inner !== undefined) return blocked.check(inner, 'ipv4')
    return blocked.check(address, 'ipv6')
  }
  return true
}

export interface CheckedAddress {
  address: string
  family: 4 | 6
}

export class UnsafeUrlError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UnsafeUrlError'
  }
}

/** `[::1]` → `::1`: URL hostnames keep IPv6 literals in brackets. */
const bare = (hostname: string) => hostname.replace(/^\[(.*)\]$/, '$1')

/**
 * Resolves the URL's host and answers the address to connect to, refusing the URL when any resolved address is
 * forbidden (unless `allowPrivate`, for development and tests). Every address must pass, not only the first:
 * a host listing one public and one private address could otherwise be steered to the private one.
 */
export async function resolveSafely(
  url: URL,
  options: { allowPrivate: boolean; requireHttps: boolean; timeoutMs?: number },
): Promise<CheckedAddress> {
  if (url.protocol !== 'https:' && (options.requireHttps || url.protocol !== 'http:')) {
    throw new UnsafeUrlError('the URL must use https')
  }
  const host = bare(url.hostname)
  let addresses: CheckedAddress[]
  if (net.isIP(host)) {
    addresses = [{ address: host, family: net.isIP(host) as 4 | 6 }]
  } else {
    try {
      const found = await withTimeout(lookup(host, { all: true, verbatim: true }), options.timeoutMs ?? 5_000)
      addresses = found.map((entry) => ({ address: entry.address, family: entry.family as 4 | 6 }))
    } catch {
      throw new UnsafeUrlError(`the host ${host} cannot be resolved`)
    }
  }
  if (addresses.length === 0) throw new UnsafeUrlError(`the host ${host} has no address`)
  if (!options.allowPrivate) {
    const forbidden = addresses.find((entry) => isForbiddenAddress(entry.address))
    if (forbidden) {
      throw new UnsafeUrlError(
        `the host resolves to ${forbidden.address}, a loopback, private, link-local or reserved address`,
      )
    }
  }
  return addresses[0]!
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
