import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020'
import addFormats from 'ajv-formats'
import { Kysely } from 'kysely'
import { PostgresJSDialect } from 'kysely-postgres-js'
import postgres from 'postgres'
import type { DB } from '../../db/schema'
import { createApp } from '../../src/app'
import { loadConfig } from '../../src/config'
import { TokenRejectedError } from '../../src/lib/auth/verifier'
import type { DatabaseHandle } from '../../src/lib/db'
import { createJobQueue } from '../../src/lib/jobs'
import { createLogger } from '../../src/lib/logger'
import { createStorage } from '../../src/lib/storage'
import { SPEC_PATH } from '../../src/plugins/openapi'
import type { OpenApiDocument } from '../../src/plugins/openapi-document'
import { publicBaseUrl, setPublicBaseUrl } from '../../src/shared/links'

/**
 * The OpenAPI document as the API serves it at `/docs/json`, from an app of its own: no database (the document
 * touches none; the pool never connects), no token issuer, nothing logged. Used by the contract checks below and
 * by scripts/check-openapi.ts.
 */
export async function servedDocument(): Promise<OpenApiDocument> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'invoice-api-openapi-'))
  const sql = postgres('postgres://127.0.0.1:1/unused', { max: 1 })
  try {
    const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent' })
    const database: DatabaseHandle = {
      db: new Kysely<DB>({ dialect: new PostgresJSDialect({ postgres: sql }) }),
      sql,
      embedded: false,
      poolMax: 1,
      poolUsage: { inUse: 0, waiting: 0 },
      ping: async () => {},
      close: async () => {},
    }
    const storage = await createStorage({
      s3: undefined,
      dataDir,
      publicBaseUrl: config.publicUrl,
      timeoutMs: config.storageTimeoutMs,
    })
    const verifier = {
      verify: () => Promise.reject(new TokenRejectedError('no tokens here')),
    }
    const logger = createLogger(config)
    // The document only: the app enqueues nothing here, so its queue is never started.
    const jobs = createJobQueue({ db: database.db, logger })
    // A throwaway app for its document: the process's public base URL (set by the test's own app) stays.
    const base = publicBaseUrl()
    const app = createApp({ config, logger, database, storage, verifier, jobs })
    setPublicBaseUrl(base)
    const response = await app.handle(new Request(`http://localhost${SPEC_PATH}`))
    if (response.status !== 200)
      throw new Error(`${SPEC_PATH} answered ${response.status}: ${await response.text()}`)
    return (await response.json()) as OpenApiDocument
  } finally {
    await sql.end({ timeout: 0 })
    rmSync(dataDir, { recursive: true, force: true })
  }
}

type Json = Record<string, unknown>
interface HeaderObject {
  required?: boolean
  schema: Json
}
interface ResponseObject {
  description: string
  headers?: Record<string, HeaderObject | { $ref: string }>
  content?: Record<string, { schema: Json }>
}
type Operation = { responses: Record<string, ResponseObject | { $ref: string }> }

/**
 * Headers the checks leave alone: those of HTTP itself, the security headers every answer carries (stated once in
 * the document's description), and CORS, which depends on the deployment's CORS_ORIGINS. Any other header an
 * answer carries must be declared on that answer.
 */
const UNDECLARED_HEADERS = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'vary',
  'strict-transport-security',
  'x-content-type-options',
  'x-frame-options',
  'referrer-policy',
  'cross-origin-opener-policy',
  'x-permitted-cross-domain-policies',
])
const isCorsHeader = (name: string) => name.startsWith('access-control-')

/** Where the checker's copy of the component schemas lives for Ajv. */
const COMPONENTS_ID = 'https://openapi.invalid/components.json'

export interface Contract {
  document: OpenApiDocument
  /** The problems of one answer, none when the document describes it. */
  problems(method: string, url: string, status: number, headers: Headers, body: string): string[]
}

/**
 * A copy of a schema for checking answers: every `$ref` pointed at the components Ajv knows, and every object
 * that lists its properties closed to others. The document leaves objects open, so that clients tolerate fields
 * added later; the checks hold the API to sending none that the document does not name. The narrowing half of
 * an `allOf` (an error's `code` enum) stays open: the other half closes the object.
 */
function forChecking(schema: unknown, open = false): unknown {
  if (Array.isArray(schema)) return schema.map((item) => forChecking(item, open))
  if (typeof schema !== 'object' || schema === null) return schema
  const out: Json = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && typeof value === 'string') {
      out[key] = value.replace('#/components/schemas/', `${COMPONENTS_ID}#/$defs/`)
    } else if (key === 'allOf' && Array.isArray(value)) {
      out[key] = value.map((member) => forChecking(member, true))
    } else if (key === 'examples' || key === 'enum' || key === 'const' || key === 'default') {
      out[key] = value
    } else {
      out[key] = forChecking(value, open)
    }
  }
  const type = out['type']
  const isObject = type === 'object' || (Array.isArray(type) && type.includes('object'))
  const closedAlready =
    'additionalProperties' in out || 'patternProperties' in out || 'unevaluatedProperties' in out
  if (!open && isObject && 'properties' in out && !closedAlready) out['additionalProperties'] = false
  return out
}

export function compileContract(document: OpenApiDocument): Contract {
  const ajv = new Ajv2020({ allErrors: true, strict: true })
  addFormats(ajv)
  ajv.addSchema({ $id: COMPONENTS_ID, $defs: forChecking(document.components.schemas ?? {}) })

  const resolve = <T>(item: T | { $ref: string }): T => {
    if (typeof item !== 'object' || item === null || !('$ref' in item)) return item as T
    const [, , kind, name] = item.$ref.split('/')
    const found = (document.components as Record<string, Record<string, T> | undefined>)[kind!]?.[name!]
    if (!found) throw new Error(`OpenAPI: ${item.$ref} does not resolve`)
    return found
  }

  const validators = new WeakMap<object, ValidateFunction>()
  const validator = (schema: Json) => {
    let validate = validators.get(schema)
    if (!validate) {
      validate = ajv.compile(forChecking(schema) as Json)
      validators.set(schema, validate)
    }
    return validate
  }

  const templates = Object.entries(document.paths).map(([template, item]) => ({
    template,
    item: item as Record<string, Operation>,
    pattern: new RegExp(
      `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}/?$`,
    ),
  }))

  const describe = (errors: ErrorObject[] | null | undefined) =>
    (errors ?? []).map(
      (e) => `${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
    )

  return {
    document,
    problems(method, url, status, headers, body) {
      const pathname = new URL(url, 'http://localhost').pathname
      // HEAD is GET without the body (RFC 9110 §9.3.2), answered wherever GET is.
      const verb = method === 'HEAD' ? 'get' : method.toLowerCase()
      // CORS preflights are answered by the CORS plugin (when CORS_ORIGINS is set), not by an operation.
      if (verb === 'options' && status !== 405) return []
      const match = templates.find((t) => t.pattern.test(pathname))
      if (!match) return []
      let operation = match.item[verb]
      if (!operation) {
        // A documented path answers other methods with 405, documented on each of its operations.
        if (status !== 405) return [`${method} is not documented on ${match.template}`]
        operation = Object.values(match.item)[0]!
      }
      const declared = operation.responses[String(status)] ?? operation.responses['default']
      if (!declared) {
        return [
          `status ${status} is not documented for ${verb.toUpperCase()} ${match.template} (documented: ${Object.keys(operation.responses).join(', ')})`,
        ]
      }
      const response = resolve(declared)
      const problems: string[] = []

      const declaredHeaders = new Map(
        Object.entries(response.headers ?? {}).map(([name, header]) => [
          name.toLowerCase(),
          resolve<HeaderObject>(header),
        ]),
      )
      for (const [name, header] of declaredHeaders) {
        const value = headers.get(name)
        if (value === null) {
          if (header.required) problems.push(`header ${name} is required but missing`)
          continue
        }
        const type = header.schema['type']
        const typed =
          (type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value
        const validate = validator(header.schema)
        if (!validate(typed))
          problems.push(`header ${name}: ${JSON.stringify(value)} ${describe(validate.errors).join('; ')}`)
      }
      headers.forEach((_value, name) => {
        const lower = name.toLowerCase()
        if (UNDECLARED_HEADERS.has(lower) || isCorsHeader(lower) || declaredHeaders.has(lower)) return
        problems.push(`header ${lower} is sent but not declared`)
      })

      if (method === 'HEAD') return problems
      if (!response.content) {
        if (body.length > 0) problems.push(`a body is sent where none is documented: ${body.slice(0, 200)}`)
        return problems
      }
      const mediaType = (headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
      const media = response.content[mediaType]
      if (!media) {
        problems.push(
          `content type ${JSON.stringify(mediaType)} is not documented (documented: ${Object.keys(response.content).join(', ')})`,
        )
        return problems
      }
      // Text that is not JSON (the hosted HTML pages) is checked as the string it is.
      const json = mediaType === 'application/json' || mediaType.endsWith('+json')
      let value: unknown = body
      if (json) {
        try {
          value = JSON.parse(body)
        } catch {
          problems.push(`the body is not JSON: ${body.slice(0, 200)}`)
          return problems
        }
      }
      const validate = validator(media.schema)
      if (!validate(value)) {
        problems.push(...describe(validate.errors).map((error) => `body ${error}`))
        problems.push(`body: ${body.slice(0, 500)}`)
      }
      return problems
    },
  }
}

let shared: Promise<Contract> | undefined

/** The contract of the served document, compiled once per process. */
export const contract = (): Promise<Contract> => {
  shared ??= servedDocument().then(compileContract)
  return shared
}

export class ContractViolation extends Error {
  override name = 'ContractViolation'
}

/**
 * Throws when `response` (to `request`) is not what the OpenAPI document says the operation answers: an
 * undocumented status, a required header missing, a header sent but not declared, or a body that does not match
 * its schema. Paths the document does not describe (`/files/*`, `/metrics`, `/docs`) are not checked.
 */
export async function checkContract(
  request: Pick<Request, 'method' | 'url'>,
  response: Response,
): Promise<void> {
  const checks = await contract()
  const body = request.method === 'HEAD' ? '' : await response.clone().text()
  const problems = checks.problems(request.method, request.url, response.status, response.headers, body)
  if (problems.length === 0) return
  const url = new URL(request.url)
  throw new ContractViolation(
    `${request.method} ${url.pathname}${url.search} answered ${response.status}, which the OpenAPI document does not describe:\n` +
      problems.map((problem) => `  - ${problem}`).join('\n'),
  )
}
