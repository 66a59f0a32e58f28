import { mkdtemp, rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// s3rver (a Koa app) runs in-process under Bun; it ships no type declarations, hence the local shape.
interface S3rverInstance {
  run(): Promise<AddressInfo>
  close(): Promise<void>
  httpServer?: Server
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass

/** s3rver accepts only this access key; it checks presigned-link expiry but not SigV4 signatures. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

export interface S3rverHandle {
  endpoint: string
  bucket: string
  port: number
  /** Ready to spread into `S3StorageOptions` (add `timeoutMs`). */
  s3Options: {
    bucket: string
    endpoint: string
    forcePathStyle: true
    region: string
    credentials: typeof S3RVER_CREDENTIALS
  }
  /** Refuses connections from now on (open keep-alive sockets included) until `restart()`. */
  stop(): Promise<void>
  /** Serves again on the same port, with the objects stored before the stop. */
  restart(): Promise<void>
  /** Stops and deletes the stored objects. */
  close(): Promise<void>
}

export async function startS3rver(bucket = 'invoices-test'): Promise<S3rverHandle> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'))
  const create = (port: number) =>
    new S3rver({
      address: '127.0.0.1',
      port,
      silent: true,
      directory,
      configureBuckets: [{ name: bucket }],
    })

  let server: S3rverInstance | null = create(0)
  const { port } = await server.run()
  const endpoint = `http://127.0.0.1:${port}`

  const stop = async () => {
    if (!server) return
    const running = server
    server = null
    const closed = running.close()
    running.httpServer?.closeAllConnections()
    await closed
  }

  return {
    endpoint,
    bucket,
    port,
    s3Options: {
      bucket,
      endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: S3RVER_CREDENTIALS,
    },
    stop,
    async restart() {
      if (server) return
      const next = create(port)
      await next.run()
      server = next
    },
    async close() {
      await stop()
      await rm(directory, { recursive: true, force: true })
    },
  }
}
