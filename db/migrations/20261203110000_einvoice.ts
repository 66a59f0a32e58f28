import { type Kysely, sql } from 'kysely'

/**
 * E-invoicing (API.md "E-invoicing (EN 16931)").
 *
 * - The profile: `tax_calculation` ('per_line' | 'per_category', how line taxes are rounded) and
 *   `e_invoice_format` ('none' | 'facturx', whether the issued PDF is itself a Factur-X).
 * - The customer: `buyer_reference` (BT-10, e.g. a Leitweg-ID).
 * - Invoice lines: `unit_code` (UN/ECE Recommendation 20, 'C62' "one") and `tax_category` (UNTDID 5305); a null
 *   category (every line written before) reads as the API's default, 'S' when taxed, else 'Z'. The exempt
 *   categories carry no tax.
 * - Invoices: `tax_calculation` frozen from the profile when the draft is created, `tax_exemption_reasons`
 *   ({ category: text }), `purchase_order_reference` (BT-13), `delivery_date` (BT-72), `deliver_to` (an address,
 *   its country at least), and `pdf_facturx`: whether the stored PDF of record is a Factur-X (as for credit notes).
 *   Existing invoices keep 'per_line', the only rounding there was.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are written against the database as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table users
    add column tax_calculation text not null default 'per_line'
      constraint users_tax_calculation_check check (tax_calculation in ('per_line', 'per_category')),
    add column e_invoice_format text not null default 'none'
      constraint users_e_invoice_format_check check (e_invoice_format in ('none', 'facturx'))
  `.execute(db)

  await sql`alter table customers add column buyer_reference text`.execute(db)

  // Both columns without a rewrite of the table: a constant default, and a category that is null where the API
  // default applies ('S' when taxed, else 'Z'), which is every line written before.
  await sql`alter table invoice_items
    add column unit_code text not null default 'C62',
    add column tax_category text
      constraint invoice_items_tax_category_check
      check (tax_category in ('S', 'Z', 'E', 'AE', 'K', 'G', 'O'))
  `.execute(db)
  // NOT VALID: every existing line has a null category, which satisfies it; validating would read all of them (ten
  // million lines in the benchmark's data set, past the API's statement timeout when it migrates at start).
  await sql`alter table invoice_items add constraint invoice_items_exempt_untaxed_check
    check (tax_category is null or tax_category in ('S', 'Z') or (tax_rate = 0 and tax = 0)) not valid
  `.execute(db)

  await sql`alter table invoices
    add column tax_calculation text not null default 'per_line'
      constraint invoices_tax_calculation_check check (tax_calculation in ('per_line', 'per_category')),
    add column tax_exemption_reasons jsonb,
    add column purchase_order_reference text,
    add column delivery_date date,
    add column deliver_to jsonb,
    add column pdf_facturx boolean not null default false
  `.execute(db)
  await sql`alter table credit_notes add column pdf_facturx boolean not null default false`.execute(db)
}

// biome-ignore lint/suspicious/noExplicitAny: see up
export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table credit_notes drop column pdf_facturx`.execute(db)
  await sql`alter table invoices
    drop column tax_calculation, drop column tax_exemption_reasons, drop column purchase_order_reference,
    drop column delivery_date, drop column deliver_to, drop column pdf_facturx`.execute(db)
  await sql`alter table invoice_items drop column unit_code, drop column tax_category`.execute(db)
  await sql`alter table customers drop column buyer_reference`.execute(db)
  await sql`alter table users drop column tax_calculation, drop column e_invoice_format`.execute(db)
}
