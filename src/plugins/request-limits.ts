import { Elysia } from 'elysia'
import { AppError } from '../shared/errors'

/** API.md: a request line over 8 KiB is a 414, headers over 16 KiB a 431, both with the error envelope. */
export const MAX_REQUEST_TARGET_BYTES = 8 * 1024
export const MAX_HEADER_BYTES = 16 * 1024

/**
 * Bun's parser answers larger requests itself, with a bare 431 and none of our headers, from 16 KiB of request
 * line and headers together. The server is started with a higher parser limit (`bun
 * --max-http-header-size=262144`, see package.json and the Dockerfile) so that these checks answer instead;
 * only requests over that higher limit still get Bun's own answer.
 */
export const HEADER_PARSER_LIMIT_FLAG = '--max-http-header-size=262144'

export const requestLimits = new Elysia({ name: 'request-limits' }).onRequest(({ request }) => {
  const url = request.url
  const target = url.length - url.indexOf('/', url.indexOf('//') + 2)
  if (target > MAX_REQUEST_TARGET_BYTES) {
    throw new AppError('URI_TOO_LONG', `The request line is over ${MAX_REQUEST_TARGET_BYTES / 1024} KiB`)
  }
  let size = 0
  // Each header line is `name: value\r\n`.
  request.headers.forEach((value, name) => {
    size += name.length + value.length + 4
  })
  if (size > MAX_HEADER_BYTES) {
    throw new AppError('HEADERS_TOO_LARGE', `The request headers are over ${MAX_HEADER_BYTES / 1024} KiB`)
  }
})
