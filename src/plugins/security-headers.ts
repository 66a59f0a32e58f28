import { Elysia } from 'elysia'

const HEADERS = {
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'x-permitted-cross-domain-policies': 'none',
} as const

export const securityHeaders = new Elysia({ name: 'security-headers' }).onRequest(({ set }) => {
  Object.assign(set.headers, HEADERS)
})
