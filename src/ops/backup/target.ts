/**
 * What a restore target holds before the restore: an empty database takes a backup; any other is refused
 * unless replaced (`--force`), since restoring over existing objects fails half-way (and a plain script that
 * carries on after errors, as `psql < backup.sql` does, winds sequences back under existing rows).
 */

/** Runs one statement and returns its rows (postgres.js or PGlite). */
export type Query = <Row>(text: string) => Promise<Row[]>

export interface TargetContents {
  /** `server_version_num`, e.g. 150020. */
  serverVersion: number
  /** Tables, views, sequences…, then functions, types and schemas other than `public`, as `kind schema.name`. */
  objects: string[]
  /** Schemas a `--force` drops: `public` and every other non-system schema. */
  schemas: string[]
}

const USER_NAMESPACE = `n.nspname <> 'information_schema' and n.nspname not like 'pg\\_%'`
const notFromExtension = (catalog: string, column: string) =>
  `not exists (select 1 from pg_depend d where d.classid = '${catalog}'::regclass and d.objid = ${column} and d.deptype = 'e')`

const KINDS: Record<string, string> = {
  r: 'table',
  p: 'table',
  v: 'view',
  m: 'materialized view',
  S: 'sequence',
  f: 'foreign table',
}

export async function inspectTarget(query: Query): Promise<TargetContents> {
  const [version] = await query<{ v: string }>(`select current_setting('server_version_num') as v`)
  const relations = await query<{ kind: string; name: string }>(`
    select c.relkind::text as kind, format('%I.%I', n.nspname, c.relname) as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f') and ${USER_NAMESPACE} and ${notFromExtension('pg_class', 'c.oid')}
    order by c.relkind in ('r', 'p') desc, 2`)
  const functions = await query<{ name: string }>(`
    select format('%I.%I', n.nspname, p.proname) as name
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where ${USER_NAMESPACE} and ${notFromExtension('pg_proc', 'p.oid')}
    order by 1`)
  const types = await query<{ name: string }>(`
    select format('%I.%I', n.nspname, t.typname) as name
    from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where ${USER_NAMESPACE} and ${notFromExtension('pg_type', 't.oid')}
      and (t.typtype in ('e', 'd', 'r', 'm')
           or (t.typtype = 'c' and (select c.relkind from pg_class c where c.oid = t.typrelid) = 'c'))
    order by 1`)
  const schemas = await query<{ name: string }>(`
    select n.nspname as name from pg_namespace n where ${USER_NAMESPACE} order by n.nspname <> 'public', 1`)
  return {
    serverVersion: Number(version?.v ?? 0),
    objects: [
      ...relations.map((row) => `${KINDS[row.kind] ?? 'relation'} ${row.name}`),
      ...functions.map((row) => `function ${row.name}`),
      ...types.map((row) => `type ${row.name}`),
      ...schemas.filter((row) => row.name !== 'public').map((row) => `schema ${row.name}`),
    ],
    schemas: schemas.map((row) => row.name),
  }
}

/** `14 tables, 1 sequence, 12 functions and 1 schema (public.credit_note_items, …)`. */
export function describeContents(objects: readonly string[]): string {
  const counts = new Map<string, number>()
  for (const object of objects) {
    const kind = object.slice(0, object.lastIndexOf(' '))
    counts.set(kind, (counts.get(kind) ?? 0) + 1)
  }
  const parts = [...counts].map(([kind, n]) => `${n} ${kind}${n === 1 ? '' : 's'}`)
  const list = parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : (parts[0] ?? '')
  const examples = objects.slice(0, 3).map((object) => object.slice(object.lastIndexOf(' ') + 1))
  return `${list} (${examples.join(', ')}${objects.length > 3 ? ', …' : ''})`
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`

/**
 * The statements `--force` runs first, in the restore's transaction: every non-system schema dropped with what it
 * holds (tables, sequences, functions, extensions installed there), and an empty `public` made again as a new
 * database has it.
 */
export function replacePrelude(contents: TargetContents): string {
  const drops = contents.schemas.map((schema) => `DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE;`)
  const owner = contents.serverVersion >= 140000 ? 'pg_database_owner' : 'CURRENT_USER'
  return [
    ...drops,
    `CREATE SCHEMA public AUTHORIZATION ${owner};`,
    'GRANT USAGE ON SCHEMA public TO PUBLIC;',
    `COMMENT ON SCHEMA public IS 'standard public schema';`,
  ].join('\n')
}
