/** Letters that carry no combining mark to strip, folded to what people type instead. */
const FOLDS: Record<string, string> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  ł: 'l',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
}
const FOLDABLE = new RegExp(`[${Object.keys(FOLDS).join('')}]`, 'g')

/**
 * Case- and accent-insensitive form of a text: compatibility decomposition without its combining marks,
 * lower case, whitespace collapsed. "Zoë  MÜLLER" → "zoe muller".
 */
export function foldForSearch(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(FOLDABLE, (letter) => FOLDS[letter] ?? letter)
    .replace(/\s+/g, ' ')
    .trim()
}

/**
 * The `search_text` stored with a customer. Its parts are joined by a newline, which a folded query never
 * contains, so a match never spans name and email.
 */
export function searchTextOf(name: string, email: string | null): string {
  return [name, email ?? ''].map(foldForSearch).join('\n')
}

/** A `like` pattern that finds the folded query anywhere, its `%`, `_` and `\` taken literally. */
export function containsPattern(foldedQuery: string): string {
  return `%${foldedQuery.replace(/[\\%_]/g, '\\$&')}%`
}
