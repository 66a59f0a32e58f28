import { existsSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { PGlite } from '@electric-sql/pglite'
import { btree_gin } from '@electric-sql/pglite/contrib/btree_gin'
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm'
import type { Query } from './target'

/**
 * The embedded database (PGlite, `DATA_DIR/pglite`) is dumped from inside this process by PGlite's own build of
 * pg_dump (`@electric-sql/pglite-tools`): Debian's pg_dump refuses PGlite's newer server, and PGlite serves one
 * process, so nothing else may have it open (stop the server first). That pg_dump writes a plain SQL script
 * (INSERTs), which is stored gzipped and restored by running it, into the embedded database or into a server.
 */

export const PGLITE_TOOLS = '@electric-sql/pglite-tools'
/** The release of the package to add for embedded backups (its pg_dump reads the PGlite 0.5 servers). */
export const PGLITE_TOOLS_VERSION = '0.4.8'

/** `pgDump` of `@electric-sql/pglite-tools/pg_dump`. */
export type PgliteDump = (options: { pg: PGlite; args?: string[] }) => Promise<Blob>

export class EmbeddedToolMissing extends Error {
  override name = 'EmbeddedToolMissing'
  constructor() {
    super(
      `backing up the embedded database needs PGlite's pg_dump: bun add ${PGLITE_TOOLS}@${PGLITE_TOOLS_VERSION} ` +
        '(or set DATABASE_URL to back up a PostgreSQL server)',
    )
  }
}

/** PGlite's pg_dump, when the package is installed. */
export async function loadPgliteDump(): Promise<PgliteDump> {
  // A specifier in a variable: the package is optional, and the type checker must not require it.
  const specifier = `${PGLITE_TOOLS}/pg_dump`
  try {
    const module = (await import(specifier)) as { pgDump?: PgliteDump }
    if (typeof module.pgDump !== 'function') throw new EmbeddedToolMissing()
    return module.pgDump
  } catch (error) {
    if (error instanceof EmbeddedToolMissing) throw error
    const text = String((error as Error).message ?? error)
    if (/cannot find (module|package)|not found/i.test(text)) throw new EmbeddedToolMissing()
    throw error
  }
}

export const embeddedDirectory = (dataDir: string) => path.join(dataDir, 'pglite')

/** Opens the embedded database with the extensions its migrations create (as src/lib/embedded-postgres.ts). */
export async function openEmbedded(dataDir: string, { create }: { create: boolean }): Promise<PGlite> {
  const directory = embeddedDirectory(dataDir)
  if (!create && !existsSync(path.join(directory, 'PG_VERSION'))) {
    throw new Error(`there is no embedded database in ${directory} (DATA_DIR)`)
  }
  mkdirSync(directory, { recursive: true })
  return PGlite.create(directory, { extensions: { pg_trgm, btree_gin } })
}

export const pgliteQuery =
  (pg: PGlite): Query =>
  async <Row>(text: string) =>
    (await pg.query<Row>(text)).rows

/** The whole embedded database as a gzipped SQL script, read in one snapshot. */
export async function dumpEmbedded(dataDir: string, dump: PgliteDump): Promise<Uint8Array> {
  const pg = await openEmbedded(dataDir, { create: false })
  try {
    const script = await dump({ pg, args: ['--no-owner', '--no-privileges'] })
    return gzipSync(new Uint8Array(await script.arrayBuffer()))
  } finally {
    await pg.close()
  }
}

/**
 * Runs `prelude` and a dump's script in the embedded database, in one transaction: all of it or nothing. psql's
 * `\restrict` lines (pg_dump since 17.6) are psql commands, not SQL, and are left out.
 */
export async function restoreEmbedded(pg: PGlite, script: Uint8Array, gzip: boolean, prelude: string) {
  const text = new TextDecoder().decode(gzip ? gunzipSync(script) : script)
  const sql = text.replace(/^\\(un)?restrict [A-Za-z0-9]+$/gm, '')
  await pg.transaction(async (tx) => {
    if (prelude) await tx.exec(prelude)
    await tx.exec(sql)
  })
}
