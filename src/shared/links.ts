/**
 * Absolute links to the public pages, from PUBLIC_URL. Resources carry them (`hostedUrl`) wherever they are built
 * (route answers, the outbox's event payloads, jobs), so the base is set once per process at start from the
 * parsed configuration (`createApp`), as PUBLIC_URL is itself one value per process.
 */
let base = 'http://localhost:3000'

/** The base in effect (for code that builds a throwaway app and must put the process's base back). */
export const publicBaseUrl = (): string => base

export function setPublicBaseUrl(url: string): void {
  base = url.replace(/\/+$/, '')
}

/** The hosted page of an issued invoice or credit note. */
export const hostedUrl = (token: string): string => `${base}/i/${token}`

/** A new hosted page secret: 256 random bits, base64url (43 characters). */
export const newHostedToken = (): string =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')

/** What a hosted page token looks like (ours, or the 64 hex digits the database gives existing rows). */
export const HOSTED_TOKEN = /^[A-Za-z0-9_-]{43,64}$/

/** The path of a hosted page, as routed (`/i/{token}`). */
export const HOSTED_PREFIX = '/i'
