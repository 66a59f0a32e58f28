import { existsSync } from 'node:fs'
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import postgres from 'postgres'
import type { Config } from '../../config'
import { embeddedDirectory, openEmbedded, pgliteQuery, restoreEmbedded } from './embedded'
import { BACKUP_PREFIX } from './names'
import { runScript, type ServerTarget, serverTarget } from './postgres-tools'
import { downloadObject } from './stores'
import { describeContents, inspectTarget, replacePrelude, type TargetContents } from './target'

export type BackupFormat = 'custom' | 'sql.gz' | 'sql'

export class RestoreUsageError extends Error {
  override name = 'RestoreUsageError'
}

/** The target holds data and `--force` was not given: nothing was touched. */
export class TargetNotEmpty extends Error {
  override name = 'TargetNotEmpty'
}

export interface RestoreOptions {
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 's3'>
  /** A file, an S3 key under `backups/`, or `s3://bucket/key`. */
  backup: string
  /** A PostgreSQL URL; DATABASE_URL when absent, and the embedded database when neither is set. */
  into?: string | undefined
  /** Replace a database that is not empty. */
  force?: boolean | undefined
}

export interface RestoreResult {
  /** Where the backup came from (a path or `s3://…`). */
  source: string
  format: BackupFormat
  bytes: number
  /** `database on host:port`, or the embedded database's folder. */
  target: string
  /** The URL db:verify is to check; undefined for the embedded database. */
  targetUrl: string | undefined
  /** What `--force` replaced, as `kind schema.name`; empty when the target was empty. */
  replaced: string[]
  restoreMs: number
  analyzeMs: number
}

const S3_URL = /^s3:\/\/([^/]+)\/(.+)$/

/** The backup as a local file: the file itself, or a download of the S3 object into `work`. */
async function fetchBackup(
  options: RestoreOptions,
  work: string,
): Promise<{ file: string; source: string; bytes: number }> {
  const { backup, config } = options
  if (existsSync(backup)) {
    const file = path.resolve(backup)
    const info = await stat(file)
    if (!info.isFile()) throw new RestoreUsageError(`${backup} is not a file`)
    return { file, source: file, bytes: info.size }
  }
  const s3 = S3_URL.exec(backup)
  let bucket: string
  let key: string
  if (s3) {
    bucket = s3[1]!
    key = s3[2]!
  } else if (backup.startsWith(BACKUP_PREFIX)) {
    if (!config.s3)
      throw new RestoreUsageError(`${backup} is no file, and S3_BUCKET is not set to read it from`)
    bucket = config.s3.bucket
    key = backup
  } else {
    throw new RestoreUsageError(`${backup}: no such file (an S3 key starts with ${BACKUP_PREFIX} or s3://)`)
  }
  if (!config.s3)
    throw new RestoreUsageError(`reading ${backup} needs the S3 settings (S3_BUCKET, S3_ENDPOINT, …)`)
  const file = path.join(work, path.basename(key))
  const { bytes } = await downloadObject(config.s3, bucket, key, file)
  return { file, source: `s3://${bucket}/${key}`, bytes }
}

/** Tells the formats apart by their first bytes, whatever the name says. */
async function formatOf(file: string): Promise<BackupFormat> {
  const handle = await open(file, 'r')
  try {
    const head = new Uint8Array(16)
    const { bytesRead } = await handle.read(head, 0, head.length, 0)
    const start = head.subarray(0, bytesRead)
    if (new TextDecoder().decode(start.subarray(0, 5)) === 'PGDMP') return 'custom'
    if (start[0] === 0x1f && start[1] === 0x8b) return 'sql.gz'
    const text = new TextDecoder().decode(start)
    if (/^(--|SET |\\restrict |CREATE |SELECT )/.test(text)) return 'sql'
    throw new RestoreUsageError(
      `${file} is not a backup: neither a pg_dump archive (PGDMP…), a gzipped nor a plain SQL dump`,
    )
  } finally {
    await handle.close()
  }
}

function notEmpty(target: string, objects: string[]): TargetNotEmpty {
  return new TargetNotEmpty(
    `refusing to restore into ${target}: it is not empty, it has ${describeContents(objects)}. ` +
      'Restoring over existing objects fails half-way and can wind sequences back under existing rows. ' +
      'Restore into an empty database (createdb, or CREATE DATABASE), or pass --force to replace everything in ' +
      'this one (its schemas are dropped in the same transaction as the restore).',
  )
}

interface OpenTarget {
  label: string
  url: string | undefined
  contents: TargetContents
  restore(file: string, format: BackupFormat, prelude: string): Promise<void>
  analyze(): Promise<void>
  close(): Promise<void>
}

async function openServer(target: ServerTarget): Promise<OpenTarget> {
  const client = postgres(target.fullUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 })
  try {
    const contents = await inspectTarget(
      async <Row>(text: string) => (await client.unsafe(text)) as unknown as Row[],
    )
    return {
      label: target.label,
      url: target.fullUrl,
      contents,
      restore: (file, format, prelude) =>
        runScript(
          target,
          format === 'custom'
            ? { kind: 'custom', file }
            : {
                kind: 'sql',
                file,
                gzip: format === 'sql.gz',
                dropTransactionTimeout: contents.serverVersion < 170000,
              },
          prelude,
        ),
      analyze: async () => {
        await client.unsafe('analyze')
      },
      close: () => client.end({ timeout: 5 }),
    }
  } catch (error) {
    await client.end({ timeout: 1 })
    throw error
  }
}

async function openEmbeddedTarget(dataDir: string): Promise<OpenTarget> {
  const label = `the embedded database in ${embeddedDirectory(dataDir)}`
  const pg = await openEmbedded(dataDir, { create: true })
  try {
    return {
      label,
      url: undefined,
      contents: await inspectTarget(pgliteQuery(pg)),
      restore: async (file, format, prelude) => {
        if (format === 'custom') {
          throw new RestoreUsageError(
            `${file} is a pg_dump archive: it restores into a PostgreSQL server (--into URL, or DATABASE_URL); ` +
              'the embedded database takes the SQL backups db:backup makes of it',
          )
        }
        await restoreEmbedded(pg, await readFile(file), format === 'sql.gz', prelude)
      },
      analyze: async () => {
        await pg.exec('analyze')
      },
      close: () => pg.close(),
    }
  } catch (error) {
    await pg.close()
    throw error
  }
}

/**
 * Restores a backup into an empty database, or, with `force`, in place of what a database holds. The target is
 * looked at first, so a refusal costs no download. The whole restore (the drops of `--force` included) is one
 * transaction: it is there entirely, or the target is unchanged. Sequences, triggers, constraints and indexes
 * come back as they were dumped (the dump sets each sequence, and creates triggers and constraints after the
 * rows). Statistics are then gathered (ANALYZE), as a restored database has none.
 */
export async function runRestore(options: RestoreOptions): Promise<RestoreResult> {
  const { config } = options
  const url = options.into ?? config.databaseUrl
  const target = url ? await openServer(serverTarget(url)) : await openEmbeddedTarget(config.dataDir)
  const work = await mkdtemp(path.join(tmpdir(), 'db-restore-'))
  try {
    const { objects } = target.contents
    if (objects.length > 0 && !options.force) throw notEmpty(target.label, objects)
    const fetched = await fetchBackup(options, work)
    const format = await formatOf(fetched.file)
    const started = performance.now()
    await target.restore(fetched.file, format, objects.length > 0 ? replacePrelude(target.contents) : '')
    const restoreMs = performance.now() - started
    const analyzing = performance.now()
    await target.analyze()
    return {
      ...fetched,
      format,
      target: target.label,
      targetUrl: target.url,
      replaced: objects,
      restoreMs,
      analyzeMs: performance.now() - analyzing,
    }
  } finally {
    await rm(work, { recursive: true, force: true })
    await target.close()
  }
}
