export { renderInvoicePdf } from './render.ts'
export type {
  Address,
  BillToSnapshot,
  InvoiceItemSnapshot,
  InvoiceSnapshot,
  SellerSnapshot,
} from './types.ts'
