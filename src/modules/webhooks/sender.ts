import http from 'node:http'
import https from 'node:https'
import type { CheckedAddress } from './ssrf'

/** Response bodies are read this far (for the delivery's error text), then the connection is dropped. */
const MAX_RESPONSE_BYTES = 64 * 1024

/**
 * Kept-alive connections, one pool per checked address, port and hostname: a connection is reused only for the
 * address the SSRF check passed this time, never for the hostname in general, so DNS rebinding gains nothing.
 * Opening a TCP connection per webhook cost about a tenth of the delivery's CPU (bench/RESULTS.md, Webhooks).
 * Idle connections close after 4 s, before the usual server keep-alive timeouts (Node 5 s, Bun 10 s), so that a
 * reused one is rarely closed under a request; at most AGENTS pools are kept, the least recently used dropped.
 */
const AGENTS = 64
const IDLE_MS = 4_000
const agents = new Map<string, http.Agent>()

function agentFor(url: URL, address: CheckedAddress): http.Agent {
  const key = `${url.protocol}//${url.hostname}:${url.port}@${address.address}`
  const found = agents.get(key)
  if (found) {
    agents.delete(key)
    agents.set(key, found)
    return found
  }
  const options = { keepAlive: true, maxFreeSockets: 16, timeout: IDLE_MS }
  const agent = url.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options)
  agents.set(key, agent)
  if (agents.size > AGENTS) {
    const [oldestKey, oldest] = agents.entries().next().value as [string, http.Agent]
    agents.delete(oldestKey)
    oldest.destroy()
  }
  return agent
}

/** Closes the kept-alive connections (at shutdown, and in tests). */
export function closeWebhookConnections(): void {
  for (const agent of agents.values()) agent.destroy()
  agents.clear()
}

export type SendOutcome = { ok: true; status: number } | { ok: false; status: number | null; error: string }

/**
 * One POST of a webhook to the address that was checked, with the URL's hostname kept for `Host` and for TLS
 * (SNI and certificate checks), so what was checked is what is reached. Redirects are not followed (a 3xx is a
 * failure), the whole exchange is bounded by `timeoutMs`, and at most 64 KiB of the answer is read.
 */
export function postWebhook(
  url: URL,
  address: CheckedAddress,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<SendOutcome> {
  const client = url.protocol === 'https:' ? https : http
  return new Promise((resolve) => {
    let settled = false
    const finish = (outcome: SendOutcome) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(outcome)
    }
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'invoice-api-webhooks/1',
        },
        lookup: (_hostname, options, callback) => {
          const all = (options as { all?: boolean }).all
          if (all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [address])
          else (callback as (e: null, a: string, f: number) => void)(null, address.address, address.family)
        },
        agent: agentFor(url, address),
      },
      (response) => {
        const status = response.statusCode ?? 0
        const chunks: Buffer[] = []
        let size = 0
        response.on('data', (chunk: Buffer) => {
          if (size >= MAX_RESPONSE_BYTES) return
          chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - size))
          size += chunk.length
          if (size >= MAX_RESPONSE_BYTES) response.destroy()
        })
        const done = () => {
          if (status >= 200 && status < 300) return finish({ ok: true, status })
          const text = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 200)
          const what = status >= 300 && status < 400 ? 'redirect not followed' : `answered ${status}`
          finish({ ok: false, status, error: text ? `${what}: ${text}` : what })
        }
        response.on('end', done)
        response.on('close', done)
        response.on('error', done)
      },
    )
    const timer = setTimeout(() => {
      request.destroy()
      finish({ ok: false, status: null, error: `no answer within ${timeoutMs} ms` })
    }, timeoutMs)
    request.on('error', (error) => finish({ ok: false, status: null, error: error.message.slice(0, 200) }))
    request.end(body)
  })
}
