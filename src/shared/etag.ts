import { AppError } from './errors'

export const etagFor = (kind: string, id: string, version: number) => `"${kind}-${id}-${version}"`

/**
 * The version an `If-Match` header pins, or undefined when the header is absent or `*`.
 * A header naming another resource or another version fails with 412.
 */
export function expectedVersion(
  ifMatch: string | null,
  kind: string,
  id: string,
  current: number,
): number | undefined {
  if (ifMatch === null || ifMatch.trim() === '*') return undefined
  const wanted = etagFor(kind, id, current)
  const tags = ifMatch.split(',').map((tag) => tag.trim().replace(/^W\//, ''))
  if (!tags.includes(wanted))
    throw new AppError('PRECONDITION_FAILED', 'If-Match does not match the current version')
  return current
}
