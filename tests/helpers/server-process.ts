import path from 'node:path'

/** The repository root, where `bun src/index.ts` starts the server. */
export const ROOT = path.resolve(import.meta.dir, '../..')

/** Only what a spawned server needs, so no variable of the test run (DATABASE_URL, …) leaks into it. */
export const serverEnv = (extra: Record<string, string>): Record<string, string> => ({
  PATH: process.env['PATH'] ?? '',
  HOME: process.env['HOME'] ?? '/tmp',
  ...extra,
})

/** Calls `onLine` for each complete line of a stream, as a spawned server writes its JSON log. */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true })
    let newline = buffer.indexOf('\n')
    while (newline !== -1) {
      onLine(buffer.slice(0, newline))
      buffer = buffer.slice(newline + 1)
      newline = buffer.indexOf('\n')
    }
  }
}
