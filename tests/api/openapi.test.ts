import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { FormatRegistry } from '@sinclair/typebox'
import { fastFormats } from '../../src/shared/formats'
import { createTestApp, type TestApp } from '../helpers/app'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

type OpenApiDoc = {
  openapi: string
  components: { securitySchemes: Record<string, { type: string; scheme: string }> }
  paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>>
}

describe('OpenAPI document', () => {
  test('when /docs/json is fetched, then it is OpenAPI 3 with a bearer scheme and every route with its answers', async () => {
    const res = await t.request('/docs/json')
    expect(res.status).toBe(200)
    const doc = (await res.json()) as OpenApiDoc
    expect(doc.openapi).toMatch(/^3\./)
    expect(doc.components.securitySchemes['bearer']).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health', '/health/ready', '/api/v1/me']))
    const patch = doc.paths['/api/v1/me']!['patch']!
    expect(patch.requestBody).toMatchObject({
      content: { 'application/json': { schema: { type: 'object' } } },
    })
    expect(Object.keys(patch.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '412']))
    expect(doc.paths['/files/{*}']).toBeUndefined()
  })

  test('when any /api route exists, then the document describes it with its error answers and JSON body', async () => {
    const doc = (await (await t.request('/docs/json')).json()) as OpenApiDoc
    const routes = t.app.routes.filter((r) => r.path.startsWith('/api/') && r.method !== 'OPTIONS')
    expect(routes.length).toBeGreaterThanOrEqual(15)
    for (const route of routes) {
      const path = route.path.replace(/:(\w+)/g, '{$1}')
      const operation = doc.paths[path]?.[route.method.toLowerCase()]
      expect({ route: `${route.method} ${path}`, documented: operation !== undefined }).toEqual({
        route: `${route.method} ${path}`,
        documented: true,
      })
      expect(Object.keys(operation!.responses)).toEqual(expect.arrayContaining(['401', '500']))
      if (operation!.requestBody) {
        expect(Object.keys((operation!.requestBody as { content: object }).content)).toEqual([
          'application/json',
        ])
      }
    }
  })

  test('when the OpenAPI plugin is loaded, then the hot string formats keep their plain checks', async () => {
    for (const [name, check] of Object.entries(fastFormats)) expect(FormatRegistry.Get(name)).toBe(check)
    expect(FormatRegistry.Get('uuid')!('0b9e6a4e-5a41-4a0e-9d43-2a4d8f0f6c11')).toBe(true)
    expect(FormatRegistry.Get('uuid')!('not-a-uuid')).toBe(false)
  })

  test('when /docs is fetched, then an HTML reference page answers', async () => {
    const res = await t.request('/docs')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/html')
  })
})
