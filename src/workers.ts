import type { Config } from './config'
import { crossTenant, type Database } from './lib/db'
import type { JobQueue } from './lib/jobs'
import type { Logger } from './lib/logger'
import { createMailTransport, type MailTransport } from './lib/mail'
import { createMetrics, type Metrics } from './lib/metrics'
import { createStorage, type ObjectStorage, S3Storage } from './lib/storage'
import { queueReminders, REMINDERS_JOB } from './modules/emails/reminders'
import { type EmailAttemptOutcome, sendEmailJob } from './modules/emails/send'
import { EMAIL_JOB, type EmailJob } from './modules/emails/service'
import { announceOverdue } from './modules/invoices/overdue'
import { deliver } from './modules/webhooks/deliver'
import { createOutbox, DELIVER_JOB, type DeliverJob } from './modules/webhooks/outbox'
import { deleteEventsBefore } from './modules/webhooks/repository'
import { EVENT_RETENTION_DAYS } from './modules/webhooks/service'
import { removeOrphanedDocuments } from './ops/orphans'
import { setPublicBaseUrl } from './shared/links'

export const OVERDUE_JOB = 'invoices-overdue'
export const EVENTS_CLEANUP_JOB = 'events-cleanup'
export const ORPHANS_JOB = 'documents-orphans'

/** How each queue is worked; declared by every process, so that any can enqueue before workers start. */
/**
 * An attempt is bounded by WEBHOOK_TIMEOUT_MS: 20 s past it, its job is taken for lost (its process died) and
 * retried, instead of after the queue's default five minutes. 32 at once per process: an attempt holds a
 * database connection for two short statements only and mostly waits on the receiver, so slow receivers do
 * not stall the rest (measured: 8 → 32 gained ≈ 5 % on a fast receiver, bench/RESULTS.md).
 */
const deliveryQueue = (config: Pick<Config, 'webhooks'>) => ({
  concurrency: 32,
  retryLimit: 3,
  retryDelaySeconds: 5,
  expireInSeconds: Math.ceil(config.webhooks.timeoutMs / 1000) + 20,
})
const SINGLE = { concurrency: 1 }
/**
 * An email attempt is bounded by the SMTP timeouts (src/lib/mail: 10 s to connect, 10 s for the greeting, 30 s of
 * silence), so a job active for two minutes is taken for lost. Failures are retried by the email's own schedule
 * (EMAIL_RETRY_SCHEDULE), with its job queued by the attempt that failed; the queue's retries only cover a handler
 * that threw (the database was away).
 */
const EMAIL_QUEUE = { concurrency: 8, retryLimit: 5, retryDelaySeconds: 30, expireInSeconds: 120 }

/** Creates the app's queues, so that a process sends to them inside transactions, workers or not. */
export async function declareQueues(
  jobs: Pick<JobQueue, 'declare'>,
  config: Pick<Config, 'webhooks'>,
): Promise<void> {
  await jobs.declare(DELIVER_JOB, deliveryQueue(config))
  await jobs.declare(OVERDUE_JOB, SINGLE)
  await jobs.declare(EVENTS_CLEANUP_JOB, SINGLE)
  await jobs.declare(ORPHANS_JOB, SINGLE)
  await jobs.declare(EMAIL_JOB, EMAIL_QUEUE)
  await jobs.declare(REMINDERS_JOB, SINGLE)
}

export interface WorkerDeps {
  db: Database
  jobs: JobQueue
  logger: Logger
  config: Readonly<Config>
  /** The documents' store, for the orphan clean-up; by default one made from `config` for each run. */
  storage?: ObjectStorage
  onWebhookAttempt?: (outcome: 'succeeded' | 'retrying' | 'failed') => void
  onEmailAttempt?: (outcome: EmailAttemptOutcome) => void
  /** Where a PDF put back for an email attachment is timed; by default a registry of the workers' own. */
  metrics?: Pick<Metrics, 'pdfRenderDuration' | 'pdfUploadDuration'>
  /** How emails leave; by default SMTP_URL, or `.eml` files under DATA_DIR/mail without it. */
  mail?: MailTransport
  /** The reminders' clock; tests set the date. */
  now?: () => Date
}

/**
 * The background work of the API, on the job queue: webhook deliveries, emails and the payment reminders (queued
 * every 15 minutes), the overdue announcements (every 5 minutes, so each time zone's midnight is met soon after it
 * passes), the event log's clean-up and the removal of orphaned document objects (daily).
 * Every process of every instance works the same queues; each job is done by one of them.
 */
export async function startWorkers(deps: WorkerDeps): Promise<void> {
  const { db, jobs, logger, config } = deps
  setPublicBaseUrl(config.publicUrl)
  const outbox = createOutbox(jobs)
  await jobs.work<DeliverJob>(DELIVER_JOB, deliveryQueue(config), (job) =>
    deliver(job, { db, jobs, logger, config, onAttempt: deps.onWebhookAttempt }),
  )
  await jobs.work(OVERDUE_JOB, SINGLE, async () => {
    const announced = await announceOverdue(db, outbox)
    if (announced > 0) logger.info({ announced }, 'overdue invoices announced')
  })
  await jobs.work(EVENTS_CLEANUP_JOB, SINGLE, async () => {
    const removed = await deleteEventsBefore(
      crossTenant(db),
      new Date(Date.now() - EVENT_RETENTION_DAYS * 86_400_000),
    )
    if (removed > 0) logger.info({ removed }, 'events past retention removed')
  })
  await jobs.work(ORPHANS_JOB, SINGLE, async () => {
    const storage =
      deps.storage ??
      (await createStorage({
        s3: config.s3,
        dataDir: config.dataDir,
        publicBaseUrl: config.publicUrl,
        timeoutMs: config.storageTimeoutMs,
      }))
    try {
      await removeOrphanedDocuments(db, storage, logger)
    } finally {
      if (storage !== deps.storage && storage instanceof S3Storage) storage.destroy()
    }
  })
  const transport =
    deps.mail ?? createMailTransport({ smtpUrl: config.mail.smtpUrl, dataDir: config.dataDir, logger })
  // Emails read PDFs for attachments all day: one store for the process, unlike the daily clean-up's.
  let documentStorage: Promise<ObjectStorage> | undefined
  const emailStorage = async (): Promise<ObjectStorage> => {
    if (deps.storage) return deps.storage
    documentStorage ??= createStorage({
      s3: config.s3,
      dataDir: config.dataDir,
      publicBaseUrl: config.publicUrl,
      timeoutMs: config.storageTimeoutMs,
    })
    return documentStorage
  }
  // Only a PDF put back from its snapshot is timed here; made on first use.
  let pdfMetrics = deps.metrics
  const emailMetrics = () => {
    pdfMetrics ??= createMetrics()
    return pdfMetrics
  }
  await jobs.work<EmailJob>(EMAIL_JOB, EMAIL_QUEUE, async (job) =>
    sendEmailJob(job, {
      db,
      jobs,
      logger,
      outbox,
      transport,
      config,
      ...(deps.onEmailAttempt ? { onAttempt: deps.onEmailAttempt } : {}),
      documents: {
        storage: await emailStorage(),
        metrics: emailMetrics(),
        storageTimeoutMs: config.storageTimeoutMs,
        logger,
        pdfUrlTtlSeconds: config.pdfUrlTtlSeconds,
      },
    }),
  )
  await jobs.work(REMINDERS_JOB, SINGLE, async () => {
    await queueReminders({
      db,
      jobs,
      logger,
      mailFrom: config.mail.from,
      now: deps.now ?? (() => new Date()),
    })
  })
  await jobs.schedule(OVERDUE_JOB, '*/5 * * * *')
  await jobs.schedule(REMINDERS_JOB, '*/15 * * * *')
  await jobs.schedule(EVENTS_CLEANUP_JOB, '17 3 * * *')
  await jobs.schedule(ORPHANS_JOB, '41 4 * * *')
}
