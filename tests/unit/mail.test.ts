import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createServer, type Server } from 'node:net'
import { ConfigError, loadConfig } from '../../src/config'
import { createLogger } from '../../src/lib/logger'
import { classifyMailError, createMailTransport, type OutgoingMail } from '../../src/lib/mail'
import { type SmtpSink, startSmtpSink } from '../helpers/smtp'

setDefaultTimeout(30_000)

const logger = createLogger({ logLevel: 'silent', logPretty: false })

const mail = (to: string): OutgoingMail => ({
  from: 'Invoices <invoices@mail.example>',
  to: [to],
  cc: [],
  subject: 'Hello',
  text: 'Hello',
  html: '<p>Hello</p>',
  messageId: `<${crypto.randomUUID()}@mail.example>`,
})

describe('EMAIL_RETRY_SCHEDULE', () => {
  test('when it is not set, then the retries span at least 24 hours', () => {
    const schedule = loadConfig({ NODE_ENV: 'test' }).emails.retryScheduleSeconds
    expect(schedule.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(24 * 3600)
  })

  test('when it is set, then it is read in seconds, and a malformed one stops the start with its name', () => {
    expect(
      loadConfig({ NODE_ENV: 'test', EMAIL_RETRY_SCHEDULE: '1, 2,3' }).emails.retryScheduleSeconds,
    ).toEqual([1, 2, 3])
    for (const bad of ['1,x', '-1', '1.5', '700000']) {
      expect(() => loadConfig({ NODE_ENV: 'test', EMAIL_RETRY_SCHEDULE: bad })).toThrow(ConfigError)
      expect(() => loadConfig({ NODE_ENV: 'test', EMAIL_RETRY_SCHEDULE: bad })).toThrow(
        /EMAIL_RETRY_SCHEDULE/,
      )
    }
  })
})

describe('classifying mail failures', () => {
  test('when the server answers, then 4xx is temporary and 5xx permanent', () => {
    expect(classifyMailError(Object.assign(new Error('Try later'), { responseCode: 451 })).temporary).toBe(
      true,
    )
    expect(classifyMailError(Object.assign(new Error('No such user'), { responseCode: 550 })).temporary).toBe(
      false,
    )
    expect(
      classifyMailError(Object.assign(new Error('Bad login'), { code: 'EAUTH', responseCode: 535 }))
        .temporary,
    ).toBe(false)
  })

  test('when there is no answer, then network trouble is temporary and anything else permanent', () => {
    for (const code of [
      'ETIMEDOUT',
      'ECONNECTION',
      'EDNS',
      'ESOCKET',
      'ECONNREFUSED',
      'ECONNRESET',
      'EAI_AGAIN',
    ]) {
      expect({
        code,
        temporary: classifyMailError(Object.assign(new Error('x'), { code })).temporary,
      }).toEqual({
        code,
        temporary: true,
      })
    }
    expect(classifyMailError(Object.assign(new Error('x'), { code: 'EENVELOPE' })).temporary).toBe(false)
  })
})

describe('the SMTP transport against real sockets', () => {
  let sink: SmtpSink
  let silent: Server
  let silentPort = 0
  beforeAll(async () => {
    sink = await startSmtpSink()
    sink.answer((to) => to.startsWith('busy'), { temporaryFailures: 1 })
    sink.answer((to) => to.startsWith('gone'), { permanent: true })
    // Accepts connections and never greets: the greeting timeout must end the attempt.
    silent = createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    silentPort = (silent.address() as { port: number }).port
  })
  afterAll(async () => {
    await sink.close()
    silent.close()
  })

  test('when the server accepts, answers 451, answers 550, then the outcomes are sent, temporary, permanent', async () => {
    const transport = createMailTransport({ smtpUrl: sink.url, dataDir: '/nonexistent', logger })
    expect(await transport.send(mail('ok@example.com'))).toEqual({ ok: true })
    expect(await transport.send(mail('busy@example.com'))).toMatchObject({ ok: false, temporary: true })
    expect(await transport.send(mail('gone@example.com'))).toMatchObject({ ok: false, temporary: false })
    transport.close()
  })

  test('when nothing listens or the server never greets, then the failure is temporary', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const closedPort = (closed.address() as { port: number }).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const refused = createMailTransport({
      smtpUrl: `smtp://127.0.0.1:${closedPort}`,
      dataDir: '/nonexistent',
      logger,
    })
    expect(await refused.send(mail('a@example.com'))).toMatchObject({ ok: false, temporary: true })

    const mute = createMailTransport({
      smtpUrl: `smtp://127.0.0.1:${silentPort}`,
      dataDir: '/nonexistent',
      logger,
      timeouts: { greeting: 300, socket: 1000 },
    })
    const started = Date.now()
    expect(await mute.send(mail('a@example.com'))).toMatchObject({ ok: false, temporary: true })
    expect(Date.now() - started).toBeLessThan(5000)
  })
})
