import { type ChildProcess, spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { type Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'

/**
 * The PostgreSQL client programs (`pg_dump`, `pg_restore`, `psql`) run against a server. The password, if the
 * URL has one, goes through `PGPASSWORD`, never on a command line other processes can read.
 */
export interface ServerTarget {
  /** The connection URL without its password, as libpq takes it (`--dbname`). */
  url: string
  /** The full URL, for postgres.js and for `db:verify`. */
  fullUrl: string
  database: string
  /** `database on host:port`, for messages: no credentials. */
  label: string
  env: Record<string, string>
}

export function serverTarget(databaseUrl: string): ServerTarget {
  const url = new URL(databaseUrl)
  const password = url.password ? decodeURIComponent(url.password) : undefined
  url.password = ''
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username)
  const host = url.host || 'localhost'
  return {
    url: url.toString(),
    fullUrl: databaseUrl,
    database: database || 'postgres',
    label: `${database || 'postgres'} on ${host}`,
    env: { ...(password === undefined ? {} : { PGPASSWORD: password }), PGCONNECT_TIMEOUT: '10' },
  }
}

export class ToolError extends Error {
  override name = 'ToolError'
}

/** The last lines a program wrote on stderr, for the error message. */
function collectStderr(child: ChildProcess): () => string {
  let text = ''
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (chunk: string) => {
    text = (text + chunk).slice(-8_000)
  })
  return () => text.trim()
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)))
  })
}

function missingProgram(program: string, error: unknown): Error {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
    return new ToolError(
      `${program} is not installed (PATH): install the PostgreSQL client programs of the server's major version ` +
        '(Debian: postgresql-client)',
    )
  }
  return error as Error
}

async function run(program: string, args: string[], env: Record<string, string>): Promise<string> {
  const child = spawn(program, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  child.stdout?.setEncoding('utf8')
  child.stdout?.on('data', (chunk: string) => {
    stdout += chunk
  })
  const stderr = collectStderr(child)
  let code: number
  try {
    code = await exited(child)
  } catch (error) {
    throw missingProgram(program, error)
  }
  if (code !== 0) throw new ToolError(`${program} failed (exit ${code}): ${stderr() || 'no message'}`)
  return stdout
}

/**
 * `pg_dump` of the whole database into `file`: the custom format, compressed, without owners or grants, so it
 * restores into any database as any role. pg_dump reads everything in one repeatable-read transaction, so the
 * archive is one snapshot: a transaction is in it whole or not at all, whatever is written meanwhile. Waiting
 * for a table lock (a migration holding one) is bounded.
 */
export async function pgDump(target: ServerTarget, file: string): Promise<void> {
  await run(
    'pg_dump',
    [
      '--format=custom',
      '--compress=6',
      '--no-owner',
      '--no-privileges',
      '--lock-wait-timeout=60000',
      `--file=${file}`,
      `--dbname=${target.url}`,
    ],
    { ...target.env, PGAPPNAME: 'invoice-api db:backup' },
  )
}

/** The number of entries in a custom archive's table of contents; throws when it cannot be read. */
export async function archiveEntries(file: string): Promise<number> {
  const listing = await run('pg_restore', ['--list', file], {})
  return listing.split('\n').filter((line) => line.trim() !== '' && !line.startsWith(';')).length
}

export type ScriptSource =
  | { kind: 'custom'; file: string }
  | { kind: 'sql'; file: string; gzip: boolean; dropTransactionTimeout: boolean }

/**
 * A plain dump of PostgreSQL 17 or later (PGlite's pg_dump is) sets `transaction_timeout`, which older servers do
 * not know; the line is dropped for them, nothing else is touched.
 */
function withoutTransactionTimeout(): Transform {
  let rest = ''
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const lines = (rest + chunk.toString('utf8')).split('\n')
      rest = lines.pop() ?? ''
      done(
        null,
        lines
          .filter((line) => line !== 'SET transaction_timeout = 0;')
          .map((l) => `${l}\n`)
          .join(''),
      )
    },
    flush(done) {
      done(null, rest === 'SET transaction_timeout = 0;' ? '' : rest)
    },
  })
}

/**
 * Runs `prelude` and then the backup's SQL through `psql` in ONE transaction, committed only once the whole script
 * ran without an error (`ON_ERROR_STOP`) and the program producing it (`pg_restore` for a custom archive) exited
 * cleanly. Any failure, of the script, of pg_restore, or a truncated file, ends the session without COMMIT: the
 * server rolls everything back, the prelude's drops included, and the database is as it was.
 */
export async function runScript(target: ServerTarget, source: ScriptSource, prelude: string): Promise<void> {
  const env = { ...process.env, ...target.env, PGAPPNAME: 'invoice-api db:restore' }
  const psql = spawn(
    'psql',
    [
      '--no-psqlrc',
      '--quiet',
      '--set=ON_ERROR_STOP=1',
      '--output=/dev/null',
      '--file=-',
      `--dbname=${target.url}`,
    ],
    { env, stdio: ['pipe', 'ignore', 'pipe'] },
  )
  const psqlStderr = collectStderr(psql)
  // A psql that stopped (an error in the script) closes its end: its exit status says why, not EPIPE.
  psql.stdin!.on('error', () => {})
  const psqlExit = exited(psql).catch((error: unknown) => {
    throw missingProgram('psql', error)
  })

  let producer: ChildProcess | undefined
  let producerExit: Promise<number> | undefined
  let producerStderr = () => ''
  // Each stage in the one pipeline, so a failure anywhere (a read error, a damaged gzip) ends it.
  const stages: (Readable | Transform)[] = []
  if (source.kind === 'custom') {
    producer = spawn('pg_restore', ['--no-owner', '--no-privileges', '--file=-', source.file], {
      env: { ...process.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    producerStderr = collectStderr(producer)
    producerExit = exited(producer).catch((error: unknown) => {
      throw missingProgram('pg_restore', error)
    })
    stages.push(producer.stdout!)
  } else {
    stages.push(createReadStream(source.file))
    if (source.gzip) stages.push(createGunzip())
    if (source.dropTransactionTimeout) stages.push(withoutTransactionTimeout())
  }

  let failure: string | undefined
  try {
    psql.stdin!.write(`BEGIN;\n${prelude}\n`)
    // Node's pipeline takes any number of stages; its declared overloads stop at a fixed count.
    await (pipeline as (...streams: unknown[]) => Promise<void>)(...stages, psql.stdin!, { end: false })
  } catch (error) {
    failure = (error as Error).message
  }
  if (producerExit) {
    const code = await producerExit.catch((error: Error) => {
      failure ??= error.message
      return 1
    })
    if (code !== 0)
      failure = `pg_restore failed (exit ${code}): ${producerStderr() || failure || 'no message'}`
  }
  // Without COMMIT the session ends inside the transaction, and the server rolls it back.
  if (!psql.stdin!.destroyed) psql.stdin!.end(failure === undefined ? 'COMMIT;\n' : '')
  else if (failure === undefined) failure = 'psql stopped reading the script'
  const code = await psqlExit
  if (code !== 0) {
    throw new ToolError(`psql stopped at an error, nothing was restored: ${psqlStderr() || `exit ${code}`}`)
  }
  if (failure !== undefined)
    throw new ToolError(`the backup could not be read, nothing was restored: ${failure}`)
}
