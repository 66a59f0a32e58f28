import { createHash } from 'node:crypto'

/** JSON with object keys sorted, so equal data serialises equally whatever order it was built in. */
function canonicalJson(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString())
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** A 16-byte PDF file identifier derived from the content, the same for the same data. */
export function documentId(data: unknown): Uint8Array {
  return new Uint8Array(createHash('sha256').update(canonicalJson(data)).digest().subarray(0, 16))
}
