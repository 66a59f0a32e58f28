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

export function createOutbox(jobs: Pick<JobQueue, 'embeddedInsert'>): Outbox {
  // The jobs' data is built in SQL (repository.ts) in the shape of DeliverJob, attempt 0.
  const deliveryJobs = jobs.embeddedInsert(DELIVER_JOB)
  return {
    async record(trx, userId, type, object) {
      await insertEventWithDeliveries(trx, userId, type, object, deliveryJobs)
    },
  }
}

/** A deleted resource's last representation, marked as API.md says. */
export const deleted = (object: object) => ({ ...object, deleted: true })
