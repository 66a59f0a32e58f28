import { cors } from '@elysiajs/cors'
import { Elysia } from 'elysia'

/**
 * CORS answers only for the configured origins; with none configured the API sends no CORS headers at all and
 * has no preflight routes (an empty plugin, typed as the CORS one so that the app stays one chain).
 */
export function corsPlugin(origins: readonly string[]): ReturnType<typeof cors> {
  if (origins.length === 0) return new Elysia({ name: 'cors' }) as unknown as ReturnType<typeof cors>
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
