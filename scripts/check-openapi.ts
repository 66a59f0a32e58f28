/**
 * Checks the OpenAPI document as the API serves it (`GET /docs/json` of an app built in-process) with three
 * independent tools: @apidevtools/swagger-parser (validation against the OpenAPI schema), Redocly CLI (`lint`, the
 * `recommended` ruleset, redocly.yaml) and Spectral (`spectral:oas`, .spectral.yaml). Prints what each says and
 * exits 1 when any reports an error or a warning that its configuration does not accept.
 *
 * Offline: no ruleset is fetched (both rulesets ship with the tools) and Redocly's telemetry and update check are
 * off. `bun run openapi:check`; `--out FILE` also keeps the document.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import SwaggerParser from '@apidevtools/swagger-parser'
import { servedDocument } from '../tests/helpers/contract'

const root = path.resolve(import.meta.dir, '..')
const bin = (pkg: string, file: string) =>
  path.join(path.dirname(Bun.resolveSync(`${pkg}/package.json`, root)), file)

interface Outcome {
  tool: string
  ok: boolean
  summary: string
}

/** Runs a tool's CLI with this runtime; prints what it says (its standard output too, unless `quiet`). */
async function run(tool: string, args: string[], quiet = false): Promise<{ code: number; out: string }> {
  const child = Bun.spawn([process.execPath, ...args], {
    cwd: root,
    env: {
      ...process.env,
      REDOCLY_TELEMETRY: 'off',
      REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
      NO_COLOR: '1',
      FORCE_COLOR: '0',
    },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ])
  console.log(`\n--- ${tool}\n${`${quiet ? '' : out}${err}`.trim()}`)
  return { code, out }
}

async function swaggerParser(file: string): Promise<Outcome> {
  const tool = '@apidevtools/swagger-parser validate'
  try {
    await SwaggerParser.validate(file)
    console.log(`\n--- ${tool}\nvalid`)
    return { tool, ok: true, summary: '0 errors' }
  } catch (error) {
    console.log(`\n--- ${tool}\n${String(error)}`)
    return { tool, ok: false, summary: 'invalid' }
  }
}

interface RedoclyReport {
  totals: { errors: number; warnings: number; ignored: number }
  problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[]
}

async function redocly(file: string): Promise<Outcome> {
  const tool = 'Redocly CLI lint (recommended)'
  const { code, out } = await run(
    tool,
    [bin('@redocly/cli', 'bin/cli.js'), 'lint', '--config', 'redocly.yaml', '--format', 'json', file],
    true,
  )
  let report: RedoclyReport
  try {
    report = JSON.parse(out.slice(out.indexOf('{'))) as RedoclyReport
  } catch {
    return { tool, ok: false, summary: `unreadable output (exit ${code})` }
  }
  for (const problem of report.problems) {
    console.log(
      `${problem.severity} ${problem.ruleId} ${problem.location[0]?.pointer ?? ''}: ${problem.message}`,
    )
  }
  const { errors, warnings } = report.totals
  return {
    tool,
    ok: code === 0 && errors === 0 && warnings === 0,
    summary: `${errors} errors, ${warnings} warnings`,
  }
}

async function spectral(file: string): Promise<Outcome> {
  const tool = 'Spectral lint (spectral:oas)'
  const { code, out } = await run(tool, [
    bin('@stoplight/spectral-cli', 'dist/index.js'),
    'lint',
    '--ruleset',
    '.spectral.yaml',
    '--format',
    'stylish',
    '--fail-severity',
    'warn',
    file,
  ])
  const counts = /\((\d+) errors?, (\d+) warnings?/.exec(out)
  const summary = counts ? `${counts[1]} errors, ${counts[2]} warnings` : '0 errors, 0 warnings'
  return { tool, ok: code === 0, summary }
}

const outIndex = process.argv.indexOf('--out')
const dir = mkdtempSync(path.join(tmpdir(), 'openapi-check-'))
try {
  const document = await servedDocument()
  const text = JSON.stringify(document, null, 2)
  const file = outIndex > 0 ? path.resolve(process.argv[outIndex + 1]!) : path.join(dir, 'openapi.json')
  writeFileSync(file, text)
  const operations = Object.values(document.paths).reduce((n, item) => n + Object.keys(item).length, 0)
  console.log(
    `OpenAPI ${document.openapi} document: ${Buffer.byteLength(JSON.stringify(document))} bytes as served, ` +
      `${Object.keys(document.paths).length} paths, ${operations} operations, ` +
      `${Object.keys(document.components.schemas ?? {}).length} named schemas`,
  )
  const outcomes = [await swaggerParser(file), await redocly(file), await spectral(file)]
  console.log('\n--- summary')
  for (const { tool, ok, summary } of outcomes) console.log(`${ok ? 'ok  ' : 'FAIL'} ${tool}: ${summary}`)
  process.exitCode = outcomes.every((outcome) => outcome.ok) ? 0 : 1
} finally {
  rmSync(dir, { recursive: true, force: true })
}
