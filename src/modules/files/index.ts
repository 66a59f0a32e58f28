import { Elysia, t } from 'elysia'
import { contentDisposition, type LocalDiskStorage } from '../../lib/storage/index.ts'
import { AppError } from '../../shared/errors.ts'

// Optional on purpose: a link missing a part is a bad link (403), not a validation error.
const LinkQuery = t.Object({
  expires: t.Optional(t.String({ description: 'Unix seconds after which the link is refused' })),
  filename: t.Optional(t.String({ description: 'Download name, e.g. INV-0001.pdf' })),
  signature: t.Optional(t.String({ description: 'Hex HMAC-SHA256 of key, expires and filename' })),
})

/**
 * Serves local-disk objects through the signed links that `LocalDiskStorage.signedDownloadUrl` makes. With S3
 * (`storage` undefined) links point at the bucket, and this route only answers 404.
 */
export const filesModule = (storage: LocalDiskStorage | undefined) =>
  new Elysia({ name: 'files' }).get(
    '/files/*',
    async ({ params, query }) => {
      // The wildcard arrives percent-encoded; valid keys never contain `%`, so no decoding is needed.
      const key = params['*']
      if (!storage) throw new AppError('NOT_FOUND', `No route for GET /files/${key}`)
      if (!storage.verify(key, query))
        throw new AppError('FORBIDDEN', 'The download link is invalid or has expired')
      const body = await storage.get(key)
      if (!body) throw new AppError('NOT_FOUND', 'File not found')
      const maxAge = Math.max(0, Number(query.expires) - Math.floor(storage.now().getTime() / 1000))
      return new Response(body, {
        headers: {
          // E-invoices are stored beside the PDFs under `….xml` keys.
          'Content-Type': key.endsWith('.xml') ? 'application/xml' : 'application/pdf',
          'Content-Disposition': contentDisposition(query.filename ?? ''),
          'Cache-Control': `private, max-age=${maxAge}`,
        },
      })
    },
    {
      query: LinkQuery,
      detail: {
        summary: 'Download a stored file through a signed link',
        description: 'Only used when PDFs are kept on local disk; S3 links go to the bucket directly.',
        tags: ['files'],
      },
    },
  )
