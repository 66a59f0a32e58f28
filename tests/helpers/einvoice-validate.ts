import { resolve } from 'node:path'
import SaxonJS from 'saxon-js'

/**
 * The official EN 16931 and XRechnung validation artifacts (../shared/einvoice, see its README) as a test
 * peer: the Schematron rules compiled for SaxonJS, and the CII and UBL schemas through `xmllint`.
 */
export const EINVOICE_ARTIFACTS = resolve(import.meta.dir, '../../../shared/einvoice')

export type RuleSet = 'en16931-cii' | 'en16931-ubl' | 'xrechnung-cii' | 'xrechnung-ubl'

const SCHEMAS = {
  cii: `${EINVOICE_ARTIFACTS}/cii-xsd/uncefact/data/standard/CrossIndustryInvoice_100pD16B.xsd`,
  'ubl-invoice': `${EINVOICE_ARTIFACTS}/ubl-xsd/maindoc/UBL-Invoice-2.5.xsd`,
  'ubl-creditnote': `${EINVOICE_ARTIFACTS}/ubl-xsd/maindoc/UBL-CreditNote-2.5.xsd`,
} as const
export type Schema = keyof typeof SCHEMAS

/** A compiled rule set (5–7 MB of JSON): parse it once per test file, in `beforeAll`, and pass it around. */
export async function loadRules(ruleSet: RuleSet): Promise<unknown> {
  return JSON.parse(await Bun.file(`${EINVOICE_ARTIFACTS}/${ruleSet}.sef.json`).text())
}

export interface Finding {
  id: string
  flag: string
}

const FAILED_ASSERT = /<svrl:failed-assert\b((?:\s+[\w:-]+\s*=\s*"[^"]*")*)\s*\/?>/g
const ATTRIBUTE = /([\w:-]+)\s*=\s*"([^"]*)"/g

/** Every failed assertion of the rules on `xml`, with its flag (`fatal`, `warning`, `information`). */
export async function findings(rules: unknown, xml: string): Promise<Finding[]> {
  const { principalResult } = await SaxonJS.transform(
    { stylesheetInternal: rules, sourceText: xml, destination: 'serialized' },
    'async',
  )
  // Read id and flag by name: their order differs between the rule sets.
  return [...String(principalResult).matchAll(FAILED_ASSERT)].map((match) => {
    const attributes = new Map([...match[1]!.matchAll(ATTRIBUTE)].map((a) => [a[1]!, a[2]!]))
    return { id: attributes.get('id') ?? '?', flag: attributes.get('flag') ?? '?' }
  })
}

/** The ids of the fatal failed assertions, sorted and without repeats: empty means the document passes. */
export async function fatalRuleIds(rules: unknown, xml: string): Promise<string[]> {
  const fatal = (await findings(rules, xml)).filter((finding) => finding.flag === 'fatal')
  return [...new Set(fatal.map((finding) => finding.id))].sort()
}

/** Schema validation with `xmllint --noout --schema`: the error lines, empty when the document is valid. */
export async function schemaErrors(schema: Schema, xml: string): Promise<string[]> {
  const run = Bun.spawn(['xmllint', '--noout', '--schema', SCHEMAS[schema], '-'], {
    stdin: new TextEncoder().encode(xml),
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [stderr, exitCode] = await Promise.all([new Response(run.stderr).text(), run.exited])
  if (exitCode === 0) return []
  const errors = stderr
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.endsWith('fails to validate'))
  return errors.length > 0 ? errors : [`xmllint exited with ${exitCode}`]
}
