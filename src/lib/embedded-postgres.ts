import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { btree_gin } from '@electric-sql/pglite/contrib/btree_gin'
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

export interface EmbeddedPostgres {
  url: string
  stop(): Promise<void>
}

/**
 * An in-process PostgreSQL (PGlite) served over the wire protocol on loopback, so the API talks to it
 * through the same postgres.js client and queries as to a real server. PGlite runs one session at a time:
 * its clients must use a single connection.
 * `dataDir` undefined keeps the database in memory (tests).
 */
export async function startEmbeddedPostgres(dataDir: string | undefined): Promise<EmbeddedPostgres> {
  // The extensions the migrations create must be loadable here as on a real server.
  const options = { extensions: { pg_trgm, btree_gin } }
  let db: PGlite
  if (dataDir) {
    const dir = path.join(dataDir, 'pglite')
    mkdirSync(dir, { recursive: true })
    db = await PGlite.create(dir, options)
  } else {
    db = await PGlite.create(options)
  }
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 })
  await server.start()
  const url = `postgres://postgres@${server.getServerConn()}/postgres`
  return {
    url,
    async stop() {
      await server.stop()
      await db.close()
    },
  }
}
