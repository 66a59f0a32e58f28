/** `/api` and everything under it; the path is read from the URL string without parsing it. */
export function isApiPath(url: string): boolean {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  if (start === -1 || !url.startsWith('/api', start)) return false
  const next = url.charCodeAt(start + 4)
  return Number.isNaN(next) || next === 47 || next === 63 // end, '/', '?'
}
