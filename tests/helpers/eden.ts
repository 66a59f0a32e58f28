import { treaty } from '@elysiajs/eden'
import type { App } from '../../src/app'
import type { TestApp } from './app'

/**
 * An Eden Treaty client of the test app, typed by `App`: answers need no hand-written types or casts. Its
 * requests go through `TestApp.request`, so each answer is checked against the OpenAPI document as well.
 */
export function edenClient(t: TestApp, token?: string) {
  return treaty<App>('http://localhost', {
    // Timestamps stay the strings the API sends (and the types say); Eden would otherwise turn them into Dates.
    parseDate: false,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    fetcher: (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url)
      return t.request(`${url.pathname}${url.search}`, init)
    }) as typeof fetch,
  })
}
