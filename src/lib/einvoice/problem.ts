/** What the norm needs and the document lacks: `path` is the API field to fill, `rule` the norm's rule id. */
export interface EInvoiceProblem {
  path: string
  message: string
  rule: string
}

export function problem(path: string, rule: string, message: string): EInvoiceProblem {
  return { path, message, rule }
}
