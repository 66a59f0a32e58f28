/**
 * `bun run db:backup`: a consistent dump of the database (API.md "Running it", README "Backups and restore").
 *
 *   bun run db:backup [--to s3|DIR]
 *
 * DATABASE_URL is dumped with `pg_dump` (custom format, compressed, without owners or grants, one snapshot);
 * without it, the embedded database in DATA_DIR with PGlite's own pg_dump, inside this process (stop the server
 * first: the embedded database belongs to one process). The dump goes to the bucket of S3_BUCKET under
 * `backups/YYYY/MM/DD/<timestamp>-<database>.dump`, or to the folder DIR as `DIR/YYYY/MM/DD/…`; by default to
 * the bucket when S3_BUCKET is set, else to DATA_DIR/backups. Backups there older than BACKUP_RETENTION_DAYS
 * (default 7) are then removed; nothing outside `backups/` (or not named as above) ever is.
 *
 * Exit status: 0 stored (and pruned), 1 failed (a pruning failure after a stored backup included), 2 usage or
 * configuration.
 */
import path from 'node:path'
import { parseArgs } from 'node:util'
import { type Config, ConfigError, loadConfig } from '../src/config'
import { type Destination, parseRetentionDays, runBackup } from '../src/ops/backup'

const USAGE = `usage: bun run db:backup [--to s3|DIR]
  --to s3     upload to the bucket of S3_BUCKET (with S3_ENDPOINT, AWS_*), under backups/YYYY/MM/DD/
  --to DIR    write into the folder DIR, as DIR/YYYY/MM/DD/<timestamp>-<database>.dump
              (default: s3 when S3_BUCKET is set, else DATA_DIR/backups)
Backs up DATABASE_URL with pg_dump, or the embedded database in DATA_DIR (stop the server first).
Then removes the backups there older than BACKUP_RETENTION_DAYS (default 7).`

function usage(message: string): never {
  console.error(`db:backup: ${message}\n${USAGE}`)
  process.exit(2)
}

let values: { to?: string | undefined; help?: boolean | undefined }
try {
  ;({ values } = parseArgs({
    options: { to: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false,
  }))
} catch (error) {
  usage((error as Error).message)
}
if (values.help) {
  console.info(USAGE)
  process.exit(0)
}

let config: Readonly<Config>
let retentionDays: number
try {
  config = loadConfig()
  retentionDays = parseRetentionDays(process.env['BACKUP_RETENTION_DAYS'])
} catch (error) {
  if (error instanceof ConfigError || error instanceof RangeError) usage(error.message)
  throw error
}

let destination: Destination
if (values.to === 's3') {
  if (!config.s3) usage('--to s3 needs S3_BUCKET (and S3_ENDPOINT, AWS_* for a non-AWS store)')
  destination = { kind: 's3' }
} else if (values.to !== undefined) {
  if (values.to.trim() === '') usage('--to needs s3 or a folder')
  destination = { kind: 'folder', directory: path.resolve(values.to) }
} else {
  destination = config.s3
    ? { kind: 's3' }
    : { kind: 'folder', directory: path.join(config.dataDir, 'backups') }
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

let exitCode = 1
try {
  const result = await runBackup({ config, destination, retentionDays })
  const kind = result.format === 'custom' ? `pg_dump custom format, ${result.entries} entries` : 'gzipped SQL'
  console.info(`db:backup: stored ${result.location}`)
  console.info(
    `db:backup: ${formatBytes(result.bytes)} (${result.bytes} bytes, ${kind}) of ${result.source}, ` +
      `taken ${result.takenAt.toISOString()}, in ${seconds(result.dumpMs + result.storeMs)} ` +
      `(dump ${seconds(result.dumpMs)}, ${destination.kind === 's3' ? 'upload' : 'store'} ${seconds(result.storeMs)}); ` +
      `sha256 ${result.sha256}`,
  )
  for (const removed of result.pruned) {
    console.info(`db:backup: removed ${removed} (older than ${retentionDays} days)`)
  }
  if (result.pruneError) {
    console.error(
      `db:backup: the backup is stored, but removing backups older than ${retentionDays} days failed: ` +
        (result.pruneError.message || String(result.pruneError)),
    )
  } else {
    exitCode = 0
  }
} catch (error) {
  const message = (error as Error).message ?? String(error)
  console.error(`db:backup: failed, nothing was stored: ${message}`)
}
process.exit(exitCode)
