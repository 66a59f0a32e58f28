/**
 * `bun run db:verify`: checks the invariants of the data (API.md "Running it") on `DATABASE_URL`, or on the
 * embedded database in `DATA_DIR` when it is unset (stop the server first: the embedded database belongs to
 * one process), and the documents in the configured object store (S3_BUCKET, or local disk in DATA_DIR).
 *
 *   bun run db:verify [--user <id>]… [--no-objects] [--limit N] [--concurrency N]
 *
 * Prints one line per violation (`kind user=… invoice=… number=… expected=… found=…`), then a summary.
 * Exit status: 0 when clean, 1 on any violation, 2 when the check could not run (configuration, connection).
 */
import { parseArgs } from 'node:util'
import { type Config, ConfigError, loadConfig } from '../src/config'
import { type DatabaseHandle, openDatabase } from '../src/lib/db'
import { createLogger } from '../src/lib/logger'
import { createStorage, type Storage } from '../src/lib/storage'
import { formatViolation, type VerifyReport, verifyDatabase } from '../src/ops/verify'

const USAGE = `usage: bun run db:verify [--user <id>]... [--no-objects] [--limit N] [--concurrency N]
  --user <id>        check only this user's data (repeatable)
  --no-objects       do not read the stored documents
  --limit N          list at most N violations per check (default 10000; 0 lists all; all are counted)
  --concurrency N    documents read at a time (default 8)`

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function fail(message: string): never {
  console.error(`db:verify: ${message}`)
  process.exit(2)
}

const parse = () =>
  parseArgs({
    options: {
      user: { type: 'string', multiple: true },
      'no-objects': { type: 'boolean' },
      limit: { type: 'string' },
      concurrency: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })

function parseOptions() {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse()
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`)
  }
  const { values } = parsed
  if (values.help) {
    console.info(USAGE)
    process.exit(0)
  }
  const count = (name: string, raw: string | undefined, fallback: number, min: number) => {
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!/^\d+$/.test(raw) || value < min) fail(`--${name} must be an integer ≥ ${min}`)
    return value
  }
  const users = values.user
  for (const id of users ?? []) if (!UUID.test(id)) fail(`--user ${JSON.stringify(id)} is not a user id`)
  return {
    userIds: users,
    objects: !values['no-objects'],
    limit: count('limit', values.limit, 10_000, 0),
    concurrency: count('concurrency', values.concurrency, 8, 1),
  }
}

const number = (value: number) => value.toLocaleString('en-US')
const counted = (value: number, noun: string) => `${number(value)} ${noun}${value === 1 ? '' : 's'}`

function summary(report: VerifyReport): string {
  const { users, invoices, items, payments, creditNotes, objects } = report.checked
  const checked =
    `${counted(users, 'user')}, ${counted(invoices, 'invoice')}, ${counted(items, 'line')}, ` +
    `${counted(payments, 'payment')}, ${counted(creditNotes, 'credit note')}, ` +
    `${counted(objects, 'document')} in ${(report.durationMs / 1000).toFixed(1)} s`
  if (report.ok) return `db:verify: no violation (${checked})`
  const kinds = Object.entries(report.counts)
    .map(([kind, n]) => `${kind} ${number(n)}`)
    .join(', ')
  const more = report.unlisted > 0 ? `, and ${number(report.unlisted)} more not listed (--limit)` : ''
  return `db:verify: ${counted(report.violations.length + report.unlisted, 'violation')} (${kinds}${more}; ${checked})`
}

const options = parseOptions()

let config: Readonly<Config>
try {
  config = loadConfig()
} catch (error) {
  if (error instanceof ConfigError) fail(error.message)
  throw error
}
// Logs go to stderr; stdout carries the violations and the summary only.
const logger = createLogger(
  { logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel, logPretty: false },
  { write: (line: string) => process.stderr.write(line) },
)

let database: DatabaseHandle
try {
  // One connection per check running; checks over a million invoices outlast the API's statement timeout.
  database = await openDatabase(
    {
      ...config,
      db: {
        ...config.db,
        poolMin: 1,
        poolMax: 4,
        statementTimeoutMs: 0,
        queryTimeoutMs: 0,
        slowQueryMs: 3_600_000,
      },
    },
    logger,
    // Its checks hold every connection on purpose.
    { poolWarnings: false },
  )
} catch (error) {
  fail(`cannot connect to the database: ${(error as Error).message ?? String(error)}`)
}

let storage: Storage | undefined
let exitCode = 2
try {
  if (options.objects) {
    storage = await createStorage({
      s3: config.s3,
      dataDir: config.dataDir,
      publicBaseUrl: config.publicUrl,
      timeoutMs: config.storageTimeoutMs,
    })
  }
  const report = await verifyDatabase(database.db, {
    userIds: options.userIds,
    storage,
    storageTimeoutMs: config.storageTimeoutMs,
    concurrency: options.concurrency,
    limit: options.limit,
    onViolation: (violation) => console.info(formatViolation(violation)),
  })
  console.info(summary(report))
  exitCode = report.ok ? 0 : 1
} catch (error) {
  console.error(`db:verify: the check could not run: ${(error as Error).message ?? String(error)}`)
} finally {
  if (storage && 'destroy' in storage) storage.destroy()
  await database.close().catch(() => {})
}
process.exit(exitCode)
