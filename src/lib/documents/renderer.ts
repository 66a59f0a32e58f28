import type { DocumentSnapshot, RenderOptions } from '../pdf'
import type { RenderReply, RenderRequest } from './render-worker'

interface Pending {
  resolve: (bytes: Uint8Array) => void
  reject: (error: Error) => void
}

/**
 * Renders PDFs on a worker thread: a render is milliseconds of pure CPU (tens for long invoices), which on
 * the main thread would stall every other request of the process meanwhile. One worker per process, started
 * on first use and replaced if it dies; it never keeps the process alive.
 */
class RenderWorker {
  private worker: Worker | undefined
  private readonly pending = new Map<number, Pending>()
  private nextId = 0

  render(snapshot: DocumentSnapshot, options?: RenderOptions): Promise<Uint8Array> {
    const worker = this.started()
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      worker.postMessage({ id, snapshot, ...(options ? { options } : {}) } satisfies RenderRequest)
    })
  }

  private started(): Worker {
    if (this.worker) return this.worker
    // A small heap: the worker holds one font set and one document at a time.
    const worker = new Worker(new URL('./render-worker.ts', import.meta.url).href, { smol: true })
    worker.unref()
    worker.onmessage = ({ data }: MessageEvent<RenderReply>) => {
      const waiting = this.pending.get(data.id)
      this.pending.delete(data.id)
      if ('bytes' in data) waiting?.resolve(data.bytes)
      else waiting?.reject(new Error(data.error))
    }
    const fail = (reason: string) => {
      if (this.worker === worker) this.worker = undefined
      for (const waiting of this.pending.values()) waiting.reject(new Error(reason))
      this.pending.clear()
    }
    worker.onerror = (event) => fail(`PDF render worker failed: ${event.message}`)
    worker.addEventListener('close', () => fail('PDF render worker exited'))
    this.worker = worker
    return worker
  }
}

const shared = new RenderWorker()

export const renderPdf = (snapshot: DocumentSnapshot, options?: RenderOptions) =>
  shared.render(snapshot, options)
