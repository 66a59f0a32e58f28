import type { Transaction } from '../../lib/db'
import type { JobQueue } from '../../lib/jobs'
import type { EventType } from './model'
import { insertEventWithDeliveries } from './repository'

export const DELIVER_JOB = 'webhook-deliver'

/** A delivery job: attempt `attempt + 1` of a delivery (`attempt` is how many were made before). */
export interface DeliverJob extends Record<string, unknown> {
  userId: string
  deliveryId: string
  attempt: number
}

/** Writes events; given to every module whose changes announce themselves (API.md "Webhooks"). */
export interface Outbox {
  /**
   * Records `type` with the resource as the API answers it, in the change's own transaction, with a delivery
   * and its job for each endpoint listening: all of it commits with the change or not at all.
   */
  record(trx: Transaction, userId: string, type: EventType, object: object): Promise<void>
}

export function createOutbox(jobs: Pick<JobQueue, 'send'>): Outbox {
  return {
    async record(trx, userId, type, object) {
      const { deliveryIds } = await insertEventWithDeliveries(trx, userId, type, object)
      for (const deliveryId of deliveryIds) {
        await jobs.send(trx, DELIVER_JOB, { userId, deliveryId, attempt: 0 } satisfies DeliverJob)
      }
    },
  }
}

/** A deleted resource's last representation, marked as API.md says. */
export const deleted = (object: object) => ({ ...object, deleted: true })
