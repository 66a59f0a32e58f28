/**
 * Where backups go and how they are named: `YYYY/MM/DD/<timestamp>-<database>.<extension>` (UTC), under
 * `backups/` in a bucket or directly under a folder. Only names of exactly this shape are ever pruned.
 */

/** The only prefix of a bucket that backups are written to, listed under, or deleted from. */
export const BACKUP_PREFIX = 'backups/'

/**
 * `custom`: pg_dump's custom archive (compressed, restored with pg_restore). `sql.gz`: a gzipped plain SQL script,
 * what PGlite's pg_dump writes for the embedded database.
 */
export type DumpFormat = 'custom' | 'sql.gz'

export const EXTENSIONS: Record<DumpFormat, string> = { custom: 'dump', 'sql.gz': 'sql.gz' }

export const DEFAULT_RETENTION_DAYS = 7
const DAY_MS = 86_400_000

/** `2026-12-03T10:45:12.345Z` → `20261203T104512Z`. */
export function timestampOf(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z')
}

/** A database name as a key segment: `[A-Za-z0-9._-]`, starting with a letter or digit. */
export function safeDatabaseName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100)
  return /^[A-Za-z0-9]/.test(safe) ? safe : `db${safe}`
}

/** `2026/12/03/20261203T104512Z-invoices.dump`: relative to the folder, or to `backups/` in a bucket. */
export function backupPath(at: Date, database: string, format: DumpFormat): string {
  const iso = at.toISOString()
  const day = `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}`
  return `${day}/${timestampOf(at)}-${safeDatabaseName(database)}.${EXTENSIONS[format]}`
}

export interface ParsedBackupPath {
  takenAt: Date
  database: string
  format: DumpFormat
}

const BACKUP_PATH =
  /^(\d{4})\/(\d{2})\/(\d{2})\/((\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z)-([A-Za-z0-9][A-Za-z0-9._-]*?)\.(dump|sql\.gz)$/

/** The parts of a path `backupPath` makes; null for anything else (which is then never pruned). */
export function parseBackupPath(relative: string): ParsedBackupPath | null {
  const match = BACKUP_PATH.exec(relative)
  if (!match) return null
  const [, year, month, day, , y, mo, d, h, mi, s, database, extension] = match
  // The folder is the day of the timestamp: anything else was not written by db:backup.
  if (year !== y || month !== mo || day !== d) return null
  const takenAt = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`)
  if (Number.isNaN(takenAt.getTime()) || timestampOf(takenAt) !== match[4]) return null
  return { takenAt, database: database!, format: extension === 'dump' ? 'custom' : 'sql.gz' }
}

/** True when a backup taken at `takenAt` is past the retention at `now`. */
export function isExpired(takenAt: Date, now: Date, retentionDays: number): boolean {
  return takenAt.getTime() < now.getTime() - retentionDays * DAY_MS
}

/** `BACKUP_RETENTION_DAYS`: whole days from 1 to 3650, 7 when unset. */
export function parseRetentionDays(raw: string | undefined): number {
  const value = raw?.trim()
  if (value === undefined || value === '') return DEFAULT_RETENTION_DAYS
  const days = Number(value)
  if (!/^\d+$/.test(value) || days < 1 || days > 3650) {
    throw new RangeError(
      `BACKUP_RETENTION_DAYS must be a whole number of days from 1 to 3650 (got "${value}")`,
    )
  }
  return days
}
