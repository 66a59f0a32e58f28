import type { App } from '../../src/app'
import { type JsonSchema, kindOfIdName } from './schema'

export interface RouteSpec {
  method: string
  /** Elysia's path pattern, e.g. `/api/v1/invoices/:id/payments`. */
  path: string
  key: string
  body?: JsonSchema
  query?: JsonSchema
  params: JsonSchema
  headers?: JsonSchema
  /** API.md: every `/api/*` route needs a bearer token. */
  auth: boolean
  paramNames: string[]
  /** Only the query is fuzzed (the local file-download route: see `routesOf`). */
  queryOnly?: boolean
}

type Hooks = Record<string, unknown> & { standaloneSchema?: unknown; standaloneValidator?: unknown }

/** A hook's schema, or one set by a standalone guard. */
function schemaOf(hooks: Hooks, part: 'body' | 'query' | 'params' | 'headers'): JsonSchema | undefined {
  const direct = hooks[part]
  if (direct && typeof direct === 'object') return direct as JsonSchema
  for (const list of [hooks.standaloneSchema, hooks.standaloneValidator]) {
    if (!Array.isArray(list)) continue
    for (const entry of list) {
      const found = (entry as Record<string, unknown>)?.[part]
      if (found && typeof found === 'object') return found as JsonSchema
    }
  }
  return undefined
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * The routes to fuzz, straight from the app's route table, and the ones left out with the reason:
 * - `/docs` and `/docs/json`: the HTML reference page and the OpenAPI document; no input, not the JSON API.
 * - `/metrics`: Prometheus text behind its own `METRICS_TOKEN`, no input schema; not the JSON API.
 * - methods other than GET/POST/PUT/PATCH/DELETE (Elysia's catch-alls, CORS preflights): not routes of API.md.
 * - `/i/*`: the hosted document pages, HTML for people whose only input is the link's secret; their answers
 *   (HTML error pages, one 404 for every token that names nothing) are tested in tests/api/hosted.test.ts.
 * The local file-download route (`/files/*`) serves PDF bytes, and its wildcard is an object key that only an
 * HMAC signature opens, so only its query (which has a schema) is fuzzed, with a fixed key.
 */
export function routesOf(app: App): { fuzzed: RouteSpec[]; skipped: { key: string; why: string }[] } {
  const fuzzed: RouteSpec[] = []
  const skipped: { key: string; why: string }[] = []
  const seen = new Set<string>()
  for (const route of app.routes) {
    const method = route.method.toUpperCase()
    const key = `${method} ${route.path}`
    if (seen.has(key)) continue
    seen.add(key)
    if (route.path === '/docs' || route.path.startsWith('/docs/')) {
      skipped.push({ key, why: 'API reference page / OpenAPI document, not the JSON API' })
      continue
    }
    if (route.path.startsWith('/i/')) {
      skipped.push({ key, why: 'hosted HTML page, not the JSON API (tests/api/hosted.test.ts)' })
      continue
    }
    if (route.path === '/metrics') {
      skipped.push({ key, why: 'Prometheus text behind METRICS_TOKEN, no input schema' })
      continue
    }
    if (!METHODS.has(method)) {
      skipped.push({ key, why: `method ${method} is not an API.md route` })
      continue
    }
    const hooks = (route.hooks ?? {}) as Hooks
    const paramNames = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!)
    if (route.path.includes('*')) paramNames.push('*')
    const params =
      schemaOf(hooks, 'params') ??
      ({
        type: 'object',
        properties: Object.fromEntries(paramNames.map((name) => [name, { type: 'string' }])),
        required: paramNames,
      } satisfies JsonSchema)
    const spec: RouteSpec = {
      method,
      path: route.path,
      key,
      params,
      auth: route.path.startsWith('/api/'),
      paramNames,
    }
    const body = schemaOf(hooks, 'body')
    const query = schemaOf(hooks, 'query')
    const headers = schemaOf(hooks, 'headers')
    if (body) spec.body = body
    if (query) spec.query = query
    if (headers) spec.headers = headers
    if (route.path.startsWith('/files/')) spec.queryOnly = true
    fuzzed.push(spec)
  }
  return { fuzzed, skipped }
}

/**
 * What kind of resource a path parameter names: `/invoices/:id` → `invoice`, `/:deliveryId` → `delivery`,
 * `/credit-notes/:id` → `creditNote`.
 */
export function paramKind(route: RouteSpec, name: string): string | undefined {
  if (name !== 'id') return kindOfIdName(name)
  const segments = route.path.split('/')
  const at = segments.indexOf(':id')
  const collection = segments[at - 1]
  if (!collection) return undefined
  const singular = collection.endsWith('ies')
    ? `${collection.slice(0, -3)}y`
    : collection.endsWith('s')
      ? collection.slice(0, -1)
      : collection
  return singular.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())
}

/** The URL of the resource a route acts on (the path up to its last parameter), to read its ETag. */
export function resourcePathOf(route: RouteSpec): string {
  const segments = route.path.split('/')
  let last = -1
  segments.forEach((segment, i) => {
    if (segment.startsWith(':')) last = i
  })
  return last === -1 ? route.path : segments.slice(0, last + 1).join('/')
}
