import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const RESULTS_FILE = join(import.meta.dir, 'RESULTS.md')

/**
 * Replaces the text between `begin` and `end` (markers included in `section`) in bench/RESULTS.md, or appends
 * the section when the markers are not there yet; the hand-written parts of the file stay as they are.
 */
export function writeSection(begin: string, end: string, section: string): void {
  let text: string
  try {
    text = readFileSync(RESULTS_FILE, 'utf8')
  } catch {
    text = '# Benchmark results\n'
  }
  const from = text.indexOf(begin)
  const to = text.indexOf(end)
  text =
    from === -1 || to === -1
      ? `${text.trimEnd()}\n\n${section}\n`
      : `${text.slice(0, from)}${section}${text.slice(to + end.length)}`
  writeFileSync(RESULTS_FILE, text)
}
