import type { ErrorDetail } from './errors'

/**
 * Text as API.md's Conventions want it: NFC-normalised; no NUL, no other C0/C1 control character (U+0000–U+001F,
 * U+007F–U+009F) and no unpaired surrogate. Fields that hold several lines keep `\n` and `\t`, and a Windows
 * line break `\r\n` in them is stored as `\n`; a lone `\r` is refused like any other control character.
 * PostgreSQL cannot store NUL in text at all, so without this check a NUL answered 500.
 */
const MULTI_LINE_FIELDS: ReadonlySet<string> = new Set([
  'notes',
  'memo',
  'message',
  'line1',
  'line2',
  'paymentInstructions',
])

// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
// biome-ignore lint/suspicious/noControlCharactersInRegex: the same, with the two a multi-line field keeps
const CONTROL_EXCEPT_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/
/** Anything outside printable ASCII may need work; most input is printable ASCII and is returned as it is. */
const NOT_PLAIN = /[^\x20-\x7e]/

/** The cleaned text, or the reason it is refused. */
export function cleanText(value: string, multiLine: boolean): { text: string } | { problem: string } {
  if (!NOT_PLAIN.test(value)) return { text: value }
  if (!value.isWellFormed()) return { problem: 'must not contain unpaired surrogates' }
  const text = multiLine ? value.replaceAll('\r\n', '\n') : value
  if ((multiLine ? CONTROL_EXCEPT_LINES : CONTROL).test(text)) {
    return {
      problem: multiLine
        ? 'must not contain control characters other than line breaks and tabs'
        : 'must not contain control characters',
    }
  }
  return { text: text.normalize('NFC') }
}

/**
 * Cleans every string of a parsed JSON body, query or path parameters in place and lists the refused ones by
 * path (`/items/3/description`, `/query/q`). Object keys are checked as well: they are echoed in error paths.
 */
export function cleanStrings(root: unknown, basePath: string): ErrorDetail[] {
  const problems: ErrorDetail[] = []
  const visit = (value: unknown, path: string, multiLine: boolean): unknown => {
    if (typeof value === 'string') {
      const cleaned = cleanText(value, multiLine)
      if ('text' in cleaned) return cleaned.text
      if (problems.length < 50) problems.push({ path: path || '/', message: cleaned.problem })
      return value
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = visit(value[i], `${path}/${i}`, multiLine)
      return value
    }
    if (value !== null && typeof value === 'object') {
      const record = value as Record<string, unknown>
      for (const key of Object.keys(record)) {
        const keyCheck = cleanText(key, false)
        if ('problem' in keyCheck) {
          if (problems.length < 50)
            problems.push({ path: path || '/', message: `a field name ${keyCheck.problem}` })
          continue
        }
        record[key] = visit(record[key], `${path}/${pointerSegment(key)}`, MULTI_LINE_FIELDS.has(key))
      }
    }
    return value
  }
  visit(root, basePath, false)
  return problems
}

const MAX_SEGMENT = 100

/** One JSON Pointer segment (RFC 6901), cut short so that an error never echoes a huge field name. */
export const pointerSegment = (segment: string) => {
  const escaped = segment.replaceAll('~', '~0').replaceAll('/', '~1')
  return escaped.length > MAX_SEGMENT ? `${escaped.slice(0, MAX_SEGMENT)}…` : escaped
}
