import { type Compilable, CompiledQuery } from 'kysely'
import { type Database, planEachExecution } from './db'

/**
 * A query built and compiled once, then run with new parameters: on a hot path the query builder, the compiler
 * and the plugins (the tenant guard among them) cost more than the database round trip. `build` receives
 * `arg(name)`, a stand-in for each value, and must produce the same SQL whatever the values are. The guard
 * checks the query when it is compiled, so an unscoped one still fails, on its first use.
 */
export function precompiled<Name extends string, Row>(
  build: (db: Database, arg: (name: Name) => string) => Compilable<Row>,
  options: { planEachExecution?: boolean } = {},
): (db: Database, args: Readonly<Record<Name, unknown>>) => Promise<Row[]> {
  let compiled: { sql: string; slots: (Name | undefined)[]; constants: readonly unknown[] } | undefined
  return async (db, args) => {
    if (!compiled) {
      const names = new Map<string, Name>()
      const arg = (name: Name) => {
        const stand = `\u0000${name}\u0000${crypto.randomUUID()}`
        names.set(stand, name)
        return stand
      }
      const query = build(db, arg).compile()
      if (options.planEachExecution) planEachExecution(query.sql)
      compiled = {
        sql: query.sql,
        slots: query.parameters.map((value) => (typeof value === 'string' ? names.get(value) : undefined)),
        constants: query.parameters,
      }
    }
    const { sql, slots, constants } = compiled
    const parameters = slots.map((name, index) => (name === undefined ? constants[index] : args[name]))
    return (await db.executeQuery<Row>(CompiledQuery.raw(sql, parameters))).rows
  }
}
