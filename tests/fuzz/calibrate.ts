import { baseParts } from './cases'
import { signatureOf, sortOf } from './cursors'
import type { Draft } from './http'
import type { Runner } from './oracle'
import type { RouteSpec } from './routes'
import { mainVariant } from './schema'
import type { World } from './world'

/**
 * Learns, by sending the minimal valid request of each route with each role of its path id, which roles a
 * route succeeds on (a draft for `mark-as-sent`, an issued invoice for `payments`…), so that mutated requests
 * get past the lookups and status checks to the code that uses their values. Used-up roles are put back.
 * These requests go through the runner, so a valid request answering 5xx is a failure too.
 */
export async function calibrate(routes: RouteSpec[], world: World, runner: Runner): Promise<void> {
  let n = 0
  for (const route of routes) {
    if (route.queryOnly) continue
    for (const name of route.paramNames) {
      if (name === '*') continue
      const live: string[] = []
      for (const role of world.rolesFor(route, name)) {
        const parts = baseParts(route, world)
        const draft: Draft = {
          method: route.method,
          path: route.path,
          params: { ...parts.params, [name]: `@@ref:${role}@@` },
          query: parts.query,
          headers: parts.headers,
          auth: route.auth ? 'user' : 'none',
        }
        if (parts.body !== undefined) draft.body = { json: parts.body }
        const out = await runner.run({
          id: `calibration#${n++}`,
          route,
          location: 'nowhere',
          mutation: `valid request on ${role}`,
          value: role,
          draft,
          expect: { reject: false },
        })
        if (out && out.status < 300) live.push(role)
      }
      world.setLive(route, name, live)
    }
  }
  await harvestCursors(routes, world, runner)
}

/** A real `nextCursor` of every list, for each value of each enum parameter (sorts, status filters). */
async function harvestCursors(routes: RouteSpec[], world: World, runner: Runner): Promise<void> {
  let n = 0
  for (const route of routes) {
    const properties = route.query?.properties ?? {}
    if (route.method !== 'GET' || !properties['cursor'] || !properties['limit']) continue
    const queries: Record<string, string>[] = [{ limit: '1' }]
    for (const [name, schema] of Object.entries(properties)) {
      const values = mainVariant(schema).enum
      if (!values) continue
      for (const value of values) queries.push({ limit: '1', [name]: String(value) })
    }
    const params = baseParts(route, world).params
    for (const query of queries) {
      const out = await runner.run({
        id: `cursor-harvest#${n++}`,
        route,
        location: 'nowhere',
        mutation: 'valid list request',
        value: query,
        draft: {
          method: 'GET',
          path: route.path,
          params,
          query,
          headers: {},
          auth: route.auth ? 'user' : 'none',
        },
        expect: { reject: false },
      })
      if (out?.status !== 200) continue
      const next = (JSON.parse(out.text) as { nextCursor?: unknown }).nextCursor
      if (typeof next !== 'string') continue
      world.addCursor({
        route: route.key,
        query,
        cursor: next,
        sort: sortOf(next) ?? '?',
        signature: signatureOf(next),
      })
    }
  }
}
