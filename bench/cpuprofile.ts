/**
 * Reads a `.cpuprofile` (Chrome DevTools format, as `bun --cpu-prof` writes it) and prints where the time went:
 * the functions with the most self time, and self time per package (node_modules/<package>) or source folder.
 *
 *   bun bench/cpuprofile.ts path/to/CPU.….cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
  columnNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
  hitCount?: number
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
  timeDeltas?: number[]
}

export interface FunctionTime {
  name: string
  where: string
  ms: number
  share: number
}

export interface ProfileSummary {
  /** Wall time the profile spans, start-up and idle periods included. */
  wallMs: number
  /** Time the thread was sampled running: samples × the sampling interval. */
  busyMs: number
  intervalMs: number
  self: FunctionTime[]
  /** Time with the function anywhere on the stack (each sample counted once per function). */
  inclusive: FunctionTime[]
  modules: { module: string; ms: number; share: number }[]
}

/** `node_modules/<package>` (scoped too), `src/<folder>`, or the runtime's own frames. */
export function moduleOf(url: string): string {
  if (!url) return '(native)'
  const nodeModules = url.lastIndexOf('node_modules/')
  if (nodeModules !== -1) {
    const rest = url.slice(nodeModules + 'node_modules/'.length).split('/')
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!
  }
  const src = url.indexOf('/src/')
  if (src !== -1) {
    const parts = url.slice(src + 1).split('/')
    return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts.join('/')
  }
  return url.split(/[/:]/)[0] || url
}

/**
 * Bun records a sample only while the thread runs, and the time delta of the first sample after an idle
 * period spans that whole period; so time is counted as samples × the median interval, not as deltas.
 */
export function summarize(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const samples = profile.samples ?? []
  const deltas = [...(profile.timeDeltas ?? [])].sort((a, b) => a - b)
  const intervalMs = (deltas[Math.floor(deltas.length / 2)] ?? 1000) / 1000
  const busyMs = samples.length * intervalMs

  const key = (frame: CallFrame) => {
    const where = frame.url
      ? `${frame.url.replace(/^.*?(node_modules\/|src\/)/, '$1')}:${frame.lineNumber + 1}`
      : ''
    return { name: frame.functionName || '(anonymous)', where, id: `${frame.functionName} ${where}` }
  }
  const self = new Map<string, FunctionTime>()
  const inclusive = new Map<string, FunctionTime>()
  const modules = new Map<string, number>()
  const add = (map: Map<string, FunctionTime>, frame: CallFrame) => {
    const k = key(frame)
    const entry = map.get(k.id) ?? { name: k.name, where: k.where, ms: 0, share: 0 }
    entry.ms += intervalMs
    map.set(k.id, entry)
  }
  for (const id of samples) {
    const frame = byId.get(id)?.callFrame
    if (!frame) continue
    add(self, frame)
    const module = frame.functionName.startsWith('(') && !frame.url ? frame.functionName : moduleOf(frame.url)
    modules.set(module, (modules.get(module) ?? 0) + intervalMs)
    const seen = new Set<string>()
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const f = byId.get(node)?.callFrame
      if (!f || f.functionName === '(root)') continue
      const k = key(f).id
      if (seen.has(k)) continue
      seen.add(k)
      add(inclusive, f)
    }
  }
  const share = (ms: number) => (busyMs > 0 ? ms / busyMs : 0)
  const ranked = (map: Map<string, FunctionTime>) =>
    [...map.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map((f) => ({ ...f, share: share(f.ms) }))
  return {
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs,
    intervalMs,
    self: ranked(self),
    inclusive: ranked(inclusive),
    modules: [...modules.entries()]
      .map(([module, ms]) => ({ module, ms, share: share(ms) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
  }
}

export function toMarkdown(summary: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`
  const fn = (f: FunctionTime) =>
    `| ${f.ms.toFixed(0)} ms | ${pct(f.share)} | \`${f.name}\` | ${f.where ? `\`${f.where}\`` : ''} |`
  return [
    `${(summary.busyMs / 1000).toFixed(1)} s of samples (every ${summary.intervalMs.toFixed(2)} ms while the thread ` +
      `ran) over ${(summary.wallMs / 1000).toFixed(1)} s; shares are of the sampled time.`,
    '',
    'Self time (the function itself was running):',
    '',
    '| self | share | function | where |',
    '|---:|---:|---|---|',
    ...summary.self.map(fn),
    '',
    'Inclusive time (the function was on the stack):',
    '',
    '| inclusive | share | function | where |',
    '|---:|---:|---|---|',
    ...summary.inclusive.map(fn),
    '',
    'Self time by package or folder:',
    '',
    '| self | share | package or folder |',
    '|---:|---:|---|',
    ...summary.modules.map((m) => `| ${m.ms.toFixed(0)} ms | ${pct(m.share)} | \`${m.module}\` |`),
  ].join('\n')
}

if (import.meta.main) {
  const file = process.argv[2]
  if (!file) throw new Error('usage: bun bench/cpuprofile.ts file.cpuprofile [--top N]')
  const topIndex = process.argv.indexOf('--top')
  const top = topIndex === -1 ? 25 : Number(process.argv[topIndex + 1])
  console.log(toMarkdown(summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top)))
}
