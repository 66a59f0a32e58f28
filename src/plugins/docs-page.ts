import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { type AnyElysia, Elysia, type InternalRoute } from 'elysia'

/**
 * The API reference at `/docs`, served entirely from our own origin: the Scalar standalone bundle of the
 * exact version in package.json under a versioned, immutable URL, and a small page pointing it at the
 * OpenAPI document. No CDN, no fonts or telemetry from elsewhere, and a Content-Security-Policy that
 * lets the page reach nothing but this origin.
 */

const SCALAR = '@scalar/api-reference'

/**
 * Where the container image keeps the bundle: the package is a development dependency (its own dependencies,
 * 167 MB, are not needed to serve one file), and the image's build stage copies its package.json and standalone
 * bundle here (Dockerfile).
 */
const VENDORED = path.resolve(import.meta.dir, '..', '..', 'vendor', 'scalar-api-reference')

/** The published standalone browser bundle (the package's `browser` entry) and its version. */
function scalarBundle(): { version: string; file: string } {
  const vendored = path.join(VENDORED, 'package.json')
  // The package exports no `./package.json`; its main entry is `dist/index.js`, one level below the root.
  const root = existsSync(vendored)
    ? VENDORED
    : path.resolve(path.dirname(Bun.resolveSync(SCALAR, import.meta.dir)), '..')
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    name: string
    version: string
    browser?: string
  }
  if (pkg.name !== SCALAR || !pkg.browser)
    throw new Error(`${SCALAR}: no standalone browser bundle in ${root}`)
  const file = root === VENDORED ? path.join(root, path.basename(pkg.browser)) : path.join(root, pkg.browser)
  return { version: pkg.version, file }
}

/**
 * Runs before the bundle: Scalar validates with Zod, which probes whether `eval` is allowed to compile its
 * validators; told not to (its `jitless` setting), it never tries, so the page causes no CSP violation.
 */
const BEFORE_BUNDLE = 'globalThis.__zod_globalConfig = { jitless: true }'
const BEFORE_BUNDLE_HASH = new Bun.CryptoHasher('sha256').update(BEFORE_BUNDLE).digest('base64')

/**
 * Scripts only from this origin, plus the one inline script above by its hash. Scalar injects its styles as
 * `<style>` elements and sets `style` attributes, hence inline styles. The favicon is `data:`.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  `script-src 'self' 'sha256-${BEFORE_BUNDLE_HASH}'`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * Scalar's options: the system fonts instead of its fonts CDN, no telemetry, no AI agent or MCP panel, no
 * developer toolbar and no button that opens the full client (which offers Scalar's hosted services).
 * "Test Request" stays: it sends to the document's servers, which is this origin.
 */
const SCALAR_CONFIGURATION = {
  withDefaultFonts: false,
  telemetry: false,
  showDeveloperTools: 'never',
  hideClientButton: true,
  agent: { disabled: true },
  mcp: { disabled: true },
  documentDownloadType: 'json',
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** Text for an HTML text node or a double-quoted attribute. */
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!)

type Info = { title: string; description?: string }

function renderPage(info: Info, specPath: string, scriptPath: string) {
  const description =
    info.description === undefined
      ? ''
      : `\n<meta name="description" content="${escapeHtml(info.description)}">`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(info.title)}</title>${description}
<link rel="icon" href="data:,">
</head>
<body>
<script id="api-reference" type="application/json" data-url="${escapeHtml(specPath)}" data-configuration="${escapeHtml(JSON.stringify(SCALAR_CONFIGURATION))}"></script>
<script>${BEFORE_BUNDLE}</script>
<script src="${escapeHtml(scriptPath)}"></script>
</body>
</html>
`
}

/**
 * The title and description of the OpenAPI document, read once from the route that serves it (the
 * document lives in the OpenAPI plugin's options), so the page never repeats them.
 */
async function documentInfo(plugin: AnyElysia, specPath: string): Promise<Info> {
  const routes = (plugin as unknown as { getGlobalRoutes(): InternalRoute[] }).getGlobalRoutes()
  const route = routes.find((r) => r.method === 'GET' && r.path === specPath)
  const handler = route?.handler as unknown
  const document = (typeof handler === 'function' ? await handler({}) : handler) as { info?: Partial<Info> }
  const title = document?.info?.title
  if (typeof title !== 'string') throw new Error(`No OpenAPI document with a title at ${specPath}`)
  const description = document.info?.description
  return typeof description === 'string' ? { title, description } : { title }
}

export interface DocsPageOptions {
  /** Where the page answers; `${path}/` answers it too. */
  path?: string
  /** The OpenAPI document, as an absolute path so that the page works at `/docs` and `/docs/` alike. */
  specPath?: string
}

export const docsPagePlugin = ({
  path: pagePath = '/docs',
  specPath = '/docs/json',
}: DocsPageOptions = {}) => {
  const bundle = scalarBundle()
  const scriptPath = `${pagePath}/assets/scalar-${bundle.version}.js`
  // Compressed once, on the first request that accepts gzip (4.8 MB down to about 1.4 MB).
  let gzipped: Promise<Uint8Array> | undefined
  const compressed = () => {
    gzipped ??= Bun.file(bundle.file)
      .bytes()
      .then((bytes) => promisify(gzip)(bytes))
      .then((buffer) => new Uint8Array(buffer))
    return gzipped
  }
  let page: Promise<string> | undefined
  const html = (): Promise<string> =>
    (page ??= documentInfo(plugin, specPath)
      .then((info) => renderPage(info, specPath, scriptPath))
      .catch((error: unknown) => {
        page = undefined
        throw error
      }))
  const hidden = { detail: { hide: true } }

  const plugin = new Elysia({ name: 'docs-page', seed: { pagePath, specPath } })
    .get(
      pagePath,
      async ({ set }) => {
        set.headers['content-type'] = 'text/html; charset=utf-8'
        set.headers['cache-control'] = 'no-cache'
        set.headers['content-security-policy'] = DOCS_CSP
        return await html()
      },
      hidden,
    )
    .get(
      scriptPath,
      async ({ request, set }) => {
        set.headers['content-type'] = 'text/javascript; charset=utf-8'
        // The URL names the exact version: its content never changes.
        set.headers['cache-control'] = 'public, max-age=31536000, immutable'
        set.headers['vary'] = 'accept-encoding'
        if (!/\bgzip\b/.test(request.headers.get('accept-encoding') ?? ''))
          return new Response(Bun.file(bundle.file))
        set.headers['content-encoding'] = 'gzip'
        return await compressed()
      },
      hidden,
    )
  return plugin
}
