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
 * document would lose its ToUnicode entry in every later one. An empty cache per document keeps each
 * document independent of the ones rendered before it.
 */
function clearGlyphCache(font: Font): void {
  const cached = font as unknown as { _glyphs?: Record<number, unknown> }
  if (typeof cached._glyphs !== 'object') throw new Error('fontkit glyph cache not found')
  cached._glyphs = {}
}

/**
 * The DejaVu Sans faces (Latin, Greek, Cyrillic), read and parsed once per process, ready for one new
 * document. pdfkit accepts a parsed fontkit font in place of a path or bytes and subsets it per document.
 */
export function documentFonts(): FontSet {
  const set = loaded()
  clearGlyphCache(set.regular)
  clearGlyphCache(set.bold)
  return set
}

function loaded(): FontSet {
  fonts ??= { regular: loadFile('DejaVuSans.ttf'), bold: loadFile('DejaVuSans-Bold.ttf') }
  return fonts
}

/** The regular face, for its metrics. */
export const regularFont = (): Font => loaded().regular
