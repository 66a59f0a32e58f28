import { type DocumentSnapshot, type RenderOptions, renderDocumentPdf } from '../pdf'

declare const self: Worker

export interface RenderRequest {
  id: number
  snapshot: DocumentSnapshot
  options?: RenderOptions
}

export type RenderReply = { id: number; bytes: Uint8Array } | { id: number; error: string }

self.onmessage = async ({ data }: MessageEvent<RenderRequest>) => {
  try {
    const bytes = await renderDocumentPdf(data.snapshot, data.options)
    self.postMessage({ id: data.id, bytes } satisfies RenderReply, [bytes.buffer as ArrayBuffer])
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    self.postMessage({ id: data.id, error: message } satisfies RenderReply)
  }
}
