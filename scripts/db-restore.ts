/**
 * `bun run db:restore`: restores a backup of db:backup (API.md "Running it", README "Backups and restore").
 *
 *   bun run db:restore <backup> [--into URL] [--force] [--no-objects]
 *
 * `<backup>` is a file, or an S3 key (`backups/YYYY/MM/DD/….dump` in S3_BUCKET, or `s3://bucket/key`). The target
 * is `--into`, else DATABASE_URL, else the embedded database in DATA_DIR (stop the server first). It must be
 * empty: a database with tables, sequences, functions, types or schemas of its own is refused (exit 3) and left
 * untouched, unless `--force`, which drops its schemas (public and every other non-system one) in the same
 * transaction as the restore. The restore is one transaction: all of it, or nothing. Then db:verify checks the
 * restored database (and the stored documents, unless --no-objects).
 *
 * Exit status: 0 restored and verified; 1 the restore failed (the target is unchanged); 2 usage or configuration;
 * 3 refused, the target is not empty; 4 restored, but db:verify found violations or could not run.
 */
import path from 'node:path'
import { parseArgs } from 'node:util'
import { type Config, ConfigError, loadConfig } from '../src/config'
import { describeContents, RestoreUsageError, runRestore, TargetNotEmpty } from '../src/ops/backup'

const USAGE = `usage: bun run db:restore <backup> [--into URL] [--force] [--no-objects]
  <backup>      a file, or an S3 key: backups/YYYY/MM/DD/….dump (in S3_BUCKET) or s3://bucket/key
  --into URL    the database to restore into (default DATABASE_URL; without it, the embedded database)
  --force       replace a database that is not empty (drops its schemas, in the restore's transaction)
  --no-objects  db:verify afterwards does not read the stored documents (a copy without the bucket)
The target must be empty unless --force. db:verify runs on it afterwards.
Exit status: 0 restored and verified, 1 restore failed (target unchanged), 2 usage,
3 refused (target not empty), 4 restored but db:verify found violations`

function usage(message: string): never {
  console.error(`db:restore: ${message}\n${USAGE}`)
  process.exit(2)
}

let parsed: ReturnType<typeof parse>
function parse() {
  return parseArgs({
    options: {
      into: { type: 'string' },
      force: { type: 'boolean' },
      'no-objects': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  })
}
try {
  parsed = parse()
} catch (error) {
  usage((error as Error).message)
}
const { values, positionals } = parsed
if (values.help) {
  console.info(USAGE)
  process.exit(0)
}
if (positionals.length !== 1) usage(positionals.length === 0 ? 'which backup?' : 'one backup at a time')
const into = values.into
if (into !== undefined) {
  try {
    if (!['postgres:', 'postgresql:'].includes(new URL(into).protocol)) throw new Error()
  } catch {
    usage('--into must be a postgres:// URL')
  }
}

let config: Readonly<Config>
try {
  config = loadConfig()
} catch (error) {
  if (error instanceof ConfigError) usage(error.message)
  throw error
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`
const FORMATS = { custom: 'pg_dump custom format', 'sql.gz': 'gzipped SQL', sql: 'SQL' } as const

let result: Awaited<ReturnType<typeof runRestore>>
try {
  result = await runRestore({ config, backup: positionals[0]!, into, force: values.force })
} catch (error) {
  const message = (error as Error).message ?? String(error)
  if (error instanceof TargetNotEmpty) {
    console.error(`db:restore: ${message}`)
    process.exit(3)
  }
  if (error instanceof RestoreUsageError) usage(message)
  console.error(`db:restore: failed, the target is unchanged: ${message}`)
  process.exit(1)
}

if (result.replaced.length > 0) {
  console.info(`db:restore: --force replaced ${result.target}: it had ${describeContents(result.replaced)}`)
}
console.info(
  `db:restore: restored ${result.source} (${result.bytes} bytes, ${FORMATS[result.format]}) into ${result.target} ` +
    `in ${seconds(result.restoreMs)}, then ANALYZE in ${seconds(result.analyzeMs)}`,
)

// The invariant checker, as `bun run db:verify` runs it, on the restored database.
const env: Record<string, string | undefined> = { ...process.env }
if (result.targetUrl) env['DATABASE_URL'] = result.targetUrl
else delete env['DATABASE_URL']
console.info(`db:restore: db:verify on ${result.target}`)
const verify = Bun.spawn(
  [
    process.execPath,
    path.join(import.meta.dir, 'db-verify.ts'),
    ...(values['no-objects'] ? ['--no-objects'] : []),
  ],
  { env, stdout: 'inherit', stderr: 'inherit', stdin: 'ignore' },
)
const verified = await verify.exited
if (verified !== 0) {
  console.error(
    verified === 1
      ? 'db:restore: the restored database has violations (listed above)'
      : `db:restore: db:verify could not run (exit ${verified})`,
  )
  process.exit(4)
}
process.exit(0)
