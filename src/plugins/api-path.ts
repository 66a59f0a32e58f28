import { HOSTED_PREFIX } from '../shared/links'

/** `/api` and everything under it; the path is read from the URL string without parsing it. */
export function isApiPath(url: string): boolean {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  if (start === -1 || !url.startsWith('/api', start)) return false
  const next = url.charCodeAt(start + 4)
  return Number.isNaN(next) || next === 47 || next === 63 // end, '/', '?'
}

/** `/i` and everything under it: the public hosted document pages. */
export function isHostedPath(url: string): boolean {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  if (start === -1 || !url.startsWith(HOSTED_PREFIX, start)) return false
  const next = url.charCodeAt(start + HOSTED_PREFIX.length)
  return Number.isNaN(next) || next === 47 || next === 63 // end, '/', '?'
}
