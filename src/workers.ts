import type { Config } from './config'
import { crossTenant, type Database } from './lib/db'
import type { JobQueue } from './lib/jobs'
import type { Logger } from './lib/logger'
import { announceOverdue } from './modules/invoices/overdue'
import { deliver } from './modules/webhooks/deliver'
import { createOutbox, DELIVER_JOB, type DeliverJob } from './modules/webhooks/outbox'
import { deleteEventsBefore } from './modules/webhooks/repository'
import { EVENT_RETENTION_DAYS } from './modules/webhooks/service'

export const OVERDUE_JOB = 'invoices-overdue'
export const EVENTS_CLEANUP_JOB = 'events-cleanup'

export interface WorkerDeps {
  db: Database
  jobs: JobQueue
  logger: Logger
  config: Readonly<Config>
  onWebhookAttempt?: (outcome: 'succeeded' | 'retrying' | 'failed') => void
}

/**
 * The background work of the API, on the job queue: webhook deliveries, the overdue announcements (every
 * 5 minutes, so each time zone's midnight is met soon after it passes) and the event log's clean-up (daily).
 * Every process of every instance works the same queues; each job is done by one of them.
 */
export async function startWorkers(deps: WorkerDeps): Promise<void> {
  const { db, jobs, logger, config } = deps
  const outbox = createOutbox(jobs)
  await jobs.work<DeliverJob>(DELIVER_JOB, { concurrency: 8, retryLimit: 3, retryDelaySeconds: 5 }, (job) =>
    deliver(job, { db, jobs, logger, config, onAttempt: deps.onWebhookAttempt }),
  )
  await jobs.work(OVERDUE_JOB, { concurrency: 1 }, async () => {
    const announced = await announceOverdue(db, outbox)
    if (announced > 0) logger.info({ announced }, 'overdue invoices announced')
  })
  await jobs.work(EVENTS_CLEANUP_JOB, { concurrency: 1 }, async () => {
    const removed = await deleteEventsBefore(
      crossTenant(db),
      new Date(Date.now() - EVENT_RETENTION_DAYS * 86_400_000),
    )
    if (removed > 0) logger.info({ removed }, 'events past retention removed')
  })
  await jobs.schedule(OVERDUE_JOB, '*/5 * * * *')
  await jobs.schedule(EVENTS_CLEANUP_JOB, '17 3 * * *')
}
