import { mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Config } from '../../config'
import { dumpEmbedded, loadPgliteDump, type PgliteDump } from './embedded'
import { backupPath, type DumpFormat, isExpired } from './names'
import { archiveEntries, pgDump, serverTarget } from './postgres-tools'
import { type BackupStore, BucketStore, FolderStore, sha256File } from './stores'

export type Destination = { kind: 's3' } | { kind: 'folder'; directory: string }

export interface BackupOptions {
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 's3'>
  destination: Destination
  retentionDays: number
  now?: () => Date
  /** PGlite's pg_dump; loaded from `@electric-sql/pglite-tools` when absent. */
  pgliteDump?: PgliteDump
}

export interface BackupResult {
  /** `s3://bucket/backups/…` or the file's path. */
  location: string
  /** `postgres` or `embedded`, and what was backed up. */
  source: string
  format: DumpFormat
  bytes: number
  sha256: string
  takenAt: Date
  dumpMs: number
  storeMs: number
  /** Entries in the archive's table of contents (custom format). */
  entries: number | undefined
  /** Backups past the retention, removed. */
  pruned: string[]
  /** Set when pruning failed (the backup itself is stored). */
  pruneError: Error | undefined
}

export function openStore(config: Pick<Config, 's3'>, destination: Destination): BackupStore {
  if (destination.kind === 'folder') return new FolderStore(path.resolve(destination.directory))
  if (!config.s3) throw new Error('--to s3 needs the S3 settings (S3_BUCKET, S3_ENDPOINT, …)')
  return new BucketStore(config.s3)
}

/**
 * One backup: a dump of the database (pg_dump's custom format of DATABASE_URL, or PGlite's SQL script of the
 * embedded database) written to a temporary file, checked, then stored under a name no other backup has; then
 * the backups past the retention are removed from the same place (never the one just made, never anything not
 * named as db:backup names them).
 */
export async function runBackup(options: BackupOptions): Promise<BackupResult> {
  const { config } = options
  const now = options.now ?? (() => new Date())
  const takenAt = now()
  const server = config.databaseUrl ? serverTarget(config.databaseUrl) : undefined
  const format: DumpFormat = server ? 'custom' : 'sql.gz'
  const relative = backupPath(takenAt, server?.database ?? 'embedded', format)
  const store = openStore(config, options.destination)
  // A folder gets the temporary file next to the backup (the same file system, so it is linked into place).
  const work =
    store instanceof FolderStore
      ? path.dirname(store.describe(relative))
      : await mkdtemp(path.join(tmpdir(), 'db-backup-'))
  await mkdir(work, { recursive: true, mode: 0o700 })
  const temporary = path.join(work, `.${path.basename(relative)}.partial`)
  try {
    if (await store.exists(relative)) throw new Error(`${store.describe(relative)} already exists`)
    const dumpStarted = performance.now()
    let entries: number | undefined
    if (server) {
      await pgDump(server, temporary)
      entries = await archiveEntries(temporary)
      if (entries === 0) throw new Error('pg_dump wrote an archive with nothing in it')
    } else {
      const dump = options.pgliteDump ?? (await loadPgliteDump())
      const bytes = await dumpEmbedded(config.dataDir, dump)
      const file = await open(temporary, 'wx', 0o600)
      try {
        await file.writeFile(bytes)
        await file.sync()
      } finally {
        await file.close()
      }
    }
    const dumpMs = performance.now() - dumpStarted
    const { size } = await stat(temporary)
    const sha256 = await sha256File(temporary)

    const storeStarted = performance.now()
    await store.save(temporary, relative, {
      contentType: format === 'custom' ? 'application/vnd.postgresql.custom-archive' : 'application/gzip',
      sha256,
    })
    const storeMs = performance.now() - storeStarted

    const pruned: string[] = []
    let pruneError: Error | undefined
    try {
      for (const backup of await store.list()) {
        if (backup.location.endsWith(relative)) continue
        if (!isExpired(backup.takenAt, takenAt, options.retentionDays)) continue
        await store.remove(backup)
        pruned.push(
          store instanceof BucketStore ? `s3://${config.s3!.bucket}/${backup.location}` : backup.location,
        )
      }
    } catch (error) {
      pruneError = error as Error
    }
    return {
      location: store.describe(relative),
      source: server ? server.label : `the embedded database in ${config.dataDir}`,
      format,
      bytes: size,
      sha256,
      takenAt,
      dumpMs,
      storeMs,
      entries,
      pruned,
      pruneError,
    }
  } finally {
    await rm(temporary, { force: true })
    if (!(store instanceof FolderStore)) await rm(work, { recursive: true, force: true })
    store.close()
  }
}
