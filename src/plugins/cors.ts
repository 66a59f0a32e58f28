import { cors } from '@elysiajs/cors'

/** CORS answers only for the configured origins; with none configured the API sends no CORS headers at all. */
export function corsPlugin(origins: readonly string[]) {
  return cors({
    origin: origins.includes('*') ? true : [...origins],
    methods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['authorization', 'content-type', 'if-match', 'idempotency-key', 'x-request-id'],
    exposeHeaders: [
      'etag',
      'location',
      'x-request-id',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
      'retry-after',
    ],
    credentials: false,
    maxAge: 600,
  })
}
