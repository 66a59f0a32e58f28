import { Webhook } from 'standardwebhooks'
import type { Config } from '../../config'
import type { Database } from '../../lib/db'
import type { JobQueue } from '../../lib/jobs'
import type { Logger } from '../../lib/logger'
import { DELIVER_JOB, type DeliverJob } from './outbox'
import {
  claimAttempt,
  type DeliveryEndpoint,
  type DeliveryStatus,
  type DeliveryWork,
  updateDelivery,
  updateEndpoint,
} from './repository'
import { postWebhook, type SendOutcome } from './sender'
import { resolveSafely, UnsafeUrlError } from './ssrf'

export interface DeliveryDeps {
  db: Database
  jobs: Pick<JobQueue, 'send' | 'sendNow'>
  logger: Logger
  config: Pick<Config, 'isProduction'> & { webhooks: Config['webhooks'] }
  /** Seen by metrics: each attempt's outcome. */
  onAttempt?: (outcome: 'succeeded' | 'retrying' | 'failed') => void
}

/** The secrets that sign now: the current one, and the previous one during the 24 h after a rotation. */
export function liveSecrets(
  endpoint: Pick<DeliveryEndpoint, 'secret' | 'previous_secret' | 'previous_secret_expires_at'>,
  now = new Date(),
): string[] {
  const previous =
    endpoint.previous_secret &&
    endpoint.previous_secret_expires_at &&
    endpoint.previous_secret_expires_at > now
      ? [endpoint.previous_secret]
      : []
  return [endpoint.secret, ...previous]
}

/**
 * The Standard Webhooks headers: `webhook-id` (the event's id, the same on every retry), `webhook-timestamp`
 * (Unix seconds) and `webhook-signature`, one `v1,<base64>` per live secret, space-separated, computed by the
 * reference implementation.
 */
export function signedHeaders(eventId: string, body: string, secrets: readonly string[], at = new Date()) {
  const signature = secrets.map((secret) => new Webhook(secret).sign(eventId, at, body)).join(' ')
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  }
}

/** The wait before retry number `retry` (0-based), spread by ±20 % so that failed deliveries do not return together. */
export function retryDelaySeconds(schedule: readonly number[], retry: number, random = Math.random): number {
  const base = schedule[retry] ?? 0
  return Math.max(0, Math.round(base * (0.8 + 0.4 * random())))
}

async function attempt(work: DeliveryWork, deps: DeliveryDeps): Promise<SendOutcome> {
  const { endpoint, event } = work
  if (!endpoint.enabled) return { ok: false, status: null, error: 'the endpoint is disabled' }
  const url = new URL(endpoint.url)
  let address: Awaited<ReturnType<typeof resolveSafely>>
  try {
    address = await resolveSafely(url, {
      allowPrivate: deps.config.webhooks.allowPrivateNetworks,
      requireHttps: deps.config.isProduction,
    })
  } catch (error) {
    return {
      ok: false,
      status: null,
      error: error instanceof UnsafeUrlError ? error.message : 'unresolvable host',
    }
  }
  const body = JSON.stringify({
    id: event.id,
    type: event.type,
    createdAt: event.createdAt.toISOString(),
    data: { object: event.object },
  })
  const headers = signedHeaders(event.id, body, liveSecrets(endpoint))
  return postWebhook(url, address, body, headers, deps.config.webhooks.timeoutMs)
}

/**
 * One delivery attempt, as a job: claim it, send it, record the outcome. A 2xx succeeds; `410 Gone` disables
 * the endpoint and fails the delivery; anything else (an error status, a redirect, a timeout, a refused or
 * unsafe address) schedules the next attempt of the retry schedule, with jitter, or fails the delivery after
 * the last one. The next attempt's job is queued in the transaction that records this one.
 */
export async function deliver(job: { id: string; data: DeliverJob }, deps: DeliveryDeps): Promise<void> {
  const { userId, deliveryId, attempt: made } = job.data
  const work = await claimAttempt(deps.db, userId, deliveryId, made, job.id)
  if (!work) return
  const outcome = await attempt(work, deps)
  const attempts = made + 1
  const schedule = deps.config.webhooks.retryScheduleSeconds
  const gone = !outcome.ok && outcome.status === 410
  const lastAttempt = attempts > schedule.length
  const status: DeliveryStatus = outcome.ok ? 'succeeded' : gone || lastAttempt ? 'failed' : 'retrying'
  const delay = status === 'retrying' ? retryDelaySeconds(schedule, attempts - 1) : 0

  const recorded = {
    status,
    last_status_code: outcome.status,
    last_error: outcome.ok ? null : outcome.error,
    next_attempt_at: status === 'retrying' ? new Date(Date.now() + delay * 1000) : null,
  }
  if (status === 'retrying' || gone) {
    // The outcome with what follows from it (the next attempt's job, or the endpoint disabled), together.
    await deps.db.transaction().execute(async (trx) => {
      await updateDelivery(trx, userId, deliveryId, recorded)
      if (gone) {
        await updateEndpoint(trx, userId, work.endpoint.id, {
          enabled: false,
          disabled_reason: 'the receiver answered 410 Gone',
        })
      }
      if (status === 'retrying') {
        await deps.jobs.send(
          trx,
          DELIVER_JOB,
          { userId, deliveryId, attempt: attempts } satisfies DeliverJob,
          {
            startAfterSeconds: delay,
          },
        )
      }
    })
  } else {
    // Succeeded, or failed with nothing else to change: one statement, no transaction around it.
    await updateDelivery(deps.db, userId, deliveryId, recorded)
  }
  deps.onAttempt?.(status)
  if (!outcome.ok) {
    deps.logger.info(
      {
        deliveryId,
        endpointId: work.endpoint.id,
        eventId: work.event.id,
        attempts,
        status,
        error: outcome.error,
      },
      'webhook delivery attempt failed',
    )
  }
}
