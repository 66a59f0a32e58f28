import { describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

/**
 * The layering of src/ (ARCHITECTURE.md): imports point down, modules import no module that imports them back,
 * plugins and libraries import no module, shared code imports nothing of the app. Read from the sources, so a
 * new import that breaks it fails here rather than in review.
 */
const SRC = resolve(import.meta.dir, '../../src')

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : []
  })
}

/** `modules/invoices/service.ts` → `modules/invoices`; `lib/pdf/render.ts` → `lib`; `app.ts` → `app`. */
function unitOf(path: string): string {
  const parts = relative(SRC, path).split('/')
  if (parts[0] === 'modules') return `modules/${parts[1]}`
  return parts.length === 1 ? parts[0]!.replace(/\.ts$/, '') : parts[0]!
}

const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/gm

function edges(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>()
  for (const file of files(SRC)) {
    const from = unitOf(file)
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = resolve(dirname(file), match[1]!)
      if (!target.startsWith(SRC)) continue
      const to = unitOf(target.endsWith('.ts') ? target : `${target}.ts`)
      if (to === from) continue
      if (!graph.has(from)) graph.set(from, new Set())
      graph.get(from)!.add(to)
    }
  }
  return graph
}

function cycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node]
    state.set(node, 'open')
    path.push(node)
    for (const next of graph.get(node) ?? []) {
      const found = visit(next)
      if (found) return found
    }
    path.pop()
    state.set(node, 'done')
    return undefined
  }
  for (const node of graph.keys()) {
    const found = visit(node)
    if (found) return found
  }
  return undefined
}

describe('the import graph of src/', () => {
  const graph = edges()

  test('when the units of src/ are read, then their imports form no circle', () => {
    expect(cycle(graph)).toBeUndefined()
  })

  test('when plugins, libraries and shared code are read, then none imports a feature module', () => {
    for (const unit of ['plugins', 'lib', 'shared']) {
      const modules = [...(graph.get(unit) ?? [])].filter((to) => to.startsWith('modules/'))
      expect({ unit, modules }).toEqual({ unit, modules: [] })
    }
    expect({ unit: 'shared', imports: [...(graph.get('shared') ?? [])] }).toEqual({
      unit: 'shared',
      imports: [],
    })
  })

  test('when customers, the profile, reports and webhooks are read, then they import no other feature module', () => {
    // Idempotency and the webhooks outbox are shared services every writer may call.
    const shared = new Set(['modules/idempotency', 'modules/webhooks'])
    for (const unit of ['modules/customers', 'modules/me', 'modules/reports', 'modules/webhooks']) {
      const modules = [...(graph.get(unit) ?? [])].filter(
        (to) => to.startsWith('modules/') && !shared.has(to),
      )
      expect({ unit, modules }).toEqual({ unit, modules: [] })
    }
  })
})
