import type { AddressInfo } from 'node:net'
import { type ParsedMail, simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'

/**
 * A real SMTP server on loopback for the email tests (smtp-server, the library nodemailer's author keeps for this),
 * collecting each accepted message raw and parsed by mailparser. It answers as a test tells it, per message by its
 * first recipient: accept, refuse the first N attempts with `451` (temporary) and then accept, or always `550`.
 */

export type SmtpBehaviour = { accept: true } | { temporaryFailures: number } | { permanent: true }

export interface ReceivedMail {
  /** The envelope's recipients (To and Cc alike), in order. */
  recipients: string[]
  from: string
  raw: string
  parsed: ParsedMail
  at: number
}

export interface SmtpSink {
  port: number
  url: string
  received: ReceivedMail[]
  /** Attempts refused so far, by first recipient. */
  refused: Map<string, number>
  /** How messages whose first recipient matches `match` are answered. The first matching rule wins. */
  answer(match: (recipient: string) => boolean, behaviour: SmtpBehaviour): void
  /** Resolves once `count` messages for `recipient` have arrived (or fails after `timeoutMs`). */
  waitFor(recipient: string, count?: number, timeoutMs?: number): Promise<ReceivedMail[]>
  close(): Promise<void>
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const received: ReceivedMail[] = []
  const refused = new Map<string, number>()
  const rules: { match: (recipient: string) => boolean; behaviour: SmtpBehaviour }[] = []
  const behaviourFor = (recipient: string): SmtpBehaviour =>
    rules.find((rule) => rule.match(recipient))?.behaviour ?? { accept: true }

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 20 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        const recipients = session.envelope.rcptTo.map((r) => r.address)
        const first = recipients[0] ?? ''
        const behaviour = behaviourFor(first)
        const seen = refused.get(first) ?? 0
        if ('permanent' in behaviour) {
          refused.set(first, seen + 1)
          return callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }))
        }
        if ('temporaryFailures' in behaviour && seen < behaviour.temporaryFailures) {
          refused.set(first, seen + 1)
          return callback(Object.assign(new Error('Try again later'), { responseCode: 451 }))
        }
        const raw = Buffer.concat(chunks)
        const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address
        simpleParser(raw).then(
          (parsed) => {
            received.push({ recipients, from, raw: raw.toString('utf8'), parsed, at: Date.now() })
            callback()
          },
          (error: Error) => callback(error),
        )
      })
    },
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address() as AddressInfo)
    .port

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    received,
    refused,
    answer(match, behaviour) {
      rules.push({ match, behaviour })
    },
    async waitFor(recipient, count = 1, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs
      for (;;) {
        const mails = received.filter((mail) => mail.recipients.includes(recipient))
        if (mails.length >= count) return mails
        if (Date.now() > end) throw new Error(`${mails.length} of ${count} messages for ${recipient} arrived`)
        await Bun.sleep(25)
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
