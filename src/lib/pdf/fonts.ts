import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { create, type Font } from 'fontkit'

export const REGULAR = 'DejaVuSans'
export const BOLD = 'DejaVuSans-Bold'

export type FontSet = { regular: Font; bold: Font }

let fonts: FontSet | undefined

function loadFile(file: string): Font {
  const path = fileURLToPath(import.meta.resolve(`dejavu-fonts-ttf/ttf/${file}`))
  const font = create(readFileSync(path))
  if (!('layout' in font)) throw new Error(`${file} is a font collection, expected a single font`)
  return font
}

/**
 * fontkit caches each glyph with the code points it was first looked up with. Subsetting looks up the
 * components of composite glyphs (ύ is built from υ) with none, so a glyph first met that way in one
 * document would lose its ToUnicode entry in every later one. Those glyphs are dropped before each document;
 * the others stay, with their decoded outlines and metrics, which subsetting reads again in every document.
 */
function dropGlyphsWithoutCodePoints(font: Font): void {
  const cached = font as unknown as { _glyphs?: Record<number, { codePoints?: number[] }> }
  if (typeof cached._glyphs !== 'object') throw new Error('fontkit glyph cache not found')
  for (const [id, glyph] of Object.entries(cached._glyphs)) {
    if (!glyph.codePoints || glyph.codePoints.length === 0) delete cached._glyphs[Number(id)]
  }
}

/**
 * The DejaVu Sans faces (Latin, Greek, Cyrillic), read and parsed once per process, ready for one new
 * document. pdfkit accepts a parsed fontkit font in place of a path or bytes and subsets it per document.
 */
export function documentFonts(): FontSet {
  const set = loaded()
  dropGlyphsWithoutCodePoints(set.regular)
  dropGlyphsWithoutCodePoints(set.bold)
  return set
}

type Run = ReturnType<Font['layout']>

/** Words kept per face, most recently used first: labels, dates and the items a business bills again. */
const LAYOUT_MEMO_SIZE = 2_000

/**
 * Shaping a word (OpenType substitution and positioning) is about a third of a render, and pdfkit caches it
 * per document only. This keeps fontkit's result across documents for the plain calls pdfkit makes
 * (a word, default features), and hands out a copy of the positions, which pdfkit scales in place. The glyph
 * objects are shared: they carry the code points they were shaped from, which is all that later documents
 * read (a document's composite-glyph lookups go through the glyph cache, which drops glyphs without code
 * points before each document). DejaVu
 * maps no two code points to one glyph, so a glyph's code points are the same whichever word shaped it; the
 * one exception is a ligature that also has a code point of its own (ﬁ, U+FB01), whose text in a later
 * document is that of its first use. A re-render that differs for that reason is stored as a new object and
 * recorded (`pdf_regenerated`), as for any renderer change.
 */
function memoizeLayout(font: Font): void {
  const layout = font.layout.bind(font)
  const memo = new Map<string, Run>()
  const copy = (run: Run) => {
    const positions = run.positions.map((p) => ({ ...p }))
    return {
      glyphs: run.glyphs,
      positions,
      get advanceWidth() {
        let width = 0
        for (const p of positions) width += p.xAdvance
        return width
      },
    } as unknown as Run
  }
  font.layout = ((text: string, ...rest: unknown[]) => {
    if (rest.some((arg) => arg !== undefined)) return (layout as (...args: unknown[]) => Run)(text, ...rest)
    let run = memo.get(text)
    if (run) {
      memo.delete(text)
    } else {
      run = layout(text)
      if (memo.size >= LAYOUT_MEMO_SIZE) memo.delete(memo.keys().next().value!)
    }
    memo.set(text, run)
    return copy(run)
  }) as Font['layout']
}

function loaded(): FontSet {
  if (!fonts) {
    fonts = { regular: loadFile('DejaVuSans.ttf'), bold: loadFile('DejaVuSans-Bold.ttf') }
    memoizeLayout(fonts.regular)
    memoizeLayout(fonts.bold)
  }
  return fonts
}

/** The regular face, for its metrics. */
export const regularFont = (): Font => loaded().regular
