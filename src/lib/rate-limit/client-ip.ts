import type { TrustProxyHeader } from '../../config'

/** The longest textual IPv6 address with an embedded IPv4 one, plus brackets and a port. */
const MAX_ADDRESS_LENGTH = 53
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/
const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/
const IPV6 = /^[0-9a-f:.]{2,45}$/
const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/
const HEXTET = /^[0-9a-f]{1,4}$/

export const UNKNOWN_CLIENT = 'unknown'

interface SocketSource {
  requestIP(request: Request): { address: string } | null
}

/**
 * The key a client is limited under. With `TRUST_PROXY` it comes from that header: `x-forwarded-for` gives
 * its right-most entry, the one our own proxy appended (entries left of it are whatever the client sent).
 * Without the header, or when its value is not an address, it is the socket's peer, and `unknown` when the
 * socket has no address. Undefined for in-process requests (`app.handle` without a server and without the
 * header): no network client sent them, so there is nobody to limit.
 */
export function clientKey(
  request: Request,
  server: SocketSource | null,
  trustProxy: TrustProxyHeader | undefined,
): string | undefined {
  if (trustProxy !== undefined) {
    const raw = request.headers.get(trustProxy)
    if (raw !== null) {
      const value = trustProxy === 'x-forwarded-for' ? raw.slice(raw.lastIndexOf(',') + 1) : raw
      const key = normalizeAddress(value)
      if (key !== undefined) return key
    }
  }
  if (server === null) return undefined
  const peer = server.requestIP(request)
  if (!peer) return UNKNOWN_CLIENT
  return normalizeAddress(peer.address) ?? UNKNOWN_CLIENT
}

/**
 * An IPv4 address as is (a `:port` dropped); an IPv6 one reduced to its /64, since one subscriber line
 * usually holds a whole /64 and could otherwise take a fresh address for every request. Anything else,
 * or anything too long to be an address, is undefined.
 */
export function normalizeAddress(raw: string): string | undefined {
  if (raw.length > MAX_ADDRESS_LENGTH) return undefined
  let address = raw.trim()
  if (IPV4.test(address)) return address
  const withPort = IPV4_WITH_PORT.exec(address)
  if (withPort) return withPort[1]
  if (address.startsWith('[')) {
    const end = address.indexOf(']')
    if (end === -1) return undefined
    address = address.slice(1, end)
  }
  const zone = address.indexOf('%')
  if (zone !== -1) address = address.slice(0, zone)
  address = address.toLowerCase()
  if (!address.includes(':') || !IPV6.test(address)) return undefined
  const mapped = IPV4_MAPPED.exec(address)
  if (mapped) return mapped[1]
  return ipv6Prefix64(address)
}

function ipv6Prefix64(address: string): string | undefined {
  const gap = address.indexOf('::')
  if (gap !== -1 && address.indexOf('::', gap + 1) !== -1) return undefined
  const split = (part: string) => (part === '' ? [] : part.split(':'))
  const head = gap === -1 ? split(address) : split(address.slice(0, gap))
  const tail = gap === -1 ? [] : split(address.slice(gap + 2))
  const last = tail.at(-1) ?? head.at(-1) ?? ''
  const count = head.length + tail.length + (last.includes('.') ? 1 : 0)
  if (gap === -1 ? count !== 8 : count > 7) return undefined
  const groups = gap === -1 ? head : [...head, ...Array<string>(8 - count).fill('0'), ...tail]
  const prefix: string[] = []
  for (let i = 0; i < 4; i++) {
    const group = groups[i]!
    if (!HEXTET.test(group)) return undefined
    prefix.push(Number.parseInt(group, 16).toString(16))
  }
  return `${prefix.join(':')}::/64`
}
