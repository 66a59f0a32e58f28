import type { Job, JobAttempt, PgBoss } from 'pg-boss'
import type { Logger } from '../logger'

export interface JobContext<T> {
  id: string
  data: T
  /** 0 on the first run, 1 on the first retry, … */
  attempt: number
}

export type JobHandler<T> = (job: JobContext<T>) => Promise<void>

interface Running {
  job: Job<Record<string, unknown>>
  done: Promise<void>
  released: boolean
}

/** Longest pause between fetches after the database failed to answer one. */
const MAX_ERROR_BACKOFF_MS = 5_000
/** Finished jobs are marked complete together, this long after the first of them finished, or at once at 64. */
const COMPLETE_AFTER_MS = 10
const COMPLETE_BATCH = 64

/** Marks finished attempts complete in one statement (index.ts: with the commit not waiting for the disk). */
export type CompleteJobs = (name: string, attempts: JobAttempt[]) => Promise<void>

/**
 * The consumer of one queue in one process: up to `concurrency` jobs at a time, each settled on its own.
 *
 * pg-boss's own `work()` was measured first (src/lib/jobs/index.ts): with one job per fetch each of its
 * workers waits its polling interval (at least 0.5 s) after every job, so 2 processes × 10 workers drained
 * a backlog at 40 jobs/s; with batches, a batch's slots stay taken until its slowest job ends, so one slow
 * webhook receiver (10 s timeout) holds the others. Here a freed slot fetches again at once while the last
 * fetch came back full, an idle queue is polled every `pollMs` (and woken at once by NOTIFY or by a send
 * in this process), and every job is completed or failed through pg-boss (`complete`/`fail` fenced to the
 * fetched attempt), so its retry limit, backoff, expiry of lost jobs and storage stay pg-boss's.
 *
 * Two measured refinements (bench/RESULTS.md, Webhooks): while a backlog waits (the last fetch came back full)
 * the loop fetches again only once half the slots are free, so fetches are fewer and larger; and finished jobs
 * are completed in batches (`COMPLETE_AFTER_MS`), their slots freed at once. A completion lost to a crash
 * leaves its job active until expiry, when it runs again: handlers are idempotent (at least once) anyway.
 */
export class QueueWorker {
  private readonly running = new Map<string, Running>()
  private stopping = false
  private loop: Promise<void> | undefined
  private wakeUp: (() => void) | undefined
  /** A wake that came while a fetch was under way: that fetch may have missed the job. */
  private woken = false
  private errorBackoffMs = 0
  /** The last fetch filled every slot it asked for: more jobs are probably waiting. */
  private backlog = false
  private finished: JobAttempt[] = []
  private flushTimer: ReturnType<typeof setTimeout> | undefined
  private flushing: Promise<void> = Promise.resolve()

  constructor(
    private readonly boss: PgBoss,
    private readonly completeJobs: CompleteJobs,
    readonly name: string,
    private readonly concurrency: number,
    // biome-ignore lint/suspicious/noExplicitAny: handlers declare their own payload type
    private readonly handler: JobHandler<any>,
    private readonly pollMs: () => number,
    private readonly logger: Logger,
    private readonly onJobDone: ((name: string, seconds: number, ok: boolean) => void) | undefined,
  ) {}

  start(): void {
    this.loop ??= this.run()
  }

  /** Fetch now rather than at the next poll: a job was sent, or a slot freed. */
  wake(): void {
    if (this.wakeUp) this.wakeUp()
    else this.woken = true
  }

  get active(): number {
    return this.running.size
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const free = this.concurrency - this.running.size
      if (free < (this.backlog ? Math.ceil(this.concurrency / 2) : 1)) {
        await this.pause(Number.POSITIVE_INFINITY)
        continue
      }
      let jobs: Job<Record<string, unknown>>[]
      try {
        jobs = await this.boss.fetch<Record<string, unknown>>(this.name, { batchSize: free })
        this.errorBackoffMs = 0
      } catch (error) {
        this.errorBackoffMs = Math.min(Math.max(this.errorBackoffMs * 2, this.pollMs()), MAX_ERROR_BACKOFF_MS)
        this.logger.warn({ err: error, queue: this.name }, 'job queue: fetching jobs failed; trying again')
        await this.pause(this.errorBackoffMs)
        continue
      }
      for (const job of jobs) this.execute(job)
      // A full fetch suggests more are waiting: fetch again as soon as enough slots are free.
      this.backlog = jobs.length === free
      if (!this.backlog) await this.pause(this.pollMs())
    }
  }

  private pause(ms: number): Promise<void> {
    if (this.stopping || this.woken) {
      this.woken = false
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => done(), ms) : undefined
      const done = () => {
        clearTimeout(timer)
        if (this.wakeUp === done) this.wakeUp = undefined
        resolve()
      }
      this.wakeUp = done
    })
  }

  private execute(job: Job<Record<string, unknown>>): void {
    const entry: Running = { job, done: Promise.resolve(), released: false }
    entry.done = this.settle(entry).finally(() => {
      this.running.delete(job.id)
      this.wake()
    })
    this.running.set(job.id, entry)
  }

  private async settle(entry: Running): Promise<void> {
    const { job } = entry
    const attempt = { id: job.id, retryCount: job.retryCount }
    const started = performance.now()
    let failure: unknown
    try {
      await this.handler({ id: job.id, data: job.data, attempt: job.retryCount })
    } catch (error) {
      failure = error ?? new Error('the job handler threw')
    }
    const seconds = (performance.now() - started) / 1000
    // Released at shutdown while it ran: the job belongs to its next attempt now.
    if (entry.released) return
    try {
      if (failure === undefined) {
        this.completeLater(attempt)
      } else {
        this.logger.warn(
          { err: failure, queue: this.name, jobId: job.id, attempt: job.retryCount },
          'job failed; the queue retries it while attempts remain',
        )
        await this.boss.fail(this.name, attempt, { message: errorMessage(failure) })
      }
    } catch (error) {
      // The job stays active until its expiry; pg-boss's maintenance then retries it.
      this.logger.error({ err: error, queue: this.name, jobId: job.id }, 'job queue: settling a job failed')
    }
    this.onJobDone?.(this.name, seconds, failure === undefined)
  }

  private completeLater(attempt: JobAttempt): void {
    this.finished.push(attempt)
    if (this.finished.length >= COMPLETE_BATCH) this.flush()
    else this.flushTimer ??= setTimeout(() => this.flush(), COMPLETE_AFTER_MS)
  }

  /** Completes the finished jobs; batches are written one after the other. */
  private flush(): Promise<void> {
    clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    const batch = this.finished
    this.finished = []
    if (batch.length === 0) return this.flushing
    this.flushing = this.flushing.then(() =>
      this.completeJobs(this.name, batch).catch((error) => {
        // They stay active until their expiry; pg-boss's maintenance then retries them.
        this.logger.error(
          { err: error, queue: this.name, jobs: batch.length },
          'job queue: completing finished jobs failed',
        )
      }),
    )
    return this.flushing
  }

  /**
   * No new fetches; jobs in flight get until `deadline` to finish. The rest are released: failed for this
   * attempt (pg-boss moves them to `retry`, due after the queue's retry delay) and, if that was their last
   * attempt, given one more with `retry()`, so none is lost and another process takes them.
   */
  async stop(deadline: number): Promise<void> {
    this.stopping = true
    this.wake()
    await this.loop
    const inFlight = [...this.running.values()]
    if (inFlight.length === 0) return this.flush()
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([
      Promise.all(inFlight.map((entry) => entry.done)),
      new Promise((resolve) => {
        timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))
      }),
    ])
    clearTimeout(timer)
    await this.flush()
    const unfinished = [...this.running.values()]
    for (const entry of unfinished) entry.released = true
    for (const { job } of unfinished) {
      try {
        await this.boss.fail(
          this.name,
          { id: job.id, retryCount: job.retryCount },
          { message: 'released: the process stopped before the job finished' },
        )
        await this.boss.retry(this.name, job.id)
        this.logger.warn({ queue: this.name, jobId: job.id }, 'job released at shutdown for another process')
      } catch (error) {
        this.logger.error(
          { err: error, queue: this.name, jobId: job.id },
          'job queue: releasing a job at shutdown failed; it is retried after its expiry',
        )
      }
    }
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}
