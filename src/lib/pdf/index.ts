export type { FacturxConformance, FacturxOptions, RenderOptions } from './options.ts'
export { renderCreditNotePdf, renderDocumentPdf, renderInvoicePdf } from './render.ts'
export type {
  Address,
  BillToSnapshot,
  CreditNoteReason,
  CreditNoteSnapshot,
  DocumentSnapshot,
  InvoiceItemSnapshot,
  InvoiceSnapshot,
  SellerSnapshot,
} from './types.ts'
