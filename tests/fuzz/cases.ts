import fc from 'fast-check'
import { tamperedCursors } from './cursors'
import type { Draft } from './http'
import { ABSENT, type Carrier, type Mutation, mutationsOf, RawJson, RawText } from './mutations'
import type { Case, Expectation } from './oracle'
import { paramKind, type RouteSpec } from './routes'
import {
  conforms,
  type IdRef,
  kindOfIdName,
  mainVariant,
  minimalExample,
  type Node,
  nodesOf,
  type Place,
  pointerText,
  setAt,
  validArbitrary,
} from './schema'
import { ROLES, type World } from './world'

export type NewCase = Omit<Case, 'id'>

/** The parts of a request that a mutation targets. */
interface Parts {
  params: Record<string, string | RawText>
  query: Record<string, unknown>
  headers: Record<string, string>
  body: unknown
}

/** An id field's placeholder: `customerId` → the customer that has invoices; unknown kinds → nobody's id. */
export const bodyRef: IdRef = (place: Place) => {
  const kind = kindOfIdName(place.name)
  if (!kind) return '@@ref:none.none@@'
  const role = ROLES[kind]?.[0] ?? 'none'
  return `@@ref:${kind}.${role}@@`
}

const hasBody = (route: RouteSpec) => route.method !== 'GET' && route.method !== 'DELETE'

function draftOf(route: RouteSpec, parts: Parts): Draft {
  const draft: Draft = {
    method: route.method,
    path: route.path,
    params: parts.params,
    query: parts.query,
    headers: parts.headers,
    auth: route.auth ? 'user' : 'none',
  }
  if (parts.body !== undefined) draft.body = { json: parts.body }
  return draft
}

/** The minimal valid request: live ids in the path, required fields only. */
export function baseParts(route: RouteSpec, world: World): Parts {
  const params: Record<string, string> = {}
  for (const name of route.paramNames) {
    if (name === '*') {
      params[name] = 'fuzz/missing.pdf'
      continue
    }
    const [role] = world.rolesFor(route, name)
    params[name] = role
      ? `@@ref:${role}@@`
      : String(minimalExample(route.params.properties?.[name] ?? {}, { name }, bodyRef))
  }
  return {
    params,
    query: route.query ? (minimalExample(route.query, { name: '' }, bodyRef) as Record<string, unknown>) : {},
    headers: route.headers
      ? (minimalExample(route.headers, { name: '' }, bodyRef) as Record<string, string>)
      : {},
    body: route.body && hasBody(route) ? minimalExample(route.body, { name: '' }, bodyRef) : undefined,
  }
}

// ---------------------------------------------------------------------------------------------------------
// Expectations

/** A JSON value as a parser would see it (RawJson → what it parses to); `invalid` when it is not JSON. */
function parsedView(value: unknown): { ok: true; value: unknown } | { ok: false } {
  let ok = true
  const walk = (v: unknown): unknown => {
    if (v instanceof RawJson) {
      if (v.parsed === undefined) ok = false
      return v.parsed
    }
    if (Array.isArray(v)) return v.map(walk)
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
    return v
  }
  const view = walk(value)
  return ok ? { ok: true, value: view } : { ok: false }
}

const textOnly = (record: Record<string, unknown>) =>
  Object.values(record).every(
    (v) => typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string')),
  )

/** Whether every part is valid by its schema and API.md (`undefined`: cannot tell, e.g. raw bytes). */
function partsConform(route: RouteSpec, parts: Parts): boolean | undefined {
  if (route.body && parts.body !== undefined) {
    const view = parsedView(parts.body)
    if (!view.ok) return false
    if (!conforms(route.body, view.value, { name: '' }, { body: true })) return false
  }
  if (Object.values(parts.query).some((v) => v instanceof RawText || Array.isArray(v))) return undefined
  if (route.query && textOnly(parts.query) && !conforms(route.query, parts.query)) return false
  if (Object.values(parts.params).some((v) => v instanceof RawText)) return undefined
  if (!conforms(route.params, parts.params)) return false
  if (route.headers && !conforms(route.headers, parts.headers, { name: '' }, { headers: true })) return false
  return true
}

function expectationOf(route: RouteSpec, parts: Parts, mutation: Mutation, detailPath: string): Expectation {
  if (parts.body !== undefined && !parsedView(parts.body).ok) {
    return { reject: true, status: 400, code: 'MALFORMED_JSON' }
  }
  if (mutation.expect === 'any') return { reject: false }
  if (mutation.expect === 'reject') return { reject: true }
  const ok = partsConform(route, parts)
  if (ok === false) return { reject: true, detailPath }
  return { reject: false }
}

// ---------------------------------------------------------------------------------------------------------
// One location at a time

const ifMatchMutations = (max: number): Mutation[] => [
  { kind: 'garbage', value: 'garbage', expect: 'reject' },
  { kind: 'stale etag', value: '"nope"', expect: 'reject' },
  { kind: 'weak garbage etag', value: 'W/"nope"', expect: 'reject' },
  { kind: 'current etag', value: '@@etag@@', expect: 'any' },
  { kind: 'weak current etag', value: 'W/@@etag@@', expect: 'any' },
  { kind: 'list with the current etag last', value: '"x", @@etag@@', expect: 'any' },
  { kind: 'list with the current etag first', value: '@@etag@@, "x"', expect: 'any' },
  { kind: 'list of garbage', value: '"a", "b", W/"c"', expect: 'reject' },
  { kind: 'star', value: '*', expect: 'any' },
  { kind: 'two stars', value: '**', expect: 'reject' },
  { kind: 'lone quote', value: '"', expect: 'reject' },
  { kind: 'control character', value: 'a\u0001b', expect: 'reject' },
  { kind: 'latin-1 character', value: '"ÿ"', expect: 'reject' },
  { kind: 'just over maxLength', value: `"${'x'.repeat(max - 1)}"`, expect: 'reject' },
  { kind: '8000 chars', value: 'x'.repeat(8000), expect: 'reject' },
  { kind: 'empty', value: '', expect: 'any' },
]

function headerMutations(node: Node): Mutation[] {
  if (node.place.name === 'if-match') return ifMatchMutations(mainVariant(node.schema).maxLength ?? 200)
  // Header values are few and cheap: every one on every route.
  const out = mutationsOf(node, 'header', undefined, bodyRef).map((mu) => ({ ...mu, tier: 'core' as const }))
  if (node.place.name === 'idempotency-key') {
    out.push(
      { kind: '255 chars', value: 'k'.repeat(255), tier: 'core' },
      { kind: '256 chars', value: 'k'.repeat(256), tier: 'core' },
      { kind: '300 chars', value: 'k'.repeat(300), tier: 'core' },
      { kind: 'latin-1 character', value: 'clé-ÿ', tier: 'core' },
    )
  }
  return out
}

const RAW_PATH: [string, string, 'reject' | 'any'][] = [
  ['encoded NUL', '%00', 'reject'],
  ['encoded unpaired surrogate (WTF-8)', '%ED%A0%80', 'reject'],
  ['lone percent', '%', 'reject'],
  ['bad percent-encoding', '%zz', 'reject'],
  ['dot-dot', '..', 'reject'],
  ['encoded dot-dot', '%2e%2e', 'reject'],
  ['encoded slash', '%2F', 'reject'],
  ['9000 chars', 'x'.repeat(9000), 'reject'],
]

const RAW_QUERY: [string, string, 'reject' | 'any'][] = [
  ['encoded NUL', '%00', 'reject'],
  ['encoded unpaired surrogate (WTF-8)', '%ED%A0%80', 'reject'],
  ['overlong NUL (invalid UTF-8)', '%C0%80', 'any'],
  ['invalid UTF-8 byte', '%FF', 'any'],
  ['lone percent', '%', 'any'],
  ['bad percent-encoding', '%zz', 'any'],
]

/** The route's path with parameter `name` replaced by `..` and the dot segment resolved, as URL parsing does. */
function normalizedPath(path: string, name: string): string {
  const raw = path.replace(`:${name}`, '..').replace(/:(\w+)/g, '00000000-0000-4000-8000-000000000000')
  return new URL(raw, 'http://localhost').pathname
}

/** Every (location, mutation) of a route, each applied alone to the minimal valid request. */
export function sweepCases(route: RouteSpec, world: World, turn = 0): NewCase[] {
  const base = baseParts(route, world)
  const out: NewCase[] = []
  const extras = new Map<string, NewCase[]>()
  const add = (location: string, mutation: Mutation, parts: Parts, detailPath: string) => {
    const c: NewCase = {
      route,
      location,
      mutation: mutation.kind,
      value: mutation.value,
      draft: draftOf(route, parts),
      expect: expectationOf(route, parts, mutation, detailPath),
    }
    if (mutation.tier !== 'extra') {
      out.push(c)
      return
    }
    const group = `${location.split(' ')[0]} ${mutation.kind}`
    extras.set(group, [...(extras.get(group) ?? []), c])
  }
  // Each extra mutation goes to one location of the route, a different one from route to route; path ids
  // (one location, one shared check) get a third of them, in turn.
  const withExtras = () => {
    let i = turn
    for (const [name, group] of extras) {
      i++
      if (name.startsWith('path ') && i % 3 !== 0) continue
      out.push(group[i % group.length]!)
    }
    return out
  }

  // Body: every node of the schema.
  if (route.body && hasBody(route) && !route.queryOnly) {
    for (const node of nodesOf(route.body, base.body)) {
      const kind = kindOfIdName(node.place.name)
      const ids = kind ? { kind, role: ROLES[kind]?.[0] ?? 'none' } : {}
      const current = valueAt(base.body, node.pointer)
      for (const mutation of mutationsOf(node, 'json', current, bodyRef, ids)) {
        const body = setAt(
          base.body,
          route.body,
          node.pointer,
          mutation.value === ABSENT ? undefined : mutation.value,
          bodyRef,
        )
        const extra = /extra|unknown/.test(mutation.kind) && !/__proto__|constructor/.test(mutation.kind)
        const detail = extra
          ? `${pointerText(node.pointer).replace(/\/$/, '')}/${mutation.kind.includes('total') ? 'total' : 'unexpectedField'}`
          : pointerText(node.pointer)
        add(`body ${pointerText(node.pointer)}`, mutation, { ...base, body }, detail)
      }
    }
  }

  // Query: every parameter of the schema, tampered cursors, raw encodings, an unknown parameter.
  if (route.query) {
    for (const node of nodesOf(route.query, base.query)) {
      if (node.pointer.length !== 1) continue
      const name = node.place.name
      const kind = kindOfIdName(name)
      const ids = kind ? { kind, role: ROLES[kind]?.[0] ?? 'none' } : {}
      const mutations = mutationsOf(node, 'query', base.query[name], bodyRef, ids).map((m) =>
        m.kind === 'repeated parameter' ? { ...m, expect: 'any' as const } : m,
      )
      for (const [kindText, text, expect] of RAW_QUERY) {
        mutations.push({
          kind: `raw ${kindText}`,
          value: new RawText(text),
          expect,
          tier: expect === 'reject' ? 'core' : 'extra',
        })
      }
      for (const mutation of mutations) {
        const query = { ...base.query }
        if (mutation.value === ABSENT) delete query[name]
        else query[name] = mutation.value
        add(`query ${name}`, mutation, { ...base, query }, `/query/${name}`)
      }
      if (name === 'cursor') out.push(...cursorCases(route, world, base))
    }
  }
  out.push(...requestCases(route, base))
  if (route.queryOnly) return withExtras()

  // Path parameters.
  for (const node of nodesOf(route.params, base.params)) {
    if (node.pointer.length !== 1 || node.place.name === '*') continue
    const name = node.place.name
    const kind = paramKind(route, name)
    const role = world.rolesFor(route, name)[0]?.split('.')[1]
    const mutations = mutationsOf(
      node,
      'path',
      base.params[name],
      bodyRef,
      kind ? { kind, ...(role ? { role } : {}) } : {},
    ).filter((m) => m.value !== ABSENT)
    for (const [kindText, text, expect] of RAW_PATH) {
      // A dot-dot segment is removed by URL parsing (RFC 3986): `/invoices/../events` is `/events`, a request to
      // that route and not a refused id, when such a route exists.
      const normalized = /^(\.\.|%2e%2e)$/i.test(text) ? normalizedPath(route.path, name) : undefined
      const resolves = normalized !== undefined && world.routeExists(route.method, normalized)
      mutations.push({
        kind: `raw ${kindText}`,
        value: new RawText(text),
        expect: resolves ? 'any' : expect,
        tier: 'core',
      })
    }
    const own = base.params[name]
    if (typeof own === 'string') {
      mutations.push({ kind: 'trailing slash', value: new RawText(`${own}/`), expect: 'any' })
      mutations.push({ kind: 'encoded NUL after the id', value: new RawText(`${own}%00`), expect: 'reject' })
    }
    for (const mutation of mutations) {
      const value = mutation.value as string | RawText
      add(`path ${name}`, mutation, { ...base, params: { ...base.params, [name]: value } }, `/params/${name}`)
    }
  }

  // Headers of the schema.
  if (route.headers) {
    for (const node of nodesOf(route.headers, base.headers)) {
      if (node.pointer.length !== 1) continue
      const name = node.place.name
      for (const mutation of headerMutations(node)) {
        if (mutation.value === ABSENT || typeof mutation.value !== 'string') continue
        add(
          `header ${name}`,
          mutation,
          { ...base, headers: { ...base.headers, [name]: mutation.value } },
          `/headers/${name}`,
        )
      }
    }
  }
  return withExtras()
}

function valueAt(root: unknown, pointer: (string | number)[]): unknown {
  let node = root
  for (const key of pointer) {
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Record<string | number, unknown>)[key]
  }
  return node
}

/**
 * Real cursors of this list, tampered, each sent with the query that produced it: every variant for the first
 * cursor of each kind of keys (`date,uuid`, `integer,uuid`…), a few structural ones for each other sort.
 */
function cursorCases(route: RouteSpec, world: World, base: Parts): NewCase[] {
  const sorts = [...new Set(world.cursors.map((c) => c.sort))]
  const out: NewCase[] = []
  const signatures = new Set<string>()
  const seenSorts = new Set<string>()
  const FEW = new Set(['the real cursor', 'middle character flipped', 'extra field', 'one key too many'])
  for (const harvested of world.cursors.filter((c) => c.route === route.key)) {
    if (seenSorts.has(harvested.sort)) continue
    seenSorts.add(harvested.sort)
    const full = !signatures.has(harvested.signature)
    signatures.add(harvested.signature)
    for (const t of tamperedCursors(harvested.cursor, sorts)) {
      if (!full && !FEW.has(t.label)) continue
      const query = { ...base.query, ...harvested.query, cursor: t.value }
      out.push({
        route,
        location: `query cursor (${harvested.sort})`,
        mutation: `cursor ${t.label}`,
        value: t.value,
        draft: draftOf(route, { ...base, query }),
        expect: t.reject
          ? { reject: true, status: 400, code: 'VALIDATION_ERROR', detailPath: '/query/cursor' }
          : { reject: false },
      })
    }
  }
  return out
}

/** What surrounds the fields: media types, malformed and oversized bodies, stray parameters and headers. */
function requestCases(route: RouteSpec, base: Parts): NewCase[] {
  const out: NewCase[] = []
  const valid = draftOf(route, base)
  const add = (mutation: string, value: unknown, draft: Draft, expect: Expectation) =>
    out.push({ route, location: 'request', mutation, value, draft, expect })
  const validText = base.body === undefined ? '{}' : JSON.stringify(base.body)
  const strictBody = Boolean(route.body) && hasBody(route)
  const bodyCase = (
    mutation: string,
    body: Draft['body'],
    contentType: string | null | undefined,
    expect: Expectation,
  ) => {
    const draft: Draft = { ...valid }
    if (body) draft.body = body
    else delete draft.body
    if (contentType !== undefined) draft.contentType = contentType
    add(
      mutation,
      body && 'text' in body ? body.text : contentType,
      draft,
      strictBody ? expect : { reject: false },
    )
  }

  if (!route.queryOnly && route.method !== 'GET') {
    const unsupported: Expectation = { reject: true, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' }
    const malformed: Expectation = { reject: true, status: 400, code: 'MALFORMED_JSON' }
    bodyCase('content-type text/plain', { text: validText }, 'text/plain', unsupported)
    bodyCase('no content-type', { text: validText }, null, unsupported)
    bodyCase('form-urlencoded body', { text: 'name=x' }, 'application/x-www-form-urlencoded', unsupported)
    bodyCase('multipart body', { text: '--x\r\n\r\n--x--' }, 'multipart/form-data; boundary=x', unsupported)
    bodyCase('xml body', { text: '<a/>' }, 'application/xml', unsupported)
    bodyCase('json with charset', { text: validText }, 'application/json; charset=utf-8', { reject: false })
    bodyCase('json in upper case', { text: validText }, 'APPLICATION/JSON', { reject: false })
    bodyCase('vendor +json', { text: validText }, 'application/vnd.api+json', { reject: false })
    bodyCase('json claiming latin-1', { text: validText }, 'application/json; charset=latin1', {
      reject: false,
    })
    bodyCase('truncated JSON', { text: validText.slice(0, -1) }, 'application/json', malformed)
    bodyCase('open brace', { text: '{' }, 'application/json', malformed)
    bodyCase(
      'trailing comma',
      { text: `${validText.slice(0, -1)}${validText === '{}' ? '' : ','}"a":1,}` },
      'application/json',
      malformed,
    )
    bodyCase('single quotes', { text: "{'a':1}" }, 'application/json', malformed)
    bodyCase('two objects', { text: `${validText}${validText}` }, 'application/json', malformed)
    bodyCase('NaN literal', { text: '{"a":NaN}' }, 'application/json', malformed)
    bodyCase('comment', { text: `/* c */${validText}` }, 'application/json', malformed)
    bodyCase('BOM then JSON', { text: `\uFEFF${validText}` }, 'application/json', { reject: false })
    bodyCase(
      'invalid UTF-8 bytes',
      { bytes: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) },
      'application/json',
      malformed,
    )
    bodyCase('empty body with JSON content-type', { text: '' }, 'application/json', { reject: true })
    bodyCase('no body at all', undefined, undefined, { reject: true })
    bodyCase('top-level null', { text: 'null' }, 'application/json', { reject: true })
    bodyCase('top-level array', { text: '[]' }, 'application/json', { reject: true })
    bodyCase('top-level string', { text: '"x"' }, 'application/json', { reject: true })
    bodyCase('top-level number', { text: '1' }, 'application/json', { reject: true })
    bodyCase('whitespace only', { text: ' \n\t ' }, 'application/json', { reject: true })
    bodyCase(
      'body over 1 MiB',
      { text: JSON.stringify({ pad: 'x'.repeat(1024 * 1024 + 16) }) },
      'application/json',
      {
        reject: true,
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      },
    )
    bodyCase('2 MiB of text/plain', { text: 'x'.repeat(2 * 1024 * 1024) }, 'text/plain', { reject: true })
    const gz: Draft = { ...valid, headers: { ...valid.headers, 'content-encoding': 'gzip' } }
    add('content-encoding gzip on plain JSON', 'gzip', gz, { reject: false })
  }
  if (route.method === 'DELETE') {
    add('JSON body on DELETE', '{"x":1}', { ...valid, body: { json: { x: 1 } } }, { reject: false })
  }

  const strictQuery = route.query?.additionalProperties === false
  add(
    'unknown query parameter',
    'unexpected=1',
    { ...valid, query: { ...valid.query, unexpected: '1' } },
    strictQuery ? { reject: true, detailPath: '/query/unexpected' } : { reject: false },
  )
  add(
    'query parameter with NUL in its name',
    'a\\u0000b=1',
    { ...valid, query: { ...valid.query, 'a\u0000b': '1' } },
    strictQuery ? { reject: true } : { reject: false },
  )
  add(
    '__proto__ query parameter',
    '__proto__[x]=1',
    { ...valid, query: { ...valid.query, '__proto__[x]': '1' } },
    strictQuery ? { reject: true } : { reject: false },
  )
  add('empty query parameter name', '=1', { ...valid, query: { ...valid.query, '': '1' } }, { reject: false })
  for (const [name, value] of [
    ['x-request-id', 'bad id <script>'],
    ['x-request-id', 'r'.repeat(300)],
    ['accept', 'application/xml'],
    ['x-http-method-override', 'DELETE'],
    ['x-forwarded-for', '127.0.0.1, ::1, garbage'],
    ['content-length', '0'],
  ] as const) {
    add(
      `header ${name}: ${value.slice(0, 20)}`,
      value,
      { ...valid, headers: { ...valid.headers, [name]: value } },
      { reject: false },
    )
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------
// Authentication: checked before anything else

const AUTH_BADNESS = (route: RouteSpec, base: Parts): [string, Partial<Draft>][] => {
  const list: [string, Partial<Draft>][] = [['a valid request', {}]]
  if (hasBody(route)) {
    list.push(
      ['malformed JSON body', { body: { text: '{' }, contentType: 'application/json' }],
      ['text/plain body', { body: { text: 'x' }, contentType: 'text/plain' }],
      ['invalid body', { body: { json: { unexpectedField: '\u0000', total: 1e308 } } }],
      [
        'body over 1 MiB',
        {
          body: { text: JSON.stringify({ pad: 'x'.repeat(1024 * 1024 + 16) }) },
          contentType: 'application/json',
        },
      ],
    )
  }
  if (route.paramNames.length > 0) {
    list.push([
      'invalid path id',
      { params: Object.fromEntries(route.paramNames.map((n) => [n, 'not-a-uuid'])) },
    ])
  }
  list.push([
    'invalid query',
    { query: { ...base.query, unexpected: '\u0000', limit: '-1', cursor: 'tampered' } },
  ])
  return list
}

/** Every bad token on a valid request, and no/bad tokens with every kind of bad request: all 401. */
export function authCases(route: RouteSpec, world: World): NewCase[] {
  if (!route.auth) return []
  const base = baseParts(route, world)
  const valid = draftOf(route, base)
  const out: NewCase[] = []
  const expect: Expectation = { reject: true, status: 401, code: 'UNAUTHORIZED' }
  for (const bad of world.tokens.bad) {
    out.push({
      route,
      location: 'auth',
      mutation: `token: ${bad.label}`,
      value: bad.header,
      draft: { ...valid, auth: { header: bad.header } },
      expect,
    })
  }
  const tampered = world.tokens.bad.find((b) => b.label === 'tampered signature')!
  for (const [label, change] of AUTH_BADNESS(route, base)) {
    for (const auth of ['none', { header: tampered.header }] as const) {
      const draft = { ...valid, ...change, auth } as Draft
      out.push({
        route,
        location: 'auth',
        mutation: `${auth === 'none' ? 'no token' : 'tampered token'} + ${label}`,
        value: label,
        draft,
        expect,
      })
    }
  }
  return out
}

/** Validly signed tokens whose claims carry what API.md refuses "in token claims alike". */
export function hostileTokenCases(routes: RouteSpec[], world: World): NewCase[] {
  const out: NewCase[] = []
  const targets = routes.filter((r) => r.auth && r.paramNames.length === 0 && (r.method === 'GET' || r.body))
  for (const route of targets.slice(0, 3)) {
    const valid = draftOf(route, baseParts(route, world))
    for (const token of world.tokens.hostile) {
      out.push({
        route,
        location: 'auth claims',
        mutation: token.label,
        value: token.label,
        draft: { ...valid, auth: { header: token.header } },
        expect: { reject: !token.label.includes('10k') },
      })
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------
// Random requests (fast-check)

const TRICKY_UNITS = [
  '\u0000',
  '\u0001',
  '\u001b',
  '\u001f',
  '\u007f',
  '\u0080',
  '\u0085',
  '\u009f',
  '\uD800',
  '\uDBFF',
  '\uDC00',
  '\n',
  '\r',
  '\t',
  ' ',
  '%',
  '_',
  '\\',
  "'",
  '"',
  '<',
  '&',
  '/',
  '.',
  'é',
  'e\u0301',
  '😀',
  '\u202E',
  '\uFEFF',
  '東',
  '0',
  '-',
  'T',
  'Z',
  ':',
]
const trickyString = fc.string({
  unit: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...'abcxyz0129-') },
    { weight: 2, arbitrary: fc.constantFrom(...TRICKY_UNITS) },
  ),
  maxLength: 30,
})
const trickyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    trickyString,
    fc.integer(),
    fc.double(),
    fc.constantFrom(null, true, false, 2 ** 53 + 2, 1e308, -1, 0),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(trickyString, tie('value'), { maxKeys: 4 }),
  ),
})).value

/** A valid request of the route, with random optional fields, ids of live roles and, at times, headers. */
function validPartsArbitrary(route: RouteSpec, world: World): fc.Arbitrary<Parts> {
  const params: Record<string, fc.Arbitrary<string>> = {}
  for (const name of route.paramNames) {
    if (name === '*') {
      params[name] = fc.constant('fuzz/missing.pdf')
      continue
    }
    const roles = world.rolesFor(route, name)
    const kind = paramKind(route, name)
    const all = [...roles, ...(kind && ROLES[kind]?.includes('other') ? [`${kind}.other`] : [])]
    params[name] = roles.length
      ? fc
          .oneof(
            { weight: 4, arbitrary: fc.constant(roles[0]!) },
            { weight: 2, arbitrary: fc.constantFrom(...all) },
          )
          .map((r) => `@@ref:${r}@@`)
      : fc.constant(String(minimalExample(route.params.properties?.[name] ?? {}, { name }, bodyRef)))
  }
  const cursors = world.cursors.filter((c) => c.route === route.key)
  const query = route.query
    ? fc
        .tuple(
          validArbitrary(route.query, { name: '' }, bodyRef),
          fc.option(fc.constantFrom(...(cursors.length ? cursors : [undefined])), { nil: undefined }),
        )
        .map(([q, cursor]) => {
          const out = { ...(q as Record<string, unknown>) }
          delete out['cursor']
          return cursor ? { ...out, ...cursor.query, cursor: cursor.cursor } : out
        })
    : fc.constant({})
  const headerModel: Record<string, fc.Arbitrary<string | undefined>> = {}
  for (const name of Object.keys(route.headers?.properties ?? {})) {
    headerModel[name] =
      name === 'if-match'
        ? fc.option(fc.constantFrom('@@etag@@', '*'), { nil: undefined, freq: 2 })
        : name === 'idempotency-key'
          ? fc.option(fc.uuid(), { nil: undefined, freq: 2 })
          : fc.option(validArbitrary(route.headers!.properties![name]!, { name }, bodyRef).map(String), {
              nil: undefined,
            })
  }
  const headers = fc
    .record(headerModel)
    .map(
      (h) =>
        Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>,
    )
  const body =
    route.body && hasBody(route) ? validArbitrary(route.body, { name: '' }, bodyRef) : fc.constant(undefined)
  return fc.record({ params: fc.record(params), query, headers, body }) as fc.Arbitrary<Parts>
}

interface Target {
  carrier: Carrier
  node: Node
}

function targetsOf(route: RouteSpec, parts: Parts): Target[] {
  const out: Target[] = []
  if (route.body && parts.body !== undefined)
    for (const node of nodesOf(route.body, parts.body)) out.push({ carrier: 'json', node })
  if (route.query)
    for (const node of nodesOf(route.query, parts.query).filter((n) => n.pointer.length === 1))
      out.push({ carrier: 'query', node })
  if (!route.queryOnly) {
    for (const node of nodesOf(route.params, parts.params).filter(
      (n) => n.pointer.length === 1 && n.place.name !== '*',
    ))
      out.push({ carrier: 'path', node })
  }
  if (route.headers)
    for (const node of nodesOf(route.headers, parts.headers).filter((n) => n.pointer.length === 1))
      out.push({ carrier: 'header', node })
  return out
}

function mutatedCase(route: RouteSpec, parts: Parts, target: Target, pick: number): NewCase | undefined {
  const { node, carrier } = target
  const name = node.place.name
  const kind = carrier === 'path' ? paramKind(route, name) : kindOfIdName(name)
  const ids = kind ? { kind, role: ROLES[kind]?.[0] ?? 'none' } : {}
  const current =
    carrier === 'json'
      ? valueAt(parts.body, node.pointer)
      : (carrier === 'query' ? parts.query : carrier === 'path' ? parts.params : parts.headers)[name]
  const mutations =
    carrier === 'header' ? headerMutations(node) : mutationsOf(node, carrier, current, bodyRef, ids)
  if (mutations.length === 0) return undefined
  const mutation = mutations[pick % mutations.length]!
  const value = mutation.value === ABSENT ? undefined : mutation.value
  let next: Parts
  let location: string
  let detail: string
  if (carrier === 'json') {
    next = { ...parts, body: setAt(parts.body, route.body!, node.pointer, value, bodyRef) }
    location = `body ${pointerText(node.pointer)}`
    detail = pointerText(node.pointer)
  } else {
    const key = carrier === 'query' ? 'query' : carrier === 'path' ? 'params' : 'headers'
    const record = { ...(parts[key] as Record<string, unknown>) }
    if (value === undefined) delete record[name]
    else record[name] = value
    if (
      carrier === 'path' &&
      (value === undefined || (typeof value !== 'string' && !(value instanceof RawText)))
    )
      return undefined
    if (carrier === 'header' && typeof value !== 'string') return undefined
    next = { ...parts, [key]: record }
    location = `${carrier} ${name}`
    detail = `/${key}/${name}`
  }
  const mu =
    carrier === 'query' && mutation.kind === 'repeated parameter'
      ? { ...mutation, expect: 'any' as const }
      : mutation
  return {
    route,
    location,
    mutation: mutation.kind,
    value: mutation.value,
    draft: draftOf(route, next),
    expect: expectationOf(route, next, mu, detail),
  }
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

/** Fully random: any method, random path ids, random query keys and values, random JSON or text bodies. */
function chaosArbitrary(route: RouteSpec, world: World): fc.Arbitrary<NewCase> {
  const queryKeys = Object.keys(route.query?.properties ?? {})
  const roles = route.paramNames.flatMap((n) => world.rolesFor(route, n)).map((r) => `@@ref:${r}@@`)
  return fc
    .record({
      method: fc.oneof(
        { weight: 4, arbitrary: fc.constant(route.method) },
        { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
      ),
      params: fc.record(
        Object.fromEntries(
          route.paramNames.map((n) => [
            n,
            n === '*'
              ? fc.constant('fuzz/missing.pdf')
              : fc.oneof(fc.constantFrom(...(roles.length ? roles : ['x'])), trickyString, fc.uuid()),
          ]),
        ) as Record<string, fc.Arbitrary<string>>,
      ),
      query: fc.dictionary(
        fc.oneof(fc.constantFrom(...(queryKeys.length ? queryKeys : ['q']), 'unexpected'), trickyString),
        fc.oneof(trickyString, fc.integer().map(String)),
        { maxKeys: 4 },
      ),
      headers: fc.dictionary(
        fc.constantFrom('if-match', 'idempotency-key', 'x-request-id', 'accept'),
        trickyString,
        { maxKeys: 2 },
      ),
      body: fc.oneof(
        { weight: 3, arbitrary: trickyJson.map((json) => ({ json })) },
        { weight: 1, arbitrary: trickyString.map((text) => ({ text })) },
        { weight: 1, arbitrary: fc.constant(undefined) },
      ),
      contentType: fc.constantFrom(undefined, undefined, undefined, 'text/plain', null, 'application/json'),
    })
    .map(({ method, params, query, headers, body, contentType }) => {
      const draft: Draft = {
        method,
        path: route.path,
        params,
        query,
        headers,
        auth: route.auth ? 'user' : 'none',
      }
      if (body && method !== 'GET' && method !== 'OPTIONS') draft.body = body
      if (contentType !== undefined) draft.contentType = contentType
      let expect: Expectation = { reject: false }
      // An empty path id makes another URL (`/customers/` is the list): no expectation then.
      const emptyId = Object.values(params).some((p) => p === '')
      if (
        method === route.method &&
        !emptyId &&
        (!draft.body || 'json' in draft.body) &&
        contentType === undefined
      ) {
        const parts: Parts = {
          params,
          query,
          headers,
          body: draft.body && 'json' in draft.body ? draft.body.json : undefined,
        }
        if (partsConform(route, parts) === false) expect = { reject: true }
      }
      return {
        route,
        location: 'anywhere',
        mutation: 'chaos',
        value: draft.body && 'json' in draft.body ? draft.body.json : draft.query,
        draft,
        expect,
      }
    })
}

/** Random cases: a valid request (1), one random mutation of a random valid request (6), or chaos (3). */
export function randomArbitrary(routes: RouteSpec[], world: World): fc.Arbitrary<NewCase> {
  return fc.constantFrom(...routes).chain((route) => {
    const parts = validPartsArbitrary(route, world)
    const valid = parts.map(
      (p): NewCase => ({
        route,
        location: 'nowhere',
        mutation: 'valid request',
        value: p.body ?? p.query,
        draft: draftOf(route, p),
        expect: { reject: false },
      }),
    )
    const single = fc.tuple(parts, fc.nat(), fc.nat()).map(([p, at, pick]): NewCase => {
      const targets = targetsOf(route, p)
      const chosen = targets.length ? mutatedCase(route, p, targets[at % targets.length]!, pick) : undefined
      // A random base may be valid field by field yet refused as a whole (issuedTo before issuedFrom):
      // then `details` name that, so only the sweep (whose base is known good) checks them.
      if (chosen) delete chosen.expect.detailPath
      return (
        chosen ?? {
          route,
          location: 'nowhere',
          mutation: 'valid request',
          value: p.body,
          draft: draftOf(route, p),
          expect: { reject: false },
        }
      )
    })
    return fc.oneof(
      { weight: 1, arbitrary: valid },
      { weight: 6, arbitrary: single },
      { weight: 3, arbitrary: chaosArbitrary(route, world) },
    )
  })
}
