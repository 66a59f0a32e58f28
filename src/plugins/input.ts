import { Elysia } from 'elysia'
import { AppError } from '../shared/errors'
import { cleanStrings } from '../shared/text'
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
      ...cleanStrings(params, '/params'),
      ...cleanStrings(query, '/query'),
      ...cleanStrings(body, ''),
    ]
    if (details.length > 0) {
      throw new AppError('VALIDATION_ERROR', 'Request validation failed', { details: details.slice(0, 50) })
    }
  },
)
