export { type BackupOptions, type BackupResult, type Destination, runBackup } from './backup'
export { EmbeddedToolMissing, PGLITE_TOOLS, PGLITE_TOOLS_VERSION, type PgliteDump } from './embedded'
export {
  BACKUP_PREFIX,
  backupPath,
  DEFAULT_RETENTION_DAYS,
  isExpired,
  parseBackupPath,
  parseRetentionDays,
} from './names'
export { ToolError } from './postgres-tools'
export {
  type BackupFormat,
  type RestoreOptions,
  type RestoreResult,
  RestoreUsageError,
  runRestore,
  TargetNotEmpty,
} from './restore'
export { BucketStore, downloadObject, FolderStore } from './stores'
export { describeContents } from './target'
