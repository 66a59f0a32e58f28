import { createHash, randomBytes } from 'node:crypto'
import { AppError } from '../../shared/errors'
import type { Metrics } from '../metrics'
import type { DocumentSnapshot, RenderOptions } from '../pdf'
import type { ObjectStorage } from '../storage'
import { renderPdf } from './renderer'

/** Far above any real render (a 500-item invoice takes about 100 ms); a bound, since locks are held. */
const RENDER_TIMEOUT_MS = 20_000

export interface PdfStoreDeps {
  storage: ObjectStorage
  metrics: Pick<Metrics, 'pdfRenderDuration' | 'pdfUploadDuration'>
  /** Bound on one storage call; S3 enforces its own as well, this one covers any store. */
  storageTimeoutMs: number
}

export interface StoredPdf {
  sha256: string
  size: number
  generatedAt: Date
}

/**
 * Unguessable: the random part is 128 bits, so knowing a document's id never reveals where its PDF lives.
 * `folder` is `invoices` or `credit-notes`.
 */
export const newPdfKey = (folder: 'invoices' | 'credit-notes', userId: string, documentId: string) =>
  `${folder}/${userId}/${documentId}/${randomBytes(16).toString('hex')}.pdf`

export const failed = (message: string, cause: unknown, context?: Record<string, string>) =>
  new AppError('PDF_GENERATION_FAILED', message, { cause, ...(context ? { context } : {}) })

/** Rejects when `promise` has not settled after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

async function timed<T>(histogram: Metrics['pdfRenderDuration'], work: () => Promise<T>): Promise<T> {
  const stop = histogram.startTimer()
  try {
    return await work()
  } finally {
    stop()
  }
}

/**
 * Renders the snapshot (with `options.facturx`, as a Factur-X PDF/A-3b carrying the given CII) and stores it
 * under `key`; any failure is a 502 PDF_GENERATION_FAILED whose log line
 * names the document (`context`: the invoice or credit note id) and the key.
 */
export async function renderAndStore(
  deps: PdfStoreDeps,
  key: string,
  snapshot: DocumentSnapshot,
  context: Record<string, string> = {},
  options?: RenderOptions,
): Promise<StoredPdf> {
  const where = { ...context, pdfKey: key }
  const bytes = await timed(deps.metrics.pdfRenderDuration, () =>
    within(renderPdf(snapshot, options), RENDER_TIMEOUT_MS, 'rendering'),
  ).catch((error: unknown) => {
    throw failed('The PDF could not be rendered', error, where)
  })
  await timed(deps.metrics.pdfUploadDuration, () =>
    within(deps.storage.put(key, bytes, 'application/pdf'), deps.storageTimeoutMs, 'storage'),
  ).catch((error: unknown) => {
    throw failed('The PDF could not be stored; nothing changed, retry shortly', error, where)
  })
  return {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.byteLength,
    generatedAt: new Date(),
  }
}

/** Whether the store still has `key`; 502 when the store cannot be reached. */
export async function isStored(deps: PdfStoreDeps, key: string): Promise<boolean> {
  try {
    return await within(deps.storage.exists(key), deps.storageTimeoutMs, 'storage')
  } catch (error) {
    throw failed('The PDF store cannot be reached; retry shortly', error)
  }
}
