import { AppError } from './errors'

export const etagFor = (kind: string, id: string, version: number) => `"${kind}-${id}-${version}"`

/** One entity-tag of RFC 9110 §8.8.3: an optional `W/` and a quoted string of etagc characters. */
const ENTITY_TAG = /^(W\/)?"[\x21\x23-\x7e\x80-\xff]*"$/

const malformed = () =>
  new AppError('VALIDATION_ERROR', 'Request validation failed', {
    details: [{ path: '/headers/if-match', message: 'must be * or a comma-separated list of entity tags' }],
  })

/**
 * The version an `If-Match` header pins, or undefined when the header is absent or `*`.
 * `If-Match` uses the strong comparison (RFC 9110 §13.1.1): a weak tag (`W/"…"`) never matches, and a list
 * matches when any of its tags names the current version. A header naming only other versions or resources
 * fails with 412; one that is not a list of entity tags is a 400.
 */
export function expectedVersion(
  ifMatch: string | null,
  kind: string,
  id: string,
  current: number,
): number | undefined {
  if (ifMatch === null) return undefined
  const value = ifMatch.trim()
  if (value === '*') return undefined
  const tags = value
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '')
  if (tags.length === 0 || !tags.every((tag) => ENTITY_TAG.test(tag))) throw malformed()
  if (!tags.includes(etagFor(kind, id, current))) {
    throw new AppError('PRECONDITION_FAILED', 'If-Match does not match the current version')
  }
  return current
}
