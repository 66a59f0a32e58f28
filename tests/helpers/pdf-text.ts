import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs'
import type { TextItem } from 'pdfjs-dist/types/src/display/api.js'

export type PdfTextItem = { str: string; x: number; y: number; width: number }
/** `y` grows downwards from the top of the page, like the renderer's coordinates. */
export type PdfPageText = { items: PdfTextItem[]; lines: string[]; text: string }
export type PdfText = { pages: PdfPageText[]; info: Record<string, unknown> }

const SAME_LINE = 2
const PAGE_HEIGHT = 841.89

/** Groups text items into visual lines, top to bottom, joining items on one line left to right. */
function toLines(items: PdfTextItem[]): string[] {
  const sorted = [...items].sort((a, b) => a.y - b.y || a.x - b.x)
  const rows: PdfTextItem[][] = []
  for (const item of sorted) {
    const row = rows.at(-1)
    if (row && Math.abs(row[0]!.y - item.y) < SAME_LINE) row.push(item)
    else rows.push([item])
  }
  return rows.map((row) =>
    row
      .sort((a, b) => a.x - b.x)
      .map((item) => item.str)
      .join(' ')
      .replace(/\s+/g, ' ')
      .trim(),
  )
}

/** The text of every page of a PDF, as positioned items and as lines. */
export async function extractPdfText(bytes: Uint8Array): Promise<PdfText> {
  // pdf.js takes ownership of the buffer it is given.
  const task = getDocument({ data: new Uint8Array(bytes), verbosity: 0 })
  try {
    const pdf = await task.promise
    const pages: PdfPageText[] = []
    for (let n = 1; n <= pdf.numPages; n++) {
      const content = await (await pdf.getPage(n)).getTextContent()
      const items = content.items
        .filter((item): item is TextItem => 'str' in item && item.str.trim() !== '')
        .map((item) => ({
          str: item.str,
          x: item.transform[4],
          y: PAGE_HEIGHT - item.transform[5],
          width: item.width,
        }))
      const lines = toLines(items)
      pages.push({ items, lines, text: lines.join('\n') })
    }
    const { info } = await pdf.getMetadata()
    return { pages, info: info as Record<string, unknown> }
  } finally {
    await task.destroy()
  }
}
