import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import { toCii, toUbl } from '../../src/lib/einvoice/index.ts'
import { MATRIX } from './matrix.ts'

setDefaultTimeout(30_000)

describe('the writers', () => {
  test('when the same document is written twice, or a copy of it, then the bytes are equal', () => {
    for (const { doc } of MATRIX) {
      const copy = structuredClone(doc)
      for (const write of [
        (d = doc) => toCii(d, 'facturx'),
        (d = doc) => toCii(d, 'xrechnung-cii'),
        (d = doc) => toUbl(d),
      ]) {
        const first = new TextEncoder().encode(write())
        expect(new TextEncoder().encode(write())).toEqual(first)
        expect(new TextEncoder().encode(write(copy))).toEqual(first)
      }
    }
  })

  test('when text holds markup characters, then it is escaped, never spliced into the XML', () => {
    const doc = structuredClone(MATRIX[0]!.doc)
    doc.lines[0]!.name = 'Bolts <M8> & nuts "A2"'
    expect(toCii(doc, 'facturx')).toContain('<ram:Name>Bolts &lt;M8&gt; &amp; nuts "A2"</ram:Name>')
    expect(toUbl(doc)).toContain('<cbc:Name>Bolts &lt;M8&gt; &amp; nuts "A2"</cbc:Name>')
  })
})
