import type { App } from '../../src/app'
import { ContractViolation, checkContract } from '../helpers/contract'
import { clip, RawJson, RawText } from './mutations'

/** A request before its placeholders (`@@ref:…@@`, `@@etag@@`) are replaced by live ids and ETags. */
export interface Draft {
  method: string
  /** The route's path pattern, `:name` and `*` filled from `params`. */
  path: string
  params: Record<string, string | RawText>
  query: Record<string, unknown>
  headers: Record<string, string>
  /** `json`: serialised here (with RawJson spliced in); `text`/`bytes`: sent as is; absent: no body. */
  body?: { json: unknown } | { text: string } | { bytes: Uint8Array }
  /** Overrides the JSON default; null sends no Content-Type at all. */
  contentType?: string | null
  /** `user`: the fuzzing user's token; `none`: no Authorization; otherwise the header's whole value. */
  auth: 'user' | 'none' | { header: string }
}

export interface Outcome {
  status: number
  headers: Headers
  text: string
  bytes: number
  ms: number
  /** What the OpenAPI document does not describe about this answer, if anything. */
  contract: string | undefined
}

/**
 * Percent-encodes text as a browser would, except that an unpaired surrogate (which `encodeURIComponent`
 * refuses) goes out as its three WTF-8 bytes, the way a sloppy client would send it.
 */
export function encodeText(value: string): string {
  let out = ''
  let chunk = ''
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    const high = c >= 0xd800 && c <= 0xdbff
    const next = value.charCodeAt(i + 1)
    if (high && next >= 0xdc00 && next <= 0xdfff) {
      chunk += value[i]! + value[i + 1]!
      i++
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += encodeURIComponent(chunk)
      chunk = ''
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('')
    } else {
      chunk += value[i]
    }
  }
  return out + encodeURIComponent(chunk)
}

const encodePart = (value: string | RawText) => (value instanceof RawText ? value.text : encodeText(value))

export function urlOf(draft: Draft): string {
  let path = draft.path.replace(/:(\w+)/g, (_, name: string) => encodePart(draft.params[name] ?? ''))
  if (path.endsWith('*'))
    path =
      path.slice(0, -1) +
      (draft.params['*'] instanceof RawText ? draft.params['*'].text : String(draft.params['*'] ?? ''))
  const pairs: string[] = []
  for (const [key, value] of Object.entries(draft.query)) {
    if (value === undefined) continue
    const values = Array.isArray(value) ? value : [value]
    for (const v of values)
      pairs.push(`${encodeText(key)}=${v instanceof RawText ? v.text : encodeText(String(v))}`)
  }
  return pairs.length > 0 ? `${path}?${pairs.join('&')}` : path
}

/** JSON with RawJson values written as their own text. */
export function serialise(value: unknown): string {
  const raws: string[] = []
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof RawJson) {
      raws.push(v.text)
      return `@@raw${raws.length - 1}@@`
    }
    return v
  })
  if (text === undefined) return ''
  return raws.length === 0 ? text : text.replace(/"@@raw(\d+)@@"/g, (_, i: string) => raws[Number(i)]!)
}

export interface Wire {
  url: string
  init: { method: string; headers: [string, string][]; body: string | Uint8Array | null }
}

/** The request as it goes out; throws when a header value cannot travel in HTTP (NUL, CR, LF…). */
export function wireOf(draft: Draft, token: string): Wire {
  const headers: [string, string][] = Object.entries(draft.headers)
  if (draft.auth === 'user') headers.push(['authorization', `Bearer ${token}`])
  else if (draft.auth !== 'none') headers.push(['authorization', draft.auth.header])
  let body: string | Uint8Array | null = null
  const bodyless = draft.method === 'GET' || draft.method === 'HEAD'
  if (bodyless) body = null
  else if (draft.body && 'json' in draft.body) body = serialise(draft.body.json)
  else if (draft.body && 'text' in draft.body) body = draft.body.text
  else if (draft.body && 'bytes' in draft.body) body = draft.body.bytes
  const contentType =
    draft.contentType === undefined
      ? draft.body && 'json' in draft.body && !bodyless
        ? 'application/json'
        : undefined
      : draft.contentType
  if (contentType) headers.push(['content-type', contentType])
  new Headers(headers)
  return { url: `http://localhost${urlOf(draft)}`, init: { method: draft.method, headers, body } }
}

export async function send(app: App, wire: Wire): Promise<Outcome> {
  const started = performance.now()
  const response = await app.handle(
    new Request(wire.url, {
      method: wire.init.method,
      headers: wire.init.headers,
      body: wire.init.body,
    }),
  )
  // Every fuzzed answer must also be one the OpenAPI document describes.
  const contract = await checkContract({ method: wire.init.method, url: wire.url }, response).then(
    () => undefined,
    (error: unknown) => (error instanceof ContractViolation ? error.message : String(error)),
  )
  const buffer = new Uint8Array(await response.arrayBuffer())
  return {
    status: response.status,
    headers: response.headers,
    text: new TextDecoder().decode(buffer),
    bytes: buffer.byteLength,
    ms: performance.now() - started,
    contract,
  }
}

/** One line a developer can read and replay: method, URL, headers and the body, shortened. */
export function describeWire(wire: Wire, token: string): string {
  const headers = wire.init.headers.map(
    ([name, value]) => `${name}: ${value === `Bearer ${token}` ? 'Bearer <valid token>' : clip(value, 80)}`,
  )
  const body =
    wire.init.body === null
      ? ''
      : ` body=${typeof wire.init.body === 'string' ? clip(wire.init.body, 300) : `<${wire.init.body.byteLength} bytes>`}`
  const url = clip(wire.url.replace('http://localhost', ''), 300)
  return `${wire.init.method} ${url}${headers.length ? ` [${headers.join('; ')}]` : ''}${body}`
}
