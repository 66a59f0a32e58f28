import os from 'node:os'
import path from 'node:path'

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
const TRUSTED_PROXY_HEADERS = ['fly-client-ip', 'x-forwarded-for', 'x-real-ip', 'cf-connecting-ip'] as const
export type TrustProxyHeader = (typeof TRUSTED_PROXY_HEADERS)[number]

export interface CognitoConfig {
  issuer: string
  jwksUrl: string
  clientIds: readonly string[]
  /** Least time between two JWKS fetches triggered by unknown key ids. */
  jwksCooldownSeconds: number
}

export interface S3Config {
  bucket: string
  endpoint: string | undefined
  forcePathStyle: boolean
  region: string
  serverSideEncryption: 'AES256' | 'aws:kms' | undefined
  /** Undefined leaves credentials to the AWS SDK's default chain (instance role, profile, …). */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined
}

export interface Config {
  nodeEnv: string
  isProduction: boolean
  port: number
  /** Base URL of this API as clients reach it; used for links the API serves itself. */
  publicUrl: string
  dataDir: string
  /** Undefined means the embedded PGlite database in `dataDir`. */
  databaseUrl: string | undefined
  db: {
    poolMin: number
    poolMax: number
    idleTimeoutSeconds: number
    connectTimeoutSeconds: number
    statementTimeoutMs: number
    /** Client-side bound on waiting for an answer; undefined means the statement timeout plus a margin. */
    queryTimeoutMs?: number | undefined
    slowQueryMs: number
  }
  /** Undefined means PDFs on local disk in `dataDir`, behind links the API signs. */
  s3: S3Config | undefined
  storageTimeoutMs: number
  pdfUrlTtlSeconds: number
  /** Undefined means the local development issuer (never in production). */
  cognito: CognitoConfig | undefined
  rateLimitPerMinute: number
  trustProxy: TrustProxyHeader | undefined
  corsOrigins: readonly string[]
  metricsToken: string | undefined
  /** Serve `/metrics` on this port only, for a scraper on a private network; not on the API's port. */
  metricsPort: number | undefined
  logLevel: LogLevel
  logPretty: boolean
  redisUrl: string | undefined
  shutdownTimeoutMs: number
  /** Server processes sharing the port (a supervisor and its workers when above 1). */
  webConcurrency: number
  /** A worker whose resident memory exceeds this many MiB is replaced (drained); undefined means no limit. */
  maxWorkerMemoryMb: number | undefined
  mail: {
    /** `smtp://` or `smtps://` with credentials; undefined writes `.eml` files to `DATA_DIR/mail` (never in production). */
    smtpUrl: string | undefined
    /** The From address of every message (`Name <address>` or an address). */
    from: string
  }
  emails: {
    /** Seconds before each retry after a temporary failure; the attempt after the last fails the email. */
    retryScheduleSeconds: readonly number[]
  }
  webhooks: {
    /** Development and tests only: lets endpoints resolve to loopback and private addresses. */
    allowPrivateNetworks: boolean
    /** Seconds before each retry after a failed attempt; the attempt after the last fails the delivery. */
    retryScheduleSeconds: readonly number[]
    timeoutMs: number
  }
}

/** API.md "Webhooks": 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18_000, 36_000, 36_000] as const
/** Emails: 1 min, 5 min, 15 min, 1 h, 3 h, 6 h, 6 h, 8 h: about 24.4 h of retries (API.md "Delivery"). */
const DEFAULT_EMAIL_RETRY_SCHEDULE = [60, 300, 900, 3600, 10_800, 21_600, 21_600, 28_800] as const

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

/** Parses the environment once; collects every problem before failing so one start-up shows them all. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const problems: string[] = []
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim()
    return value === '' ? undefined : value
  }
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name)
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`)
      return fallback
    }
    return value
  }
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = read(name)?.toLowerCase()
    if (raw === undefined) return fallback
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true
    if (['0', 'false', 'no', 'off'].includes(raw)) return false
    problems.push(`${name} must be true or false (got "${raw}")`)
    return fallback
  }
  const url = (name: string, value: string | undefined, protocols: string[]): string | undefined => {
    if (value === undefined) return undefined
    try {
      const parsed = new URL(value)
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol')
      return value
    } catch {
      problems.push(`${name} must be a ${protocols.join(' or ')} URL`)
      return undefined
    }
  }

  const nodeEnv = read('NODE_ENV') ?? 'development'
  const isProduction = nodeEnv === 'production'
  const port = int('PORT', 3000, 0, 65535)
  const configuredPublicUrl = url('PUBLIC_URL', read('PUBLIC_URL'), ['http:', 'https:'])
  const publicUrl = (configuredPublicUrl ?? `http://localhost:${port}`).replace(/\/+$/, '')
  const smtpUrl = url('SMTP_URL', read('SMTP_URL'), ['smtp:', 'smtps:'])
  const mailFrom = read('MAIL_FROM')
  if (mailFrom !== undefined && !isMailbox(mailFrom)) {
    problems.push('MAIL_FROM must be an email address, optionally as `Name <address>`')
  }
  const dataDir = path.resolve(read('DATA_DIR') ?? './data')
  const databaseUrl = url('DATABASE_URL', read('DATABASE_URL'), ['postgres:', 'postgresql:'])

  const poolMin = int('DB_POOL_MIN', 5, 0, 1000)
  const poolMax = int('DB_POOL_MAX', 20, 1, 1000)
  if (poolMin > poolMax) problems.push(`DB_POOL_MIN (${poolMin}) must not exceed DB_POOL_MAX (${poolMax})`)

  const logLevel = (read('LOG_LEVEL')?.toLowerCase() ?? 'info') as LogLevel
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`)

  const trustProxyRaw = read('TRUST_PROXY')?.toLowerCase()
  const trustProxy = trustProxyRaw as TrustProxyHeader | undefined
  if (trustProxyRaw !== undefined && !(TRUSTED_PROXY_HEADERS as readonly string[]).includes(trustProxyRaw)) {
    problems.push(`TRUST_PROXY must name one of the headers ${TRUSTED_PROXY_HEADERS.join(', ')}`)
  }

  const corsOrigins = (read('CORS_ORIGINS') ?? '')
    .split(',')
    .map((origin) => origin.trim().replace(/\/+$/, ''))
    .filter(Boolean)
  for (const origin of corsOrigins) {
    if (origin !== '*') url('CORS_ORIGINS', origin, ['http:', 'https:'])
  }

  const bucket = read('S3_BUCKET')
  const sse = read('S3_SERVER_SIDE_ENCRYPTION')
  if (sse !== undefined && sse !== 'AES256' && sse !== 'aws:kms') {
    problems.push('S3_SERVER_SIDE_ENCRYPTION must be AES256 or aws:kms')
  }
  const s3: S3Config | undefined = bucket
    ? {
        bucket,
        endpoint: url('S3_ENDPOINT', read('S3_ENDPOINT'), ['http:', 'https:']),
        forcePathStyle: bool('S3_FORCE_PATH_STYLE', false),
        region: read('AWS_REGION') ?? read('AWS_DEFAULT_REGION') ?? 'us-east-1',
        serverSideEncryption: sse as S3Config['serverSideEncryption'],
        credentials: staticCredentials(read),
      }
    : undefined

  const cognito = parseCognito(read, problems, url, int('COGNITO_JWKS_COOLDOWN_SECONDS', 30, 0, 3600))

  const metricsToken = read('METRICS_TOKEN')
  const metricsPort = read('METRICS_PORT') === undefined ? undefined : int('METRICS_PORT', 0, 1, 65535)
  if (metricsPort !== undefined && metricsPort === port) {
    problems.push('METRICS_PORT must differ from PORT')
  }

  const allowPrivateNetworks = bool('WEBHOOK_ALLOW_PRIVATE_NETWORKS', false)
  const schedule = (name: string, fallback: readonly number[]): number[] => {
    const raw = read(name)
    const seconds =
      raw === undefined
        ? [...fallback]
        : raw
            .split(',')
            .map((part) => part.trim())
            .map(Number)
    if (
      seconds.length === 0 ||
      seconds.length > 20 ||
      seconds.some((value) => !Number.isInteger(value) || value < 0 || value > 7 * 86_400)
    ) {
      problems.push(
        `${name} must list 1–20 whole numbers of seconds, each at most 604800 (e.g. "5,300,1800")`,
      )
    }
    return seconds
  }
  const retryScheduleSeconds = schedule('WEBHOOK_RETRY_SCHEDULE', DEFAULT_RETRY_SCHEDULE)
  const emailRetryScheduleSeconds = schedule('EMAIL_RETRY_SCHEDULE', DEFAULT_EMAIL_RETRY_SCHEDULE)

  if (isProduction) {
    // Webhooks to private addresses would let any user probe the internal network.
    if (allowPrivateNetworks) problems.push('WEBHOOK_ALLOW_PRIVATE_NETWORKS must not be set in production')
    // Metrics name routes, error rates and pool sizes: never open to the internet by default.
    if (metricsToken === undefined && metricsPort === undefined) {
      problems.push('METRICS_TOKEN or METRICS_PORT is required in production')
    }
    if (databaseUrl === undefined && !problems.some((p) => p.startsWith('DATABASE_URL'))) {
      problems.push('DATABASE_URL is required in production')
    }
    if (!bucket) problems.push('S3_BUCKET is required in production')
    // Hosted page links and emails go to customers: never a localhost default or a file in production.
    if (configuredPublicUrl === undefined && !problems.some((p) => p.startsWith('PUBLIC_URL'))) {
      problems.push('PUBLIC_URL is required in production')
    }
    if (smtpUrl === undefined && !problems.some((p) => p.startsWith('SMTP_URL'))) {
      problems.push('SMTP_URL is required in production')
    }
    if (mailFrom === undefined) problems.push('MAIL_FROM is required in production')
    if (!cognito && !problems.some((p) => p.startsWith('COGNITO'))) {
      problems.push(
        'COGNITO_CLIENT_ID and either COGNITO_REGION with COGNITO_USER_POOL_ID or COGNITO_ISSUER are required in production',
      )
    }
  }

  const config: Config = {
    nodeEnv,
    isProduction,
    port,
    publicUrl,
    dataDir,
    databaseUrl,
    db: {
      poolMin,
      poolMax,
      idleTimeoutSeconds: int('DB_IDLE_TIMEOUT_SECONDS', 30, 1, 86_400),
      connectTimeoutSeconds: int('DB_CONNECT_TIMEOUT_SECONDS', 5, 1, 600),
      statementTimeoutMs: int('DB_STATEMENT_TIMEOUT_MS', 15_000, 0, 3_600_000),
      queryTimeoutMs:
        read('DB_QUERY_TIMEOUT_MS') === undefined ? undefined : int('DB_QUERY_TIMEOUT_MS', 0, 0, 3_600_000),
      slowQueryMs: int('SLOW_QUERY_MS', 500, 0, 3_600_000),
    },
    s3,
    storageTimeoutMs: int('STORAGE_TIMEOUT_MS', 10_000, 100, 600_000),
    pdfUrlTtlSeconds: int('PDF_URL_TTL_SECONDS', 900, 1, 604_800),
    cognito,
    rateLimitPerMinute: int('RATE_LIMIT_PER_MINUTE', 100, 1, 1_000_000),
    trustProxy,
    corsOrigins,
    metricsToken,
    metricsPort,
    logLevel,
    logPretty: bool('LOG_PRETTY', !isProduction && process.stdout.isTTY === true),
    redisUrl: url('REDIS_URL', read('REDIS_URL'), ['redis:', 'rediss:']),
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    webConcurrency: int('WEB_CONCURRENCY', isProduction ? os.availableParallelism() : 1, 1, 1024),
    maxWorkerMemoryMb:
      read('MAX_WORKER_MEMORY_MB') === undefined ? undefined : int('MAX_WORKER_MEMORY_MB', 0, 1, 1_048_576),
    mail: { smtpUrl, from: mailFrom ?? 'Invoices <invoices@localhost>' },
    emails: { retryScheduleSeconds: emailRetryScheduleSeconds },
    webhooks: {
      allowPrivateNetworks,
      retryScheduleSeconds,
      timeoutMs: int('WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
    },
  }

  if (problems.length > 0) throw new ConfigError(problems)
  return Object.freeze(config)
}

/** `address@domain` or `Display Name <address@domain>`, one line. */
function isMailbox(value: string): boolean {
  if (/[\r\n]/.test(value)) return false
  const address = /<([^<>\s]+)>$/.exec(value)?.[1] ?? value
  return /^[^\s@<>]+@[^\s@<>]+$/.test(address)
}

function staticCredentials(read: (name: string) => string | undefined): S3Config['credentials'] {
  const accessKeyId = read('AWS_ACCESS_KEY_ID')
  const secretAccessKey = read('AWS_SECRET_ACCESS_KEY')
  if (!accessKeyId || !secretAccessKey) return undefined
  const sessionToken = read('AWS_SESSION_TOKEN')
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }
}

function parseCognito(
  read: (name: string) => string | undefined,
  problems: string[],
  url: (name: string, value: string | undefined, protocols: string[]) => string | undefined,
  jwksCooldownSeconds: number,
): CognitoConfig | undefined {
  const region = read('COGNITO_REGION')
  const poolId = read('COGNITO_USER_POOL_ID')
  const issuerOverride = read('COGNITO_ISSUER')
  const clientIds = (read('COGNITO_CLIENT_ID') ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean)
  const anySet = region || poolId || issuerOverride || clientIds.length > 0
  if (!anySet) return undefined

  let issuer: string | undefined
  if (issuerOverride) {
    issuer = url('COGNITO_ISSUER', issuerOverride, ['http:', 'https:'])?.replace(/\/+$/, '')
  } else if (region && poolId) {
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))
      problems.push(`COGNITO_REGION "${region}" is not an AWS region`)
    if (!/^[\w-]+_[0-9a-zA-Z]+$/.test(poolId))
      problems.push(`COGNITO_USER_POOL_ID "${poolId}" is not a pool id`)
    issuer = `https://cognito-idp.${region}.amazonaws.com/${poolId}`
  } else {
    problems.push('COGNITO_REGION and COGNITO_USER_POOL_ID (or COGNITO_ISSUER) must be set together')
  }
  if (clientIds.length === 0) problems.push('COGNITO_CLIENT_ID must list at least one app client id')
  if (!issuer || clientIds.length === 0) return undefined
  return { issuer, jwksUrl: `${issuer}/.well-known/jwks.json`, clientIds, jwksCooldownSeconds }
}
