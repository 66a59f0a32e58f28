import {
  allowsNull,
  type IdRef,
  type JsonSchema,
  kindOf,
  mainVariant,
  minimalExample,
  type Node,
  numericVariant,
  type Place,
} from './schema'

/** JSON text placed as is in a body (numbers JSON.stringify cannot write, `__proto__` keys, deep nesting). */
export class RawJson {
  constructor(
    readonly text: string,
    /** What a JSON parser makes of it, for the conformance check; `undefined` when it is not valid JSON. */
    readonly parsed: unknown,
  ) {}
}

const raw = (text: string) => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  return new RawJson(text, parsed)
}

/** A path segment or query text sent byte for byte (malformed percent-encodings, encoded NUL…). */
export class RawText {
  constructor(readonly text: string) {}
}

/** Deletes the location. */
export const ABSENT = Symbol('absent')

export interface Mutation {
  kind: string
  value: unknown
  /** `reject`: a careful API must refuse it whatever the rest says; `any`: no expectation but the invariants. */
  expect?: 'reject' | 'any'
  /**
   * `core` mutations are applied to every location; the sweep gives each `extra` one to a single location of
   * each route (in turn), and the random run to any.
   */
  tier?: 'core' | 'extra'
}

export type Carrier = 'json' | 'query' | 'path' | 'header'

/** The mutations worth trying on every location; all others are tried on one location per route. */
const CORE = new Set([
  'required property missing',
  'nul inside',
  'C0 ESC inside',
  'C1 NEL inside',
  'unpaired high surrogate',
  'just over maxLength',
  '100k chars',
  'empty',
  'null',
  'nested object',
  'not in enum',
  'not a uuid',
  'nil uuid (nobody)',
  "another user's id",
  'number -1',
  'number 0',
  'number 1.5',
  'number 1e308',
  'number -1e308',
  'number 2**53+2',
  'number minimum - 1',
  'number maximum + 1',
  'number exclusiveMinimum',
  'number as string "1"',
  'number NaN',
  'number 1e400 (overflows to Infinity)',
  'one over maxItems',
  'unknown extra property',
  'string "x"',
])

const tiered = (mutations: Mutation[]): Mutation[] =>
  mutations.map((mu) => ({
    ...mu,
    tier: CORE.has(mu.kind) || /^(date|timestamp) /.test(mu.kind) ? 'core' : 'extra',
  }))

const m = (kind: string, value: unknown, expect?: 'reject' | 'any'): Mutation =>
  expect ? { kind, value, expect } : { kind, value }

// ---------------------------------------------------------------------------------------------------------
// Strings

/** Hostile text, valid shapes aside: controls, surrogates, normalisation, injection-looking text. */
function textMutations(base: string): Mutation[] {
  // After the second character, or the pair of surrogates it starts (splitting one is another mutation).
  let mid = Math.min(2, base.length)
  if (/[\uD800-\uDBFF]/.test(base[mid - 1] ?? '')) mid++
  const inside = (c: string) => base.slice(0, mid) + c + base.slice(mid)
  return [
    m('nul inside', inside('\u0000')),
    m('nul alone', '\u0000'),
    m('C0 SOH inside', inside('\u0001')),
    m('C0 BS inside', inside('\u0008')),
    m('C0 VT inside', inside('\u000b')),
    m('C0 ESC inside', inside('\u001b')),
    m('C0 US inside', inside('\u001f')),
    m('CR inside', inside('\r')),
    m('LF inside', inside('\n')),
    m('TAB inside', inside('\t')),
    m('DEL inside', inside('\u007f')),
    m('C1 PAD inside', inside('\u0080')),
    m('C1 NEL inside', inside('\u0085')),
    m('C1 APC inside', inside('\u009f')),
    m('unpaired high surrogate', inside('\uD800')),
    m('unpaired low surrogate', inside('\uDC00')),
    m('high surrogate at end', `${base}\uDBFF`),
    m('reversed surrogate pair', '\uDC00\uD800'),
    m('bidi override', inside('\u202E')),
    m('zero width space only', '\u200B'),
    m('BOM prefix', `\uFEFF${base}`),
    m('decomposed accent (NFD)', 'Zoe\u0301'),
    m('emoji', '🧾💸'),
    m('SQL quote', "x' or '1'='1"),
    m('LIKE wildcards', '%_\\'),
    m('markup', '<script>alert(1)</script>'),
    m('empty', ''),
    m('blank', '   '),
    m('padded', `  ${base}  `, 'any'),
  ]
}

function lengthMutations(s: JsonSchema): Mutation[] {
  const out: Mutation[] = []
  if (s.maxLength !== undefined) {
    out.push(m('just over maxLength', 'x'.repeat(s.maxLength + 1)))
    out.push(m('at maxLength', 'x'.repeat(s.maxLength)))
    out.push(m('maxLength multi-byte', '€'.repeat(s.maxLength)))
    out.push(m('maxLength astral (UTF-16 pairs)', '😀'.repeat(Math.ceil(s.maxLength / 2) + 1)))
  }
  out.push(m('100k chars', 'x'.repeat(100_000)))
  if (s.minLength !== undefined && s.minLength > 1)
    out.push(m('just under minLength', 'x'.repeat(s.minLength - 1)))
  return out
}

/** Impossible and edge dates (API.md: real calendar dates; timestamps with an offset, years 1970–9999). */
const DATE_MUTATIONS = [
  '2026-02-30',
  '0000-01-01',
  '9999-12-31',
  '2026-13-01',
  '01/02/2026',
  '2026-00-10',
  '2026-01-00',
  '2026-1-5',
  '2024-02-29',
  '2026-02-29',
  '1969-12-31',
  '1900-01-01',
  '10000-01-01',
  '+002026-01-15',
  '2026-01-15T00:00:00Z',
  '２０２６-01-15',
]
const TIMESTAMP_MUTATIONS = [
  '2026-02-30T10:00:00Z',
  '2026-01-01T10:00:00',
  '1969-12-31T23:59:59Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '9999-12-31T23:59:59-01:00',
  '2026-13-01T00:00:00Z',
  '2026-06-31T00:00:00Z',
  '2026-01-01T24:00:00Z',
  '2026-01-01T10:60:00Z',
  '2026-01-01 10:00:00Z',
  '2026-01-01T10:00:00+25:00',
  '2026-01-01T10:00:00.1234567891Z',
  '2026-01-01',
  '1767261600',
  '+275760-09-13T00:00:00Z',
  '2026-01-01T10:00:00+01:00',
  '2026-01-15T10:00:00.000Z',
]
const FORMAT_MUTATIONS: Record<string, string[]> = {
  email: ['a@', '@example.com', 'a b@example.com', 'a@b', `${'x'.repeat(250)}@example.com`, 'ü@exämple.com'],
  'iso-4217': ['XXX', 'XTS', 'XAU', 'XDR', 'BOV', 'eur', 'EURO', 'E', 'ZZZ', '123'],
  'iso-3166-alpha-2': ['XX', 'ZZ', 'de', 'DEU', 'EU', 'UK', 'AA', 'QZ'],
  'iana-time-zone': [
    'Mars/Phobos',
    '../../etc/passwd',
    'Etc/GMT+99',
    '+05:00',
    'europe/berlin',
    'Europe/Berlin/Extra',
    'America/Argentina/ComodRivadavia',
    'EST5EDT',
  ],
  printable: ['FZ\u0000', 'ÄÖÜ-', ' FZ', 'F Z', 'x'.repeat(64)],
  uri: ['not a url', 'javascript:alert(1)', 'http://127.0.0.1/', 'file:///etc/passwd'],
  url: ['not a url', 'javascript:alert(1)', 'http://127.0.0.1/', 'file:///etc/passwd'],
}

/** Ids that are wrong in shape, or right in shape but nobody's, or another user's (`@@ref:…@@`). */
function uuidMutations(
  node: Node,
  carrier: Carrier,
  kind: string | undefined,
  role: string | undefined,
): Mutation[] {
  const own = kind && role ? `@@ref:${kind}.${role}@@` : '3f2c9a4e-1b7d-4c8e-9f0a-2b4c6d8e0f12'
  // A path or body id must name one of the user's resources; a query filter by an id nobody has is an empty list.
  const nobody = carrier === 'query' ? 'any' : 'reject'
  const out = [
    m('not a uuid', 'not-a-uuid'),
    m('uuid without dashes', own.includes('@@') ? '3f2c9a4e1b7d4c8e9f0a2b4c6d8e0f12' : own.replace(/-/g, '')),
    m('uuid with a non-hex digit', '00000000-0000-0000-0000-00000000000g'),
    m('uuid one char short', '3f2c9a4e-1b7d-4c8e-9f0a-2b4c6d8e0f1'),
    m('uuid in braces', `{${own}}`),
    m('uuid with trailing space', `${own} `, 'any'),
    m('nil uuid (nobody)', '00000000-0000-0000-0000-000000000000', nobody),
    m('random uuid (nobody)', '7d9b1f04-3c2e-4a6b-8d1f-0e2c4a6b8d1f', nobody),
    m('max uuid (nobody)', 'ffffffff-ffff-ffff-ffff-ffffffffffff', nobody),
  ]
  if (kind) {
    out.push(m("another user's id", `@@ref:${kind}.other@@`, nobody))
    if (role) out.push(m('own id in upper case', `@@ref:${kind}.${role}:upper@@`, 'any'))
  }
  if (node.place.name === '' || node.place.name === 'id') out.push(m('SQL in id', "1' or '1'='1"))
  return out
}

function stringMutations(node: Node, carrier: Carrier, value: unknown, ref: IdRef, ids: IdHint): Mutation[] {
  const s = mainVariant(node.schema)
  // Hostile text is built around the location's own value (a live id stays a live id but for the mutation).
  const base = typeof value === 'string' ? value : String(minimalExample(node.schema, node.place, ref))
  const out: Mutation[] = []
  if (s.format === 'uuid') out.push(...uuidMutations(node, carrier, ids.kind, ids.role))
  if (s.format === 'date' || s.format === 'calendar-date')
    out.push(...DATE_MUTATIONS.map((v) => m(`date ${v}`, v)))
  if (s.format === 'date-time') out.push(...TIMESTAMP_MUTATIONS.map((v) => m(`timestamp ${v}`, v)))
  if (s.format && FORMAT_MUTATIONS[s.format])
    out.push(...FORMAT_MUTATIONS[s.format]!.map((v) => m(`${s.format} ${v}`, v)))
  if (s.enum) {
    const first = String(s.enum[0])
    out.push(
      m('enum in upper case', first.toUpperCase()),
      m('enum with a space', `${first} `),
      m('not in enum', 'unknown'),
    )
  }
  out.push(...textMutations(base), ...lengthMutations(s))
  if (carrier === 'json') out.push(...wrongTypes('string', node.schema))
  if (carrier === 'query') out.push(m('repeated parameter', [base, base], 'any'))
  // An empty path segment makes another URL (`/customers/` is the list): no expectation.
  if (carrier === 'path') return out.map((mu) => (mu.value === '' ? { ...mu, expect: 'any' as const } : mu))
  return out
}

// ---------------------------------------------------------------------------------------------------------
// Numbers

function numberMutations(node: Node, carrier: Carrier): Mutation[] {
  const s = numericVariant(node.schema)
  const values: [string, number][] = [
    ['-1', -1],
    ['0', 0],
    ['1', 1],
    ['1.5', 1.5],
    ['0.0001 (4 decimals)', 0.0001],
    ['-0', -0],
    ['1e308', 1e308],
    ['-1e308', -1e308],
    ['2**53', 2 ** 53],
    ['2**53+2', 2 ** 53 + 2],
    ['2**31', 2 ** 31],
    ['-(2**31)-1', -(2 ** 31) - 1],
    ['MAX_SAFE_INTEGER', Number.MAX_SAFE_INTEGER],
    ['5e-324', 5e-324],
  ]
  if (s.minimum !== undefined)
    values.push(['minimum - 1', s.minimum - 1], ['minimum - 0.001', s.minimum - 0.001])
  if (s.maximum !== undefined)
    values.push(['maximum + 1', s.maximum + 1], ['maximum + 0.001', s.maximum + 0.001])
  if (s.exclusiveMinimum !== undefined) values.push(['exclusiveMinimum', s.exclusiveMinimum])
  if (s.exclusiveMaximum !== undefined) values.push(['exclusiveMaximum', s.exclusiveMaximum])

  if (carrier !== 'json') {
    const text: [string, string][] = [
      ...values.map(([k, v]) => [k, String(v)] as [string, string]),
      ['NaN', 'NaN'],
      ['Infinity', 'Infinity'],
      ['-Infinity', '-Infinity'],
      ['empty', ''],
      ['1e3', '1e3'],
      ['hex', '0x10'],
      ['leading zero', '01'],
      ['leading space', ' 1'],
      ['plus sign', '+1'],
      ['NUL after digit', '1\u0000'],
      ['arabic-indic digit', '١'],
      ['20 digits', '99999999999999999999'],
      ['letters', 'abc'],
    ]
    const out = text.map(([k, v]) => m(`number ${k}`, v))
    if (carrier === 'query') out.push(m('repeated parameter', ['1', '2'], 'any'))
    return out
  }
  return [
    ...values.map(([k, v]) => m(`number ${k}`, v)),
    m('number 1e400 (overflows to Infinity)', raw('1e400')),
    m('number -1e400', raw('-1e400')),
    m('number 1e-400 (underflows to 0)', raw('1e-400')),
    m('number with 30 digits', raw('123456789012345678901234567890')),
    m('NaN literal (invalid JSON)', raw('NaN')),
    m('Infinity literal (invalid JSON)', raw('Infinity')),
    m('leading zero (invalid JSON)', raw('01')),
    m('number as string "1"', '1'),
    m('number as string "NaN"', 'NaN'),
    m('number as string "Infinity"', 'Infinity'),
    m('number as string "1e3"', '1e3'),
    ...wrongTypes('number', node.schema),
  ]
}

// ---------------------------------------------------------------------------------------------------------
// Containers and types

function wrongTypes(kind: string, schema: JsonSchema): Mutation[] {
  const out: Mutation[] = []
  if (kind !== 'null') out.push(m('null', null, allowsNull(schema) ? 'any' : undefined))
  if (kind !== 'boolean') out.push(m('boolean true', true))
  if (kind !== 'number' && kind !== 'integer') out.push(m('number 0', 0), m('number 1e308', 1e308))
  if (kind !== 'string') out.push(m('string "x"', 'x'), m('string "1"', '1'))
  if (kind !== 'object') out.push(m('empty object', {}), m('nested object', { value: { deeper: ['x'] } }))
  if (kind !== 'array') out.push(m('empty array', []), m('array of strings', ['x', 'y']))
  out.push(m('deeply nested arrays (2000 levels)', raw(`${'['.repeat(2000)}${']'.repeat(2000)}`)))
  out.push(
    m(
      'huge array (20k numbers)',
      Array.from({ length: 20_000 }, (_, i) => i),
    ),
  )
  return out
}

function arrayMutations(node: Node, ref: IdRef): Mutation[] {
  const s = mainVariant(node.schema)
  const item = minimalExample(s.items ?? {}, node.place, ref)
  const full = s.items ? fullItem(s.items, node.place, ref) : item
  const out: Mutation[] = [
    m('empty array', [], 'any'),
    m('array of nulls', [null, null]),
    m('nested array', [[full]]),
  ]
  if (s.maxItems !== undefined) {
    out.push(
      m(
        'one over maxItems',
        Array.from({ length: s.maxItems + 1 }, () => full),
      ),
    )
    out.push(
      m(
        'at maxItems',
        Array.from({ length: s.maxItems }, () => full),
        'any',
      ),
    )
  }
  out.push(
    m(
      'huge array (5000 items)',
      Array.from({ length: 5000 }, () => full),
    ),
  )
  out.push(...wrongTypes('array', node.schema))
  return out
}

function fullItem(items: JsonSchema, place: Place, ref: IdRef): unknown {
  // A valid item with every field, so a list of them is valid but for its length.
  const main = mainVariant(items)
  if (kindOf(items) !== 'object' || !main.properties) return minimalExample(items, place, ref)
  return Object.fromEntries(
    Object.entries(main.properties).map(([name, sub]) => [name, minimalExample(sub, { name }, ref)]),
  )
}

function objectMutations(node: Node, value: unknown): Mutation[] {
  const base = (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}) as Record<
    string,
    unknown
  >
  const text = JSON.stringify(base)
  const withKey = (key: string, v: string) =>
    raw(text === '{}' ? `{${key}:${v}}` : `{${key}:${v},${text.slice(1)}`)
  const deep = `${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`
  return [
    m('unknown extra property', { ...base, unexpectedField: 1 }),
    m('extra "total" property', { ...base, total: 1 }),
    m('__proto__ property', withKey('"__proto__"', '{"polluted":true}')),
    m('constructor property', withKey('"constructor"', '{"prototype":{"polluted":true}}')),
    m('duplicate key', raw(text === '{}' ? '{"a":1,"a":2}' : `${text.slice(0, -1)},${text.slice(1)}`), 'any'),
    m('empty object', {}, 'any'),
    m('deep nesting (2000 levels)', raw(deep)),
    ...wrongTypes('object', node.schema),
  ]
}

/** Which real ids a uuid location refers to, for "another user's id" and "own id in upper case". */
export interface IdHint {
  kind?: string
  role?: string
}

/** Every mutation of one location, by its schema and how the value travels. */
export function mutationsOf(
  node: Node,
  carrier: Carrier,
  value: unknown,
  ref: IdRef,
  ids: IdHint = {},
): Mutation[] {
  const out: Mutation[] = []
  if (node.parent && node.required) out.push(m('required property missing', ABSENT))
  switch (kindOf(node.schema)) {
    case 'string':
      out.push(...stringMutations(node, carrier, value, ref, ids))
      break
    case 'integer':
    case 'number':
      out.push(...numberMutations(node, carrier))
      break
    case 'boolean':
      out.push(...(carrier === 'json' ? wrongTypes('boolean', node.schema) : [m('not a boolean', 'yes')]))
      break
    case 'array':
      out.push(...arrayMutations(node, ref))
      break
    case 'object':
      out.push(...objectMutations(node, value))
      break
    default:
      out.push(...wrongTypes('unknown', node.schema))
  }
  // Query, path and header values are text: a JSON value there means its text (objects do not exist).
  if (carrier === 'json') return tiered(out)
  return tiered(
    out.filter((mu) => typeof mu.value === 'string' || Array.isArray(mu.value) || mu.value === ABSENT),
  )
}

export const describeValue = (value: unknown, max = 160): string => {
  if (value === ABSENT) return '(absent)'
  if (value instanceof RawJson || value instanceof RawText) return clip(value.text, max)
  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    text = String(value)
  }
  return clip(text, max)
}

/** Shortens a text, keeping both ends, and escapes what a terminal would hide. */
export function clip(text: string, max = 160): string {
  const visible = text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: showing control characters is the point
    /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
  if (visible.length <= max) return visible
  return `${visible.slice(0, max - 40)}…(${visible.length} chars)…${visible.slice(-20)}`
}
