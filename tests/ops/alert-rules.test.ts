import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import path from 'node:path'

// A busy 2-core machine makes seconds of these; tests/setup.ts's default reaches only the first file.
setDefaultTimeout(30_000)

const ROOT = path.resolve(import.meta.dir, '../..')
const DIR = path.join(ROOT, 'ops/prometheus')
const RULES = path.join(DIR, 'invoice-api.rules.yml')
const UNIT_TESTS = path.join(DIR, 'invoice-api.rules.test.yml')
const RUNBOOK = 'README.md#alerts'

interface AlertRule {
  alert: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: { summary?: string; description?: string; runbook_url?: string }
}
interface RuleFile {
  groups: { name: string; rules: AlertRule[] }[]
}
interface UnitTestFile {
  tests: { name?: string; alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[]
}

const rules = Bun.YAML.parse(await Bun.file(RULES).text()) as RuleFile
const alerts = rules.groups.flatMap((group) => group.rules)
const unitTests = Bun.YAML.parse(await Bun.file(UNIT_TESTS).text()) as UnitTestFile

/** Fails, never skips, without promtool: CI must check the alert rules. */
function promtool(): string {
  const found = Bun.which('promtool')
  if (!found) {
    throw new Error(
      'promtool is missing: the alert rules are checked and unit-tested with it. ' +
        "Install Debian's package with `apt-get install -y --no-install-recommends prometheus` (.ci/run does).",
    )
  }
  return found
}

async function run(args: string[]): Promise<{ code: number; output: string }> {
  const proc = Bun.spawn([promtool(), ...args], { cwd: DIR, stdout: 'pipe', stderr: 'pipe' })
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  return { code, output: stdout + stderr }
}

describe('alert rules (ops/prometheus)', () => {
  test('when promtool checks the rules with every lint fatal, then it accepts all of them', async () => {
    const result = await run(['check', 'rules', '--lint=all', '--lint-fatal', RULES])
    expect(result).toEqual({
      code: 0,
      output: expect.stringContaining(`SUCCESS: ${alerts.length} rules found`),
    })
  })

  test('when promtool runs the unit tests, then every one passes', async () => {
    const result = await run(['test', 'rules', UNIT_TESTS])
    expect(result).toEqual({ code: 0, output: expect.stringContaining('SUCCESS') })
  })

  test('then every rule is an alert with a for, a severity, a summary, a description and the runbook', () => {
    expect(alerts.length).toBeGreaterThan(0)
    for (const rule of alerts) {
      expect({
        alert: rule.alert,
        for: rule.for,
        severity: rule.labels?.['severity'],
        ...rule.annotations,
      }).toEqual({
        alert: rule.alert,
        for: expect.stringMatching(/^\d+[smh]$/),
        severity: expect.stringMatching(/^(critical|warning)$/),
        summary: expect.any(String),
        description: expect.any(String),
        runbook_url: RUNBOOK,
      })
    }
  })

  test('then every alert has a unit test where it fires and one where it stays silent', () => {
    const cases = unitTests.tests.flatMap((group) => group.alert_rule_test ?? [])
    const coverage = alerts.map(({ alert }) => ({
      alert,
      fires: cases.some((c) => c.alertname === alert && (c.exp_alerts?.length ?? 0) > 0),
      silent: cases.some((c) => c.alertname === alert && (c.exp_alerts?.length ?? 0) === 0),
    }))
    expect(coverage).toEqual(alerts.map(({ alert }) => ({ alert, fires: true, silent: true })))
  })

  test('then the README "Alerts" runbook names every alert', async () => {
    const readme = await Bun.file(path.join(ROOT, 'README.md')).text()
    const section = /^### Alerts\n([\s\S]*?)(?=^##? )/m.exec(readme)?.[1] ?? ''
    expect(alerts.filter(({ alert }) => !section.includes(alert)).map(({ alert }) => alert)).toEqual([])
  })
})
