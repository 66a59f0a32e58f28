import { Elysia } from 'elysia'
import { AppError, type ErrorDetail } from '../shared/errors'
import { cleanStrings, pointerSegment } from '../shared/text'
import { requestMeta } from './request-context'

/**
 * Runs at `transform`, after authentication and before schema validation, so that a client without a valid
 * token learns nothing about its body: a body the parser refused (413, 415, malformed JSON) is answered here,
 * and every string of the body, query and path is cleaned or refused (shared/text.ts) before the schemas
 * see it.
 */
export const inputPlugin = new Elysia({ name: 'input' }).onTransform(
  { as: 'global' },
  ({ request, body, query, params }) => {
    const refused = requestMeta(request).bodyError
    if (refused) throw refused
    const details = [
      ...undecodableQuery(request.url),
      ...cleanStrings(params, '/params'),
      ...cleanStrings(query, '/query'),
      ...cleanStrings(body, ''),
    ]
    if (details.length > 0) {
      throw new AppError('VALIDATION_ERROR', 'Request validation failed', { details: details.slice(0, 50) })
    }
  },
)

/**
 * Query parts whose percent-encoding is not UTF-8 (`%ED%A0%80`, a lone surrogate's bytes, or a stray `%`):
 * the framework's parser keeps such a value still encoded, so its text would escape the checks above.
 */
function undecodableQuery(url: string): ErrorDetail[] {
  const start = url.indexOf('?')
  if (start === -1 || !url.includes('%', start)) return []
  const details: ErrorDetail[] = []
  for (const part of url.slice(start + 1).split('&')) {
    const [name = '', value = ''] = part.split('=', 2)
    const decodedName = decode(name)
    if (decodedName === undefined || decode(value) === undefined) {
      details.push({
        path: decodedName === undefined ? '/query' : `/query/${pointerSegment(decodedName)}`,
        message: 'must be percent-encoded UTF-8',
      })
    }
  }
  return details
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '))
  } catch {
    return undefined
  }
}
