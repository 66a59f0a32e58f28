import { readFileSync } from 'node:fs'
import path from 'node:path'
import { Eta } from 'eta'
import { isHostedPath } from '../../plugins/api-path'
import type { DocumentPage } from './view'

/*
 * The HTML of the hosted pages: Eta templates under ./templates, compiled once when this file is loaded, with
 * every `<%= %>` escaped (customer names and item descriptions are the customer's own text). The stylesheet is
 * inlined, so that a page is one request, and allowed by its hash: the pages run no script at all.
 */

const TEMPLATES = path.join(import.meta.dir, 'templates')
const read = (name: string) => readFileSync(path.join(TEMPLATES, name), 'utf8')

const eta = new Eta({ autoEscape: true, cache: true, views: TEMPLATES })
for (const name of ['layout', 'document', 'error']) eta.loadTemplate(`@${name}`, read(`${name}.eta`))

const CSS = read('page.css').trim()
const CSS_HASH = new Bun.CryptoHasher('sha256').update(CSS).digest('base64')

/**
 * Nothing but the inline stylesheet (by its hash) and the `data:` favicon, which keeps browsers from asking for
 * `/favicon.ico`. No script, no form, no frame, no `<base>`.
 */
export const HOSTED_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${CSS_HASH}'`,
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * The headers of every answer under `/i/` (pages, error pages, the PDF redirect), beside the app's security
 * headers: the token in the URL is a secret, so nothing is stored, indexed or sent on as a referrer.
 */
export const HOSTED_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': HOSTED_CSP,
  'x-robots-tag': 'noindex',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
}

export const HTML_CONTENT_TYPE = 'text/html; charset=utf-8'

/**
 * The labels are English whatever the profile's locale (only amounts and dates follow it), so the page declares
 * English: a screen reader told `de-DE` would read English words with German rules.
 */
const LABELS_LANGUAGE = 'en'

export function renderDocument(page: DocumentPage): string {
  return eta.render('@document', { lang: LABELS_LANGUAGE, title: page.title, css: CSS, page })
}

const ERROR_TEXT: Record<number, { title: string; text: string }> = {
  400: { title: 'Bad request', text: 'This address is not a valid link to a document.' },
  404: {
    title: 'Page not found',
    text:
      'There is no document at this link. It may have been replaced by a newer link: ask the sender of the ' +
      'document for the current one.',
  },
  405: { title: 'Method not allowed', text: 'This page can only be viewed.' },
  429: {
    title: 'Too many requests',
    text: 'Too many requests came from your network. Try again in a minute.',
  },
  502: {
    title: 'Document unavailable',
    text: 'The document cannot be fetched right now. Try again shortly.',
  },
  503: { title: 'Service unavailable', text: 'The service is briefly unavailable. Try again shortly.' },
}

const FALLBACK = (status: number) =>
  status >= 500
    ? { title: 'Something went wrong', text: 'Something went wrong on our side. Try again shortly.' }
    : { title: 'Request refused', text: 'This request cannot be answered.' }

/** A plain page for an error answer: it names the status in words and nothing about the document. */
export function renderErrorPage(status: number): string {
  const { title, text } = ERROR_TEXT[status] ?? FALLBACK(status)
  return eta.render('@error', { lang: 'en', title, heading: title, text, css: CSS })
}

/** A client that asks for JSON and not HTML (a script, not a browser) gets the API's error envelope. */
export function prefersJson(accept: string | null): boolean {
  if (!accept) return false
  return /\bapplication\/(?:[\w.+-]+\+)?json\b/i.test(accept) && !/\btext\/html\b/i.test(accept)
}

/**
 * What the app's error handler needs to answer errors under `/i/` as HTML pages (src/plugins/errors.ts), given
 * to it by src/app.ts so that the plugin imports no module.
 */
export const hostedErrorPages = {
  owns: isHostedPath,
  headers: HOSTED_HEADERS,
  wantsJson: (request: Request) => prefersJson(request.headers.get('accept')),
  render: renderErrorPage,
}
