import type { Server } from 'bun'
import { Webhook } from 'standardwebhooks'

/**
 * A webhook receiver on loopback for the delivery tests: a real HTTP server that checks every request with the
 * `standardwebhooks` package (the reference implementation of the Standard Webhooks specification, not the
 * API's own code), records what verified and what did not, and answers as a test tells it: a status, an answer
 * that comes too late, a redirect, or no answer at all (stopped, then started again on the same port).
 */

/** What the receiver does with a request: answer a status, answer only after `sleepMs`, or redirect. */
export type Behaviour =
  | number
  | { status: number; body?: string }
  | { sleepMs: number; status?: number }
  | { redirectTo: string; status?: 301 | 302 | 303 | 307 | 308 }

/** A request that verified: the Standard Webhooks message and how it came. */
export interface Received {
  /** `webhook-id`. */
  id: string
  type: string
  object: Record<string, unknown>
  payload: { id: string; type: string; createdAt: string; data: { object: Record<string, unknown> } }
  body: string
  path: string
  /** The request's headers, names in lower case. */
  headers: Record<string, string>
  /** The `v1,…` entries of `webhook-signature`. */
  signatures: string[]
  /** Each known secret that verifies the request on its own. */
  verifiedBy: string[]
  /** The nth time this `webhook-id` arrived (1 for the first). */
  seen: number
  /** `Date.now()` at arrival. */
  at: number
  /** What the receiver answered (a status), or `'late'` for an answer sent after a sleep. */
  answered: number | 'late'
}

/** A request that did not verify with any known secret; answered 401. */
export interface Refused {
  path: string
  headers: Record<string, string>
  body: string
  reason: string
  at: number
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>/hooks/<name>`: a URL on this receiver (the path is recorded, nothing more). */
  url(name?: string): string
  readonly port: number
  readonly received: Received[]
  readonly refused: Refused[]
  /** Every request, verified or not, by path: shows whether a redirect target was ever asked for. */
  readonly hits: { path: string; at: number }[]
  /** The secrets requests are verified with (any one verifying is enough; each is tried on its own). */
  setSecrets(...secrets: string[]): void
  addSecret(secret: string): void
  /** The answer from now on: a behaviour, or a function of the message (e.g. fail its first arrival). */
  answer(behaviour: Behaviour | ((message: Received) => Behaviour)): void
  /** Answers for the next requests, in order, before the default answer applies again. */
  answerNext(...behaviours: Behaviour[]): void
  /** Stops listening: connections are refused until `start`. */
  stop(): Promise<void>
  /** Listens again on the same port. */
  start(): Promise<void>
  readonly running: boolean
  /** Messages with this `webhook-id`. */
  byId(id: string): Received[]
  /** Waits until `done(received)` holds; fails after `timeoutMs` with what arrived. */
  waitFor(done: (received: Received[]) => boolean, timeoutMs?: number, what?: string): Promise<Received[]>
  /** Waits until `id` arrived at least `times` times. */
  waitForId(id: string, times?: number, timeoutMs?: number): Promise<Received[]>
  close(): Promise<void>
}

const lowerCaseHeaders = (headers: Headers): Record<string, string> => {
  const out: Record<string, string> = {}
  headers.forEach((value, key) => {
    out[key.toLowerCase()] = value
  })
  return out
}

const statusOf = (behaviour: Behaviour): number =>
  typeof behaviour === 'number'
    ? behaviour
    : 'redirectTo' in behaviour
      ? (behaviour.status ?? 302)
      : (behaviour.status ?? 200)

export async function startWebhookReceiver(options: { secrets?: string[] } = {}): Promise<WebhookReceiver> {
  let secrets = [...(options.secrets ?? [])]
  let fallback: Behaviour | ((message: Received) => Behaviour) = 200
  const queue: Behaviour[] = []
  const received: Received[] = []
  const refused: Refused[] = []
  const hits: { path: string; at: number }[] = []
  const seenCount = new Map<string, number>()
  let server: Server<undefined> | undefined
  let port = 0

  async function handle(request: Request): Promise<Response> {
    const at = Date.now()
    const path = new URL(request.url).pathname
    hits.push({ path, at })
    const body = await request.text()
    const headers = lowerCaseHeaders(request.headers)
    const verifiedBy: string[] = []
    let reason = secrets.length === 0 ? 'the receiver knows no secret' : ''
    let parsed: unknown
    for (const secret of secrets) {
      try {
        parsed = new Webhook(secret).verify(body, headers)
        verifiedBy.push(secret)
      } catch (error) {
        reason ||= String((error as Error).message)
      }
    }
    if (verifiedBy.length === 0) {
      refused.push({ path, headers, body, reason, at })
      return new Response('signature refused', { status: 401 })
    }
    const payload = parsed as Received['payload']
    const id = headers['webhook-id']!
    const seen = (seenCount.get(id) ?? 0) + 1
    seenCount.set(id, seen)
    const message: Received = {
      id,
      type: payload.type,
      object: payload.data?.object,
      payload,
      body,
      path,
      headers,
      signatures: (headers['webhook-signature'] ?? '').split(' ').filter(Boolean),
      verifiedBy,
      seen,
      at,
      answered: 200,
    }
    const behaviour = queue.shift() ?? (typeof fallback === 'function' ? fallback(message) : fallback)
    message.answered = statusOf(behaviour)
    received.push(message)
    if (typeof behaviour === 'number') return new Response(null, { status: behaviour })
    if ('redirectTo' in behaviour) {
      return new Response(null, { status: message.answered, headers: { location: behaviour.redirectTo } })
    }
    if ('sleepMs' in behaviour) {
      message.answered = 'late'
      await Bun.sleep(behaviour.sleepMs)
      return new Response('late', { status: behaviour.status ?? 200 })
    }
    return new Response(behaviour.body ?? null, { status: behaviour.status })
  }

  function listen() {
    server = Bun.serve({ hostname: '127.0.0.1', port, idleTimeout: 30, fetch: handle })
    port = server.port ?? port
  }
  listen()

  const self: WebhookReceiver = {
    url: (name = 'default') => `http://127.0.0.1:${port}/hooks/${name}`,
    get port() {
      return port
    },
    received,
    refused,
    hits,
    setSecrets(...values) {
      secrets = [...values]
    },
    addSecret(secret) {
      secrets.push(secret)
    },
    answer(behaviour) {
      fallback = behaviour
    },
    answerNext(...behaviours) {
      queue.push(...behaviours)
    },
    async stop() {
      await server?.stop(true)
      server = undefined
    },
    async start() {
      if (server) return
      // The port was just released; a moment's retry covers a slow release.
      for (let attempt = 0; ; attempt++) {
        try {
          listen()
          return
        } catch (error) {
          if (attempt >= 50) throw error
          await Bun.sleep(20)
        }
      }
    },
    get running() {
      return server !== undefined
    },
    byId: (id) => received.filter((message) => message.id === id),
    async waitFor(done, timeoutMs = 15_000, what = 'the expected webhooks') {
      const deadline = Date.now() + timeoutMs
      while (!done(received)) {
        if (Date.now() > deadline) {
          const summary = received.map((m) => `${m.type} ${m.id} #${m.seen} → ${m.answered}`).join('\n  ')
          throw new Error(
            `${what} did not arrive within ${timeoutMs} ms; received ${received.length}:\n  ${summary}` +
              (refused.length > 0 ? `\nrefused ${refused.length}: ${refused[0]!.reason}` : ''),
          )
        }
        await Bun.sleep(20)
      }
      return received
    },
    async waitForId(id, times = 1, timeoutMs = 15_000) {
      await self.waitFor(
        (all) => all.filter((m) => m.id === id).length >= times,
        timeoutMs,
        `webhook ${id} ×${times}`,
      )
      return self.byId(id)
    },
    async close() {
      await server?.stop(true)
      server = undefined
    },
  }
  return self
}
