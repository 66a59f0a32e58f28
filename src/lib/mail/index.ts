import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { createTransport } from 'nodemailer'
import type { Logger } from '../logger'

/** One message, ready to go: every header value is a single line (the callers refuse CR and LF). */
export interface OutgoingMail {
  from: string
  to: readonly string[]
  cc: readonly string[]
  replyTo?: string | undefined
  subject: string
  text: string
  html: string
  /** `<id@domain>`: the same on every attempt, so that a receiver can recognise a message sent twice. */
  messageId: string
  attachments?: readonly { filename: string; content: Uint8Array; contentType: string }[]
}

export type MailOutcome =
  | { ok: true /** The `.eml` file written instead of sending (development and tests). */; file?: string }
  | {
      ok: false /** Worth trying again later (4xx, timeouts, refused connections, DNS). */
      temporary: boolean
      error: string
    }

export interface MailTransport {
  readonly kind: 'smtp' | 'file'
  send(mail: OutgoingMail): Promise<MailOutcome>
  close(): void
}

export interface MailTransportOptions {
  /** `smtp://` or `smtps://`; undefined writes `.eml` files under `dataDir/mail/` (never in production). */
  smtpUrl: string | undefined
  dataDir: string
  logger: Logger
  /** Bounds on one attempt (ms): a stuck server must not hold a job until the queue takes it for lost. */
  timeouts?: { connection?: number; greeting?: number; socket?: number }
}

/** Network failures that say nothing about the message: the same message may well pass later. */
const TEMPORARY_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPROTOCOL',
  'ETLS',
])

/**
 * Whether a failed send is worth another attempt. The server's reply decides when there is one (RFC 5321: 4xx is
 * transient, 5xx permanent); without a reply, network trouble (timeouts, refused or reset connections, DNS) is
 * temporary, and anything else (a message nodemailer refuses to build, rejected credentials) is permanent, since
 * sending it again changes nothing.
 */
export function classifyMailError(error: unknown): { temporary: boolean; error: string } {
  const e = (error ?? {}) as {
    responseCode?: unknown
    code?: unknown
    originalCode?: unknown
    message?: unknown
  }
  const message = (typeof e.message === 'string' ? e.message : String(error))
    .replace(/\s+/g, ' ')
    .slice(0, 500)
  if (typeof e.responseCode === 'number') {
    return { temporary: e.responseCode >= 400 && e.responseCode < 500, error: message }
  }
  const codes = [e.code, e.originalCode].filter((code): code is string => typeof code === 'string')
  const temporary = codes.some((code) => TEMPORARY_CODES.has(code)) || /timeout|timed out/i.test(message)
  return { temporary, error: message }
}

const DEFAULT_TIMEOUTS = { connection: 10_000, greeting: 10_000, socket: 30_000 }

/** The nodemailer message of `mail`: its own Message-ID, and no X-Mailer naming the library. */
function toNodemailer(mail: OutgoingMail) {
  return {
    from: mail.from,
    to: [...mail.to],
    ...(mail.cc.length > 0 ? { cc: [...mail.cc] } : {}),
    ...(mail.replyTo ? { replyTo: mail.replyTo } : {}),
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    messageId: mail.messageId,
    xMailer: false as const,
    disableFileAccess: true,
    disableUrlAccess: true,
    attachments: (mail.attachments ?? []).map((a) => ({
      filename: a.filename,
      content: Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength),
      contentType: a.contentType,
    })),
  }
}

/**
 * SMTP when `smtpUrl` is set, else a writer of `.eml` files (nodemailer's stream transport, buffered) whose path is
 * logged, so that development shows every message without a mail server.
 */
export function createMailTransport(options: MailTransportOptions): MailTransport {
  const logger = options.logger.child({ component: 'mail' })
  if (options.smtpUrl === undefined) {
    const dir = path.join(options.dataDir, 'mail')
    const transport = createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
    return {
      kind: 'file',
      async send(mail) {
        try {
          const info = await transport.sendMail(toNodemailer(mail))
          await mkdir(dir, { recursive: true })
          // Named after the Message-ID, so that a retried attempt overwrites its own file.
          const name = mail.messageId.replace(/^<|>$/g, '').replace(/[^A-Za-z0-9._-]/g, '_')
          const file = path.join(dir, `${name}.eml`)
          await writeFile(file, info.message as Buffer)
          logger.info({ file, to: mail.to, subject: mail.subject }, 'email written to a file (no SMTP_URL)')
          return { ok: true, file }
        } catch (error) {
          return { ok: false, ...classifyMailError(error) }
        }
      },
      close() {},
    }
  }
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts }
  const transport = createTransport({
    url: options.smtpUrl,
    connectionTimeout: timeouts.connection,
    greetingTimeout: timeouts.greeting,
    socketTimeout: timeouts.socket,
  })
  return {
    kind: 'smtp',
    async send(mail) {
      try {
        await transport.sendMail(toNodemailer(mail))
        return { ok: true }
      } catch (error) {
        return { ok: false, ...classifyMailError(error) }
      }
    },
    close() {
      transport.close()
    },
  }
}
