import { Elysia } from 'elysia'
import type { Logger } from '../lib/logger'
import { HOSTED_PREFIX } from '../shared/links'
import { requestMeta } from './request-context'

/** A hosted page's token is the only key to the document: its line names the route, `/i/{token}`, instead. */
const HOSTED_TOKEN_SEGMENT = new RegExp(`^${HOSTED_PREFIX}/[^/]+`)
const withoutSecrets = (path: string) =>
  path.startsWith(`${HOSTED_PREFIX}/`) ? path.replace(HOSTED_TOKEN_SEGMENT, `${HOSTED_PREFIX}/{token}`) : path

/** One line per request; never headers, query strings or bodies (they can carry tokens and customer data). */
export function requestLog(logger: Logger) {
  return new Elysia({ name: 'request-log' }).onAfterResponse({ as: 'global' }, ({ request, set }) => {
    const meta = requestMeta(request)
    const url = request.url
    const start = url.indexOf('/', url.indexOf('//') + 2)
    const query = url.indexOf('?', start)
    const statusCode = typeof set.status === 'number' ? set.status : Number(set.status) || 200
    const line = {
      method: request.method,
      path: withoutSecrets(query === -1 ? url.slice(start) : url.slice(start, query)),
      statusCode,
      responseTime: Math.round((performance.now() - meta.startedAt) * 100) / 100,
      userId: meta.userId ?? null,
      requestId: meta.requestId,
    }
    if (statusCode >= 500) logger.error(line, 'request')
    else logger.info(line, 'request')
  })
}
