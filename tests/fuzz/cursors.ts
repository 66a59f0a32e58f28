/**
 * Tampered list cursors (API.md: a cursor that was not produced by the API, or was altered, answers
 * `400 VALIDATION_ERROR` — never 500). Built from a real `nextCursor`: its characters flipped, its padding
 * changed, and its JSON (`{"s": sort, "k": [keys…]}`) re-encoded with impossible keys and extra fields.
 */

export interface TamperedCursor {
  label: string
  value: string
  /** False for a well-formed position the API could have produced: then any non-5xx answer is fine. */
  reject: boolean
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url')
const enc = (value: unknown) => b64(JSON.stringify(value))

type KeyType = 'timestamp' | 'date' | 'uuid' | 'integer' | 'null' | 'string' | 'other'

function keyType(value: unknown): KeyType {
  if (value === null) return 'null'
  if (Number.isInteger(value)) return 'integer'
  if (typeof value !== 'string') return 'other'
  if (/^\d{4}-\d{2}-\d{2}T/.test(value)) return 'timestamp'
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return 'date'
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value)) return 'uuid'
  return 'string'
}

/** Replacement keys by the type of the key they replace: [label, value, must the API refuse it?]. */
function keyVariants(type: KeyType, original: unknown): [string, unknown, boolean][] {
  const common: [string, unknown, boolean][] = [
    ['an object', { $gt: '' }, true],
    ['an array', [original], true],
    ['true', true, true],
  ]
  switch (type) {
    case 'timestamp':
      return [
        ['impossible day 2026-02-30T10:00:00.000Z', '2026-02-30T10:00:00.000Z', true],
        ['impossible day 2026-02-30T10:00:00Z', '2026-02-30T10:00:00Z', true],
        ['impossible day 2026-06-31T00:00:00.000000Z', '2026-06-31T00:00:00.000000Z', true],
        ['year 0000', '0000-01-01T00:00:00.000Z', true],
        ['month 13', '2026-13-01T00:00:00.000Z', true],
        ['hour 24', '2026-01-01T24:00:00.000Z', true],
        ['with an offset', '2026-01-01T10:00:00.000+01:00', true],
        ['with NUL', '2026-01-01T10:00:00.000Z\u0000', true],
        ['year 9999 (valid)', '9999-12-31T23:59:59.999999Z', false],
        ['before 1970 (valid shape)', '1969-12-31T23:59:59.000Z', false],
        ['null', null, true],
        ['a number', 1767261600000, true],
        ...common,
      ]
    case 'date':
      return [
        ['impossible day 2026-02-30', '2026-02-30', true],
        ['month 13', '2026-13-01', true],
        ['year 0000', '0000-01-01', true],
        ['one-digit month', '2026-1-01', true],
        ['with NUL', '2026-01-01\u0000', true],
        ['year 9999 (valid)', '9999-12-31', false],
        ['null', null, true],
        ...common,
      ]
    case 'uuid':
      return [
        ['nil uuid (valid shape)', '00000000-0000-0000-0000-000000000000', false],
        ['upper-case uuid', String(original).toUpperCase(), true],
        ['not a uuid', 'not-a-uuid', true],
        ['uuid with NUL', `${String(original).slice(0, -1)}\u0000`, true],
        ['null', null, true],
        ...common,
      ]
    case 'integer':
      return [
        ['-1 (valid shape)', -1, false],
        ['1.5', 1.5, true],
        ['1e308', 1e308, true],
        ['2**53', 2 ** 53, true],
        ['2**53+2', 2 ** 53 + 2, true],
        ['"1" as a string', '1', true],
        ['null', null, false],
        ...common,
      ]
    case 'null':
      return [
        ['0 (valid shape)', 0, false],
        ['a string', 'x', true],
        ['impossible date', '2026-02-30', true],
        ...common,
      ]
    default:
      return [['NUL', 'a\u0000b', true], ['unpaired surrogate', 'a\uD800b', true], ...common]
  }
}

export function tamperedCursors(cursor: string, otherSorts: string[]): TamperedCursor[] {
  const out: TamperedCursor[] = [{ label: 'the real cursor', value: cursor, reject: false }]
  const flip = (at: number) => {
    const c = cursor[at]!
    return cursor.slice(0, at) + (c === 'A' ? 'B' : 'A') + cursor.slice(at + 1)
  }
  out.push(
    { label: 'first character flipped', value: flip(0), reject: true },
    { label: 'middle character flipped', value: flip(Math.floor(cursor.length / 2)), reject: true },
    { label: 'last character flipped', value: flip(cursor.length - 1), reject: true },
    { label: 'padding appended', value: `${cursor}==`, reject: true },
    { label: 'a character appended', value: `${cursor}A`, reject: true },
    { label: 'last character dropped', value: cursor.slice(0, -1), reject: true },
    { label: 'upper-cased', value: cursor.toUpperCase(), reject: cursor.toUpperCase() !== cursor },
    {
      label: '2000 characters',
      value: cursor.repeat(Math.ceil(2000 / cursor.length)).slice(0, 2000),
      reject: true,
    },
    { label: 'empty', value: '', reject: true },
    { label: 'not base64', value: '!!!not*base64!!!', reject: true },
    { label: 'NUL', value: '\u0000', reject: true },
    {
      label: 'base64 of invalid UTF-8',
      value: Buffer.from([0xff, 0xfe, 0xfd]).toString('base64url'),
      reject: true,
    },
    { label: 'base64 of null', value: b64('null'), reject: true },
    { label: 'base64 of []', value: b64('[]'), reject: true },
    { label: 'base64 of a string', value: b64('"x"'), reject: true },
    { label: 'base64 of 1e400', value: b64('1e400'), reject: true },
    { label: 'base64 of deep nesting', value: b64(`${'['.repeat(300)}${']'.repeat(300)}`), reject: true },
  )
  let decoded: { s?: unknown; k?: unknown[] }
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as typeof decoded
  } catch {
    return out
  }
  const { s, k } = decoded
  if (!Array.isArray(k)) return out
  out.push(
    { label: 'extra field', value: enc({ s, k, x: 1 }), reject: true },
    { label: 'fields reordered', value: enc({ k, s }), reject: true },
    { label: 'sort missing', value: enc({ k }), reject: true },
    { label: 'keys missing', value: enc({ s }), reject: true },
    { label: 'one key too many', value: enc({ s, k: [...k, k.at(-1)] }), reject: true },
    { label: 'one key too few', value: enc({ s, k: k.slice(0, -1) }), reject: true },
    { label: 'no keys', value: enc({ s, k: [] }), reject: true },
    { label: 'sort with NUL', value: enc({ s: `${String(s)}\u0000`, k }), reject: true },
    { label: 'sort as a number', value: enc({ s: 1, k }), reject: true },
    { label: 'spaces in the JSON', value: b64(JSON.stringify({ s, k }, null, 1)), reject: true },
    {
      label: 'standard base64 with padding',
      value: Buffer.from(JSON.stringify({ s, k })).toString('base64'),
      reject: /[+/=]/.test(Buffer.from(JSON.stringify({ s, k })).toString('base64')),
    },
  )
  for (const other of otherSorts) {
    if (other !== s)
      out.push({ label: `sort of another list (${other})`, value: enc({ s: other, k }), reject: true })
  }
  k.forEach((original, i) => {
    for (const [label, value, reject] of keyVariants(keyType(original), original)) {
      const keys = [...k]
      keys[i] = value
      const text = enc({ s, k: keys })
      if (text === cursor) continue
      out.push({ label: `key ${i}: ${label}`, value: text, reject })
    }
  })
  return out
}

/** The `s` of a cursor, to tell the lists and sorts apart. */
export function sortOf(cursor: string): string | undefined {
  try {
    const s = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { s?: unknown }).s
    return typeof s === 'string' ? s : undefined
  } catch {
    return undefined
  }
}

/** The types of a cursor's keys, e.g. `timestamp,uuid`: cursors with the same signature test the same code. */
export function signatureOf(cursor: string): string {
  try {
    const k = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown[] }).k ?? []
    return k.map(keyType).join(',')
  } catch {
    return '?'
  }
}
