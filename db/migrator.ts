import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Kysely } from 'kysely'
import { FileMigrationProvider, type MigrationResult, Migrator } from 'kysely/migration'

/** The migration files this build ships. */
export const MIGRATION_FOLDER = path.join(import.meta.dir, 'migrations')

// biome-ignore lint/suspicious/noExplicitAny: the migrator works on any schema
export function createMigrator(db: Kysely<any>): Migrator {
  // Migrations work on every user's rows at once: no query plugins (such as the tenant guard) apply.
  return new Migrator({
    db: db.withoutPlugins(),
    provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATION_FOLDER }),
  })
}

/** Applies every pending migration; throws with the failing migration's name when one fails. */
// biome-ignore lint/suspicious/noExplicitAny: see createMigrator
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResult[]> {
  const { error, results } = await createMigrator(db).migrateToLatest()
  const failed = results?.find((r) => r.status === 'Error')
  if (error) {
    throw new Error(
      `Migration ${failed?.migrationName ?? ''} failed: ${String((error as Error).message ?? error)}`,
      {
        cause: error,
      },
    )
  }
  return results ?? []
}
