import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { sql } from 'kysely'
import { crossTenant, type DatabaseHandle, openDatabase } from '../../src/lib/db'
import { createJobQueue, type JobQueue } from '../../src/lib/jobs'
import { createLogger } from '../../src/lib/logger'
import { createMailTransport } from '../../src/lib/mail'
import { createMetrics } from '../../src/lib/metrics'
import { queueReminders } from '../../src/modules/emails/reminders'
import { REMINDER_CANCELLED, sendEmailJob } from '../../src/modules/emails/send'
import { createOutbox } from '../../src/modules/webhooks/outbox'
import { declareQueues } from '../../src/workers'
import { createTestApp, type TestApp } from '../helpers/app'
import { creditNoteKit } from '../helpers/credit-notes'
import { testDatabaseUrl } from '../helpers/database'
import { addDays, dayIn } from '../helpers/invoice-factory'
import { type SmtpSink, startSmtpSink } from '../helpers/smtp'

// Servers, queues and receivers take seconds on a busy 2-core machine (tests/setup.ts: a preload's default
// timeout reaches only the first file).
setDefaultTimeout(30_000)

/**
 * Payment reminders (API.md "Delivery"): the reminder job run with a clock the test sets, many times and from two
 * job queue instances over two connection pools at once (two processes, as far as the database can tell), while
 * the app's workers send what it queues to a real SMTP server on loopback. Invoices fall due tomorrow, so the
 * app's own scheduled run (today's clock) never reaches them.
 */
const embedded = process.env['TEST_DATABASE_EMBEDDED'] === '1'
const SIDE_SCHEMA = 'pgboss_reminders_test'
const logger = createLogger({ logLevel: 'silent', logPretty: false })

let t: TestApp
let sink: SmtpSink
let kit: ReturnType<typeof creditNoteKit>
let second: DatabaseHandle
const queues: JobQueue[] = []
let first: JobQueue
let other: JobQueue
/** A queue nobody works: a reminder queued through it waits until the test sends it by hand. */
let idle: JobQueue

function queueOn(database: DatabaseHandle, schema?: string) {
  const queue = createJobQueue({
    db: database.db,
    ...(embedded ? {} : { databaseUrl: testDatabaseUrl() }),
    logger,
    ...(schema ? { schema } : {}),
  })
  queues.push(queue)
  return queue
}

beforeAll(async () => {
  sink = await startSmtpSink()
  t = await createTestApp(
    { RATE_LIMIT_PER_MINUTE: '1000000', SMTP_URL: sink.url, EMAIL_RETRY_SCHEDULE: '1,1,1' },
    { workers: true },
  )
  kit = creditNoteKit(t)
  const database = t.deps.database
  second = embedded
    ? database
    : await openDatabase(
        {
          databaseUrl: testDatabaseUrl(),
          dataDir: '/nonexistent',
          db: {
            poolMin: 1,
            poolMax: 5,
            idleTimeoutSeconds: 30,
            connectTimeoutSeconds: 5,
            statementTimeoutMs: 15_000,
            slowQueryMs: 5_000,
          },
        },
        logger,
      )
  first = queueOn(database)
  other = queueOn(second)
  idle = queueOn(database, SIDE_SCHEMA)
  for (const queue of [first, other, idle]) {
    await declareQueues(queue, t.deps.config)
    await queue.start()
  }
})

afterAll(async () => {
  await Promise.all(queues.map((queue) => queue.stop({ timeoutMs: 1000 })))
  await sql.raw(`drop schema if exists ${SIDE_SCHEMA} cascade`).execute(t.deps.database.db.withoutPlugins())
  if (second !== t.deps.database) await second.close()
  await t.close()
  await sink.close()
})

let unique = 0
const address = (what: string) => `${what}-${Date.now().toString(36)}-${unique++}@example.com`

/** Noon UTC of `date` plus `days`: the clock of a run. */
const clockAt = (date: string, days: number) => () => new Date(`${addDays(date, days)}T12:00:00Z`)

/** Runs the reminder job `times` times from each of the two queue instances (two pools), all at once. */
async function runEverywhere(now: () => Date, times = 4): Promise<number> {
  const runs = [first, other].flatMap((jobs, i) =>
    Array.from({ length: times }, () =>
      queueReminders({
        db: i === 0 ? t.deps.database.db : second.db,
        jobs,
        logger,
        mailFrom: t.deps.config.mail.from,
        now,
      }),
    ),
  )
  return (await Promise.all(runs)).reduce((a, b) => a + b, 0)
}

/** A user with reminders at 3 and 10 days (enabled or not) and an issued invoice due tomorrow. */
async function overdueLater(enabled = true, timezone = 'UTC') {
  const token = await kit.newUser({ timezone, reminders: { enabled, daysAfterDue: [3, 10] } })
  const recipient = address('late-payer')
  const customerId = await kit.newCustomer(token, { name: 'Late Payer', email: recipient })
  const today = dayIn(timezone)
  const dueDate = addDays(today, 1)
  const created = await t.request('/api/v1/invoices', {
    method: 'POST',
    token,
    json: {
      customerId,
      issueDate: today,
      dueDate,
      items: [{ description: 'Work', quantity: 1, unitPrice: 10_000, taxRate: 0 }],
    },
  })
  expect(created.status).toBe(201)
  const { id } = (await created.json()) as { id: string }
  const sent = await t.request(`/api/v1/invoices/${id}/mark-as-sent`, { method: 'POST', token })
  expect(sent.status).toBe(200)
  return { token, id, recipient, dueDate, path: `/api/v1/invoices/${id}` }
}

const reminderSteps = async (invoiceId: string) =>
  (
    await crossTenant(t.deps.database.db)
      .selectFrom('emails')
      .select(['reminder_step', 'status'])
      .where('invoice_id', '=', invoiceId)
      .where('kind', '=', 'reminder')
      .orderBy('reminder_step')
      .execute()
  ).map((row) => row.reminder_step)

async function emailsOf(token: string, path: string) {
  const res = await t.request(`${path}/emails`, { token })
  return (
    (await res.json()) as { data: { id: string; kind: string; status: string; lastError: string | null }[] }
  ).data
}

async function allSent(token: string, path: string, count: number) {
  const end = Date.now() + 20_000
  for (;;) {
    const emails = await emailsOf(token, path)
    if (emails.length === count && emails.every((e) => e.status === 'sent')) return emails
    if (Date.now() > end) throw new Error(`emails: ${JSON.stringify(emails)}`)
    await Bun.sleep(50)
  }
}

describe('payment reminders', () => {
  test('when an invoice is 3 and then 10 days overdue and the job runs many times from two processes, then exactly two reminders go out', async () => {
    const invoice = await overdueLater()
    // Not yet due, and due but before the first step: nothing.
    await runEverywhere(clockAt(invoice.dueDate, 0))
    await runEverywhere(clockAt(invoice.dueDate, 2))
    expect(await reminderSteps(invoice.id)).toEqual([])

    await runEverywhere(clockAt(invoice.dueDate, 3))
    await runEverywhere(clockAt(invoice.dueDate, 5))
    expect(await reminderSteps(invoice.id)).toEqual([3])
    await runEverywhere(clockAt(invoice.dueDate, 10))
    await runEverywhere(clockAt(invoice.dueDate, 40))
    expect(await reminderSteps(invoice.id)).toEqual([3, 10])

    const emails = await allSent(invoice.token, invoice.path, 2)
    expect(emails.map((e) => e.kind)).toEqual(['reminder', 'reminder'])
    const mails = await sink.waitFor(invoice.recipient, 2)
    await Bun.sleep(300)
    expect(sink.received.filter((m) => m.recipients.includes(invoice.recipient))).toHaveLength(2)
    expect(mails[0]!.parsed.subject).toMatch(/^Reminder: Invoice INV-\d+ from Seller GmbH is overdue$/)
    expect(mails[0]!.parsed.text).toContain('overdue')
    expect(mails[0]!.parsed.attachments).toHaveLength(1)
    const events = await kit.events(invoice.token, invoice.id)
    // One event per step; the two emails' jobs may finish in either order.
    expect(
      events
        .filter((e) => e.type === 'reminder_sent')
        .map((e) => (e.data as { reminderStep: number }).reminderStep)
        .sort((a, b) => a - b),
    ).toEqual([3, 10])
  })

  test("when the days past due are counted, then the profile's time zone decides when a day begins", async () => {
    // UTC+14: at 12:00 UTC on the second day after the due date, it is already the third day there.
    const invoice = await overdueLater(true, 'Pacific/Kiritimati')
    await runEverywhere(() => new Date(`${addDays(invoice.dueDate, 2)}T09:00:00Z`))
    expect(await reminderSteps(invoice.id)).toEqual([])
    await runEverywhere(() => new Date(`${addDays(invoice.dueDate, 2)}T10:00:00Z`))
    expect(await reminderSteps(invoice.id)).toEqual([3])
    await allSent(invoice.token, invoice.path, 1)
  })

  test('when the invoice is paid, then no reminder is queued', async () => {
    const invoice = await overdueLater()
    const paid = await kit.pay(invoice.token, invoice.id, 10_000)
    expect(paid.status).toBe(201)
    await runEverywhere(clockAt(invoice.dueDate, 12))
    expect(await reminderSteps(invoice.id)).toEqual([])
    expect(await emailsOf(invoice.token, invoice.path)).toEqual([])
  })

  test('when a queued reminder finds its invoice paid at send time, then it is not sent and ends failed with the reason', async () => {
    const invoice = await overdueLater()
    // Queued through a queue no worker takes from, so that the payment comes first.
    const queued = await queueReminders({
      db: t.deps.database.db,
      jobs: idle,
      logger,
      mailFrom: t.deps.config.mail.from,
      now: clockAt(invoice.dueDate, 4),
    })
    expect(queued).toBeGreaterThanOrEqual(1)
    const [reminder] = await emailsOf(invoice.token, invoice.path)
    expect(reminder).toMatchObject({ kind: 'reminder', status: 'queued' })
    expect((await kit.pay(invoice.token, invoice.id, 10_000)).status).toBe(201)

    const userId = (
      await crossTenant(t.deps.database.db)
        .selectFrom('emails')
        .select('user_id')
        .where('id', '=', reminder!.id)
        .executeTakeFirstOrThrow()
    ).user_id
    const outcomes: string[] = []
    await sendEmailJob(
      { id: crypto.randomUUID(), data: { userId, emailId: reminder!.id, attempt: 0 } },
      {
        db: t.deps.database.db,
        jobs: idle,
        logger,
        outbox: createOutbox(idle),
        transport: createMailTransport({ smtpUrl: sink.url, dataDir: t.deps.config.dataDir, logger }),
        config: t.deps.config,
        onAttempt: (outcome) => outcomes.push(outcome),
        documents: {
          storage: t.deps.storage,
          metrics: createMetrics(),
          storageTimeoutMs: 5_000,
          logger,
          pdfUrlTtlSeconds: 60,
        },
      },
    )
    const [after] = await emailsOf(invoice.token, invoice.path)
    expect(after).toMatchObject({ status: 'failed', lastError: REMINDER_CANCELLED })
    // Counted apart from failures, so that the email alert does not fire on invoices paid in time.
    expect(outcomes).toEqual(['cancelled'])
    expect(sink.received.filter((m) => m.recipients.includes(invoice.recipient))).toHaveLength(0)
    const types = (await kit.events(invoice.token, invoice.id)).map((e) => e.type)
    expect(types).not.toContain('reminder_sent')
    expect(types).not.toContain('email_failed')
  })

  test('when reminders are enabled late, then only the latest step due is sent, once', async () => {
    const invoice = await overdueLater(false)
    const late = clockAt(invoice.dueDate, 12)
    await runEverywhere(late)
    expect(await reminderSteps(invoice.id)).toEqual([])

    const enabled = await t.request('/api/v1/me', {
      method: 'PATCH',
      token: invoice.token,
      json: { reminders: { enabled: true } },
    })
    expect(enabled.status).toBe(200)
    await runEverywhere(late)
    await runEverywhere(clockAt(invoice.dueDate, 13))
    expect(await reminderSteps(invoice.id)).toEqual([10])
    await allSent(invoice.token, invoice.path, 1)
    await sink.waitFor(invoice.recipient, 1)
    await Bun.sleep(300)
    expect(sink.received.filter((m) => m.recipients.includes(invoice.recipient))).toHaveLength(1)
  })
})
