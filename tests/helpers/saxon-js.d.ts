/** The part of saxon-js (which ships no types) the e-invoice tests use: running a compiled stylesheet. */
declare module 'saxon-js' {
  interface TransformOptions {
    stylesheetInternal: unknown
    sourceText: string
    destination: 'serialized'
  }
  interface TransformResult {
    principalResult: unknown
  }
  const SaxonJS: {
    transform(options: TransformOptions, mode: 'async'): Promise<TransformResult>
  }
  export default SaxonJS
}
