import { FormatRegistry } from '@sinclair/typebox'
import fc from 'fast-check'

/**
 * The part of JSON Schema that TypeBox (and so every route's `body`, `query`, `params` and `headers`) writes.
 * Everything the fuzzer generates or expects is read from these nodes, never from a list of fields.
 */
export interface JsonSchema {
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean | JsonSchema
  minProperties?: number
  items?: JsonSchema
  minItems?: number
  maxItems?: number
  minLength?: number
  maxLength?: number
  pattern?: string
  format?: string
  enum?: unknown[]
  const?: unknown
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  allOf?: JsonSchema[]
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
  multipleOf?: number
  examples?: unknown[]
}

/** Where a value sits: its name decides the few rules that JSON Schema cannot say (see `contract`). */
export interface Place {
  /** The property, query parameter, path parameter or header name; '' at the top. */
  name: string
}

// ---------------------------------------------------------------------------------------------------------
// Reading schemas

export const variants = (s: JsonSchema): JsonSchema[] => s.anyOf ?? s.oneOf ?? [s]

const typesOf = (s: JsonSchema): string[] =>
  s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type]

export const isNullType = (s: JsonSchema) => typesOf(s).length === 1 && typesOf(s)[0] === 'null'

/** The variant that carries the shape: the first that is not `null` (a nullable field is its value's). */
export function mainVariant(s: JsonSchema): JsonSchema {
  const vs = variants(s)
  if (vs.length === 1) return vs[0]!
  return vs.find((v) => !isNullType(v)) ?? vs[0]!
}

export const allowsNull = (s: JsonSchema): boolean => variants(s).some(isNullType)

/** A coarse kind for a node, to pick mutations and generators. */
export type Kind = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array' | 'null' | 'unknown'

export function kindOf(s: JsonSchema): Kind {
  const main = mainVariant(s)
  if (main !== s && (main.anyOf || main.oneOf)) return kindOf(main)
  // Elysia turns a query or header number into `anyOf [string (format integer|numeric), number]`.
  const vs = variants(s)
  const numeric = vs.find((v) => typesOf(v).includes('integer') || typesOf(v).includes('number'))
  if (numeric && vs.length > 1 && vs.every((v) => !typesOf(v).includes('object'))) {
    return typesOf(numeric).includes('integer') ? 'integer' : 'number'
  }
  if (main.enum || main.const !== undefined) return typeof (main.enum?.[0] ?? main.const) as Kind
  const [type] = typesOf(main)
  if (type && ['string', 'integer', 'number', 'boolean', 'object', 'array', 'null'].includes(type)) {
    return type as Kind
  }
  if (main.properties) return 'object'
  return 'unknown'
}

/** The numeric variant of a node (for bounds), whatever Elysia wrapped around it. */
export function numericVariant(s: JsonSchema): JsonSchema {
  return (
    variants(s).find((v) => typesOf(v).includes('integer') || typesOf(v).includes('number')) ?? mainVariant(s)
  )
}

// ---------------------------------------------------------------------------------------------------------
// The contract's rules that JSON Schema cannot express (API.md, "Conventions")

/** Fields where `\n` and `\t` are allowed: API.md names notes, memo, message and the address lines. */
const MULTI_LINE = new Set(['notes', 'memo', 'message', 'line1', 'line2'])

/** NUL, C0 (but `\n`/`\t` in multi-line fields) and C1 controls, and unpaired surrogates are refused. */
export function textIsAllowed(value: string, place: Place): boolean {
  const multiLine = MULTI_LINE.has(place.name)
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++
        continue
      }
      return false
    }
    if (c >= 0xdc00 && c <= 0xdfff) return false
    if (c === 0x0a || c === 0x09) {
      if (!multiLine) return false
      continue
    }
    if (c < 0x20 || (c >= 0x80 && c <= 0x9f)) return false
  }
  return true
}

const daysIn = (year: number, month: number) =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : [4, 6, 9, 11].includes(month)
      ? 30
      : 31

/** `YYYY-MM-DD` naming a real day (the year is left to the API, except its four digits). */
export function isRealCalendarDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value)
  if (!m) return false
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  return mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo)
}

/** API.md: client timestamps are RFC 3339 with `Z` or an offset, a real calendar date, years 1970–9999. */
export function isContractTimestamp(value: string): boolean {
  const m = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/.exec(value)
  if (!m) return false
  const year = Number(m[1]!.slice(0, 4))
  if (year < 1970 || year > 9999 || !isRealCalendarDate(m[1]!)) return false
  if (Number(m[2]) > 23 || Number(m[3]) > 59 || Number(m[4]) > 60) return false
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false
  return true
}

/** Per-name rules of API.md for headers the schemas leave as plain strings. */
const HEADER_RULES: Record<string, (value: string) => boolean> = {
  // "`Idempotency-Key` (1–255 printable ASCII)"
  'idempotency-key': (value) => /^[\x20-\x7E]{1,255}$/.test(value),
}

/** Strings that stand for real ids (resolved when the request is sent): `@@ref:invoice.draft@@`. */
export const PLACEHOLDER = /@@(ref:[\w.-]+(?::\w+)?|etag)@@/g
const SAMPLE_UUID = '6f1c2a52-8c4e-4d7a-9b1e-3c5d7e9f0a1b'

/** A stand-in for conformance checks: placeholders become a well-formed id (upper case when asked). */
export const withSampleIds = (value: string) =>
  value.replace(PLACEHOLDER, (_, ref: string) =>
    ref === 'etag' ? '"etag"' : ref.endsWith(':upper') ? SAMPLE_UUID.toUpperCase() : SAMPLE_UUID,
  )

function formatAllows(format: string, value: string): boolean {
  const check = FormatRegistry.Get(format)
  const registered = check ? check(value) : true
  switch (format) {
    case 'date-time':
      return isContractTimestamp(value)
    case 'date':
    case 'calendar-date':
      return registered && isRealCalendarDate(value)
    default:
      return registered
  }
}

// ---------------------------------------------------------------------------------------------------------
// Conformance: would a careful API accept this value? (the schema, plus API.md's text and timestamp rules)

export interface ConformOptions {
  /** Header values follow HEADER_RULES by their name. */
  headers?: boolean
  /** Body strings are trimmed, and one left blank is refused (send null to clear a field). */
  body?: boolean
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

export function conforms(
  s: JsonSchema,
  value: unknown,
  place: Place = { name: '' },
  o: ConformOptions = {},
): boolean {
  if (s.allOf && !s.allOf.every((v) => conforms(v, value, place, o))) return false
  if (s.anyOf || s.oneOf) return variants(s).some((v) => conforms(v, value, place, o))
  if (s.const !== undefined && value !== s.const) return false
  if (s.enum && !s.enum.includes(value)) return false
  const types = typesOf(s)
  if (types.length > 0 && !types.some((type) => hasType(type, value))) return false

  if (typeof value === 'string') {
    const text = withSampleIds(value)
    if (s.minLength !== undefined && text.length < s.minLength) return false
    if (s.maxLength !== undefined && text.length > s.maxLength) return false
    if (s.pattern !== undefined && !new RegExp(s.pattern).test(text)) return false
    if (s.format !== undefined && !formatAllows(s.format, text)) return false
    if (!textIsAllowed(text, place)) return false
    if (o.body && (s.minLength ?? 0) >= 1 && text.trim() === '') return false
    if (o.headers && HEADER_RULES[place.name] && !HEADER_RULES[place.name]!(text)) return false
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return false
    if (s.minimum !== undefined && value < s.minimum) return false
    if (s.maximum !== undefined && value > s.maximum) return false
    if (s.exclusiveMinimum !== undefined && value <= s.exclusiveMinimum) return false
    if (s.exclusiveMaximum !== undefined && value >= s.exclusiveMaximum) return false
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) return false
    if (s.maxItems !== undefined && value.length > s.maxItems) return false
    if (s.items && !value.every((item) => conforms(s.items!, item, place, o))) return false
  }
  if (isPlainObject(value) && (s.properties || types.includes('object'))) {
    const properties = s.properties ?? {}
    const keys = Object.keys(value)
    if (s.minProperties !== undefined && keys.length < s.minProperties) return false
    for (const name of s.required ?? []) if (!(name in value) || value[name] === undefined) return false
    for (const key of keys) {
      const sub = properties[key]
      if (sub) {
        if (!conforms(sub, value[key], { name: key }, o)) return false
      } else if (s.additionalProperties === false) {
        return false
      }
    }
  }
  return true
}

function hasType(type: string, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string'
    case 'integer':
      return Number.isInteger(value)
    case 'number':
      return typeof value === 'number'
    case 'boolean':
      return typeof value === 'boolean'
    case 'null':
      return value === null
    case 'array':
      return Array.isArray(value)
    case 'object':
      return isPlainObject(value)
    default:
      return true
  }
}

// ---------------------------------------------------------------------------------------------------------
// Valid values: a deterministic minimal one, and a fast-check arbitrary of them

/** Chooses the placeholder of a uuid-formatted value by its name (`customerId` → a customer's id). */
export type IdRef = (place: Place) => string

/** `customerId` → `customer`, `invoiceItemId` → `invoiceItem`; `id` alone has no kind of its own. */
export const kindOfIdName = (name: string): string | undefined =>
  /^(.+)Id$/.exec(name)?.[1] ?? (/^(.+)_id$/.exec(name)?.[1] || undefined)

const DATE_EXAMPLE = '2026-01-15'
const TIMESTAMP_EXAMPLE = '2026-01-15T10:00:00.000Z'
const FORMAT_EXAMPLES: Record<string, string> = {
  date: DATE_EXAMPLE,
  'calendar-date': DATE_EXAMPLE,
  'date-time': TIMESTAMP_EXAMPLE,
  'iso-4217': 'EUR',
  'iso-3166-alpha-2': 'DE',
  'iana-time-zone': 'Europe/Berlin',
  printable: 'FZ-',
  email: 'fuzz@example.com',
  integer: '2',
  numeric: '1',
  uri: 'https://example.com/hook',
  'http-url': 'https://hooks.example.com/invoices',
  url: 'https://example.com/hook',
  'bcp47-locale': 'de-DE',
  iban: 'DE89370400440532013000',
  'iso-9362-bic': 'COBADEFFXXX',
  'unit-code': 'C62',
}

function stringExample(s: JsonSchema, place: Place, ref: IdRef): string {
  if (s.format === 'uuid') return ref(place)
  const fromSchema = s.examples?.find((e) => typeof e === 'string' && conforms(s, e, place))
  if (typeof fromSchema === 'string') return fromSchema
  if (s.format && FORMAT_EXAMPLES[s.format] !== undefined) return FORMAT_EXAMPLES[s.format]!
  if (s.pattern) {
    const [sample] = fc.sample(fc.stringMatching(new RegExp(s.pattern)), { seed: 1, numRuns: 1 })
    if (sample !== undefined) return sample
  }
  const min = s.minLength ?? 0
  const max = s.maxLength ?? 40
  const text = 'Fuzz value'.slice(0, Math.min(max, 10))
  return text.length >= min ? text : text.padEnd(min, 'x')
}

function numberExample(s: JsonSchema, integer: boolean): number {
  const lo = s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : s.minimum
  const hi = s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : s.maximum
  const wanted = 1
  let value = wanted
  if (lo !== undefined && value < lo) value = integer ? Math.ceil(lo) : lo
  if (hi !== undefined && value > hi) value = integer ? Math.floor(hi) : hi
  return value
}

/**
 * The smallest valid value: required properties only (optional ones are added by the mutation that targets
 * them), `minItems` items, the first non-null variant of a union.
 */
export function minimalExample(s: JsonSchema, place: Place, ref: IdRef): unknown {
  const main = mainVariant(s)
  if (main.const !== undefined) return main.const
  if (main.enum) return main.enum[0]
  switch (kindOf(s)) {
    case 'string':
      return stringExample(main, place, ref)
    case 'integer':
      return kindOf(main) === 'string' ? stringExample(main, place, ref) : numberExample(main, true)
    case 'number':
      return kindOf(main) === 'string' ? stringExample(main, place, ref) : numberExample(main, false)
    case 'boolean':
      return true
    case 'null':
      return null
    case 'array':
      return Array.from({ length: main.minItems ?? 0 }, () =>
        minimalExample(main.items ?? {}, { name: place.name }, ref),
      )
    case 'object': {
      const out: Record<string, unknown> = {}
      for (const name of main.required ?? []) {
        const sub = main.properties?.[name]
        if (sub) out[name] = minimalExample(sub, { name }, ref)
      }
      // A patch needs at least `minProperties`: the first optional ones, in schema order.
      for (const [name, sub] of Object.entries(main.properties ?? {})) {
        if (Object.keys(out).length >= (main.minProperties ?? 0)) break
        if (!(name in out)) out[name] = minimalExample(sub, { name }, ref)
      }
      return out
    }
    default:
      return 'x'
  }
}

/** A value of every optional property too (used to build a list of valid items, and in random bases). */
export function fullExample(s: JsonSchema, place: Place, ref: IdRef): unknown {
  const main = mainVariant(s)
  if (kindOf(s) === 'object' && main.properties) {
    const out: Record<string, unknown> = {}
    for (const [name, sub] of Object.entries(main.properties)) out[name] = fullExample(sub, { name }, ref)
    return out
  }
  if (kindOf(s) === 'array') return [fullExample(main.items ?? {}, place, ref)]
  return minimalExample(s, place, ref)
}

// Text a person might type: several scripts, accents, a pair of surrogates (an emoji), punctuation.
const TEXT_UNIT = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 -.,&/') },
  { weight: 2, arbitrary: fc.constantFrom('é', 'ü', 'ß', 'Ω', 'Ж', '東', 'ą', 'ñ', 'ø', '’', '€') },
  { weight: 1, arbitrary: fc.constantFrom('😀', '🧾', '👍🏽') },
)

const CURRENCIES = ['EUR', 'USD', 'JPY', 'KWD', 'GBP', 'CHF', 'SEK']
const COUNTRIES = ['DE', 'US', 'FR', 'JP', 'GB', 'CH', 'BR']
const ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Asia/Tokyo',
  'Pacific/Kiritimati',
  'Pacific/Pago_Pago',
]

function stringArbitrary(s: JsonSchema, place: Place, ref: IdRef): fc.Arbitrary<string> {
  const min = s.minLength ?? 0
  const max = s.maxLength ?? 60
  switch (s.format) {
    case 'uuid':
      return fc.constant(ref(place))
    case 'date':
    case 'calendar-date':
      return fc
        .date({
          min: new Date('2025-06-01T00:00:00Z'),
          max: new Date('2026-12-31T00:00:00Z'),
          noInvalidDate: true,
        })
        .map((d) => d.toISOString().slice(0, 10))
    case 'date-time':
      return fc
        .date({
          min: new Date('2024-01-01T00:00:00Z'),
          max: new Date(Date.now() - 60_000),
          noInvalidDate: true,
        })
        .map((d) => d.toISOString())
    case 'iso-4217':
      return fc.constantFrom(...CURRENCIES)
    case 'iso-3166-alpha-2':
      return fc.constantFrom(...COUNTRIES)
    case 'iana-time-zone':
      return fc.constantFrom(...ZONES)
    case 'email':
      return fc.emailAddress().filter((e) => e.length <= Math.min(max, 254) && conforms(s, e, place))
    case 'printable':
      return fc
        .string({
          unit: fc.constantFrom(...'ABCXYZ-_/#0123456789'),
          minLength: Math.max(1, min),
          maxLength: Math.min(max, 12),
        })
        .filter((v) => conforms(s, v, place))
    case 'http-url':
      // Webhook endpoint addresses: public names (which do not resolve here) and the private ones the guard refuses.
      return fc.constantFrom(
        'https://hooks.example.com/invoices',
        'http://127.0.0.1:9/hook',
        'https://[::1]/hook',
        'http://169.254.169.254/latest',
        'https://10.0.0.1/x?y=1',
      )
    case 'bcp47-locale':
      return fc.constantFrom('en-US', 'de-DE', 'fr-FR', 'ja-JP', 'ar-EG', 'en_US', 'xx-YY-zz', 'de')
    case 'iban':
      // Valid ones, a wrong check digit, and lower case.
      return fc.constantFrom(
        'DE89370400440532013000',
        'GB82WEST12345698765432',
        'DE89370400440532013001',
        'de89370400440532013000',
      )
    case 'unit-code':
      // UN/ECE Recommendation 20 units, and what the pattern refuses: lower case, too long, too short.
      return fc.constantFrom('C62', 'HUR', 'KGM', 'MTR', 'H87', 'c62', 'KGMS', 'X')
    case 'iso-9362-bic':
      return fc.constantFrom('COBADEFFXXX', 'DEUTDEFF', 'COBAXXFF', 'cobadeff')
    case 'integer':
      return fc.integer({ min: 1, max: 100 }).map(String)
    case 'numeric':
      return fc.integer({ min: 0, max: 1000 }).map(String)
  }
  if (s.pattern) return fc.stringMatching(new RegExp(s.pattern)).filter((v) => conforms(s, v, place))
  return fc
    .string({ unit: TEXT_UNIT, minLength: Math.max(min, 1), maxLength: Math.max(Math.min(max, 40), 1) })
    .map((v) => v.trim())
    .filter((v) => conforms(s, v, place))
}

function numberArbitrary(s: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const lo = s.exclusiveMinimum ?? s.minimum
  const hi = s.exclusiveMaximum ?? s.maximum
  const scale = integer ? 1 : 1000
  const min = Math.max(lo ?? -1_000_000, -Number.MAX_SAFE_INTEGER / scale)
  const max = Math.min(hi ?? 1_000_000, Number.MAX_SAFE_INTEGER / scale)
  const whole = fc.integer({ min: Math.ceil(min * scale), max: Math.floor(max * scale) })
  // Mostly ordinary amounts, sometimes anywhere in the range.
  // Unbounded integers (page sizes checked in code) are mostly 1–100.
  const unbounded = lo === undefined && hi === undefined
  const smallLo = unbounded ? scale : Math.max(Math.ceil(min * scale), integer ? 0 : 1)
  const smallHi = unbounded ? 100 * scale : Math.min(Math.floor(max * scale), smallLo + 10_000 * scale)
  const small = smallHi >= smallLo ? fc.integer({ min: smallLo, max: smallHi }) : whole
  return fc
    .oneof({ weight: 4, arbitrary: small }, { weight: 1, arbitrary: whole })
    .map((n) => n / scale)
    .filter((n) => conforms(s, n))
}

/** Valid values of a node: a random subset of optional properties, a few items, plausible text. */
export function validArbitrary(s: JsonSchema, place: Place, ref: IdRef): fc.Arbitrary<unknown> {
  const vs = variants(s)
  if (vs.length > 1 && kindOf(s) !== 'integer' && kindOf(s) !== 'number') {
    return fc.oneof(
      ...vs.map((v) => ({ weight: isNullType(v) ? 1 : 4, arbitrary: validArbitrary(v, place, ref) })),
    )
  }
  const main = mainVariant(s)
  if (main.const !== undefined) return fc.constant(main.const)
  if (main.enum) return fc.constantFrom(...main.enum)
  switch (kindOf(s)) {
    case 'string':
      return stringArbitrary(main, place, ref)
    case 'integer':
    case 'number': {
      const numeric = numericVariant(s)
      const n = numberArbitrary(numeric, kindOf(s) === 'integer')
      // A query or header number travels as text.
      return vs.some((v) => kindOf(v) === 'string') ? n.map(String) : n
    }
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    case 'array':
      return fc.array(validArbitrary(main.items ?? {}, place, ref), {
        minLength: main.minItems ?? 0,
        maxLength: Math.max(main.minItems ?? 0, Math.min(main.maxItems ?? 3, 3)),
      })
    case 'object': {
      const properties = main.properties ?? {}
      const model = Object.fromEntries(
        Object.entries(properties).map(([name, sub]) => [name, validArbitrary(sub, { name }, ref)]),
      )
      const required = (main.required ?? []).filter((name) => name in properties)
      return fc.record(model, { requiredKeys: required }).map((value) => {
        const v = value as Record<string, unknown>
        const missing = (main.minProperties ?? 0) - Object.keys(v).length
        if (missing > 0) {
          for (const [name, sub] of Object.entries(properties).slice(0, missing)) {
            v[name] = minimalExample(sub, { name }, ref)
          }
        }
        return v
      })
    }
    default:
      return fc.jsonValue({ maxDepth: 2 })
  }
}

// ---------------------------------------------------------------------------------------------------------
// Locations of a value, walked along its schema

export interface Node {
  /** JSON pointer segments from the root of the part (body, query, …). */
  pointer: (string | number)[]
  schema: JsonSchema
  place: Place
  /** The object node holding this property, and whether the property is required there. */
  parent?: JsonSchema
  required?: boolean
}

/**
 * Every location a mutation can target: each schema property (present in `value` or not), the first item of
 * each array, and the containers themselves.
 */
export function nodesOf(s: JsonSchema, value: unknown, place: Place = { name: '' }): Node[] {
  const out: Node[] = []
  const walk = (
    schema: JsonSchema,
    v: unknown,
    pointer: (string | number)[],
    p: Place,
    parent?: JsonSchema,
  ) => {
    const required = parent ? (parent.required ?? []).includes(String(pointer.at(-1))) : undefined
    out.push({ pointer, schema, place: p, ...(parent ? { parent, required } : {}) })
    const main = mainVariant(schema)
    const kind = kindOf(schema)
    if (kind === 'object' && main.properties && (v === undefined || isPlainObject(v))) {
      for (const [name, sub] of Object.entries(main.properties)) {
        walk(sub, isPlainObject(v) ? v[name] : undefined, [...pointer, name], { name }, main)
      }
    }
    if (kind === 'array' && main.items) {
      walk(main.items, Array.isArray(v) ? v[0] : undefined, [...pointer, 0], p)
    }
  }
  walk(s, value, [], place)
  return out
}

/** Sets (or with `undefined`, deletes) the value at a pointer, creating minimal valid ancestors on the way. */
export function setAt(
  root: unknown,
  rootSchema: JsonSchema,
  pointer: (string | number)[],
  value: unknown,
  ref: IdRef,
): unknown {
  if (pointer.length === 0) return value
  const copy = structuredClone(root ?? minimalExample(rootSchema, { name: '' }, ref))
  let node: unknown = copy
  let schema = rootSchema
  for (let i = 0; i < pointer.length - 1; i++) {
    const key = pointer[i]!
    const main = mainVariant(schema)
    const childSchema = (typeof key === 'number' ? main.items : main.properties?.[key]) ?? {}
    const container = node as Record<string | number, unknown>
    const next = pointer[i + 1]!
    const wantArray = typeof next === 'number'
    const existing = container[key]
    if (wantArray ? !Array.isArray(existing) : !isPlainObject(existing)) {
      container[key] = minimalExample(childSchema, { name: String(key) }, ref)
      if (wantArray && !Array.isArray(container[key])) container[key] = []
      if (!wantArray && !isPlainObject(container[key])) container[key] = {}
    }
    if (wantArray) {
      const list = container[key] as unknown[]
      const itemSchema = mainVariant(childSchema).items ?? {}
      while (list.length <= (next as number)) list.push(fullExample(itemSchema, { name: String(key) }, ref))
    }
    node = container[key]
    schema = childSchema
  }
  const last = pointer.at(-1)!
  const container = node as Record<string | number, unknown>
  if (value === undefined) {
    if (Array.isArray(container)) container.splice(last as number, 1)
    else delete container[last]
  } else {
    container[last] = value
  }
  return copy
}

export const pointerText = (pointer: (string | number)[]) =>
  pointer.length === 0 ? '/' : `/${pointer.map(String).join('/')}`
