import { type Kysely, sql } from 'kysely'

/**
 * "Each document total equals the sum of its lines" becomes a rule of the database, not only of the service:
 * a PATCH that changed the discount without items once left every line stale while the totals moved.
 *
 * - Each line and each invoice is internally consistent (total = subtotal − discount + tax): plain CHECKs.
 * - The invoice's four totals equal the sums of its lines: a constraint trigger deferred to commit, since a
 *   change writes the invoice and its lines in separate statements. It fires for each changed line, so each
 *   invoice is checked once per transaction (the ids already checked are kept in a transaction-local
 *   setting), on the final state: 500 lines cost one sum, not 500.
 *
 * Drafts whose lines went stale are priced again first, with the API's arithmetic (PostgreSQL's `round` on
 * numeric rounds halves away from zero). Issued invoices are never rewritten: `db:verify` reports any.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are written against the database as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    with priced as (
      select it.id,
             round(it.quantity * it.unit_price) as subtotal,
             round(round(it.quantity * it.unit_price) * i.discount_percent / 100) as discount,
             it.tax_rate
        from invoice_items it join invoices i on i.id = it.invoice_id
       where i.status = 'draft'
    )
    update invoice_items it
       set subtotal = p.subtotal,
           discount = p.discount,
           tax = round((p.subtotal - p.discount) * p.tax_rate / 100),
           total = p.subtotal - p.discount + round((p.subtotal - p.discount) * p.tax_rate / 100)
      from priced p
     where p.id = it.id
       and (it.subtotal, it.discount, it.tax, it.total) is distinct from
           (p.subtotal, p.discount, round((p.subtotal - p.discount) * p.tax_rate / 100),
            p.subtotal - p.discount + round((p.subtotal - p.discount) * p.tax_rate / 100))
  `.execute(db)
  await sql`
    update invoices i
       set subtotal = s.subtotal, discount_total = s.discount, tax_total = s.tax, total = s.total
      from (select i2.id,
                   coalesce(sum(it.subtotal), 0) as subtotal, coalesce(sum(it.discount), 0) as discount,
                   coalesce(sum(it.tax), 0) as tax, coalesce(sum(it.total), 0) as total
              from invoices i2 left join invoice_items it on it.invoice_id = i2.id
             where i2.status = 'draft'
             group by i2.id) s
     where s.id = i.id
       and (i.subtotal, i.discount_total, i.tax_total, i.total) is distinct from (s.subtotal, s.discount, s.tax, s.total)
  `.execute(db)

  await sql`alter table invoice_items add constraint invoice_items_total_adds_up
              check (total = subtotal - discount + tax)`.execute(db)
  await sql`alter table invoices add constraint invoices_total_adds_up
              check (total = subtotal - discount_total + tax_total)`.execute(db)

  await sql`
    create function invoices_check_totals() returns trigger language plpgsql as $$
    declare
      target uuid;
      marker text := pg_current_xact_id()::text || ':';
      checked text := coalesce(current_setting('invoice_api.totals_checked', true), '');
      document record;
      lines record;
    begin
      if tg_table_name = 'invoices' then
        target := new.id;
      elsif tg_op = 'DELETE' then
        target := old.invoice_id;
      else
        target := new.invoice_id;
      end if;
      if left(checked, length(marker)) <> marker then
        checked := marker;
      end if;
      if strpos(checked, target::text) > 0 then
        return null;
      end if;
      perform set_config('invoice_api.totals_checked', checked || target::text || ',', true);

      select subtotal, discount_total, tax_total, total into document from invoices where id = target;
      if not found then
        return null;
      end if;
      select coalesce(sum(subtotal), 0) as subtotal, coalesce(sum(discount), 0) as discount,
             coalesce(sum(tax), 0) as tax, coalesce(sum(total), 0) as total
        into lines from invoice_items where invoice_id = target;
      if (document.subtotal, document.discount_total, document.tax_total, document.total)
         is distinct from (lines.subtotal, lines.discount, lines.tax, lines.total) then
        raise exception 'invoice % totals (%, %, %, %) are not the sums of its lines (%, %, %, %)',
          target, document.subtotal, document.discount_total, document.tax_total, document.total,
          lines.subtotal, lines.discount, lines.tax, lines.total
          using errcode = 'check_violation', constraint = 'invoices_totals_are_sums_of_lines';
      end if;
      return null;
    end
    $$
  `.execute(db)
  await sql`
    create constraint trigger invoices_totals_are_sums_of_lines
      after insert or update of subtotal, discount_total, tax_total, total on invoices
      deferrable initially deferred for each row execute function invoices_check_totals()
  `.execute(db)
  await sql`
    create constraint trigger invoice_items_sum_to_invoice
      after insert or update or delete on invoice_items
      deferrable initially deferred for each row execute function invoices_check_totals()
  `.execute(db)
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger invoice_items_sum_to_invoice on invoice_items`.execute(db)
  await sql`drop trigger invoices_totals_are_sums_of_lines on invoices`.execute(db)
  await sql`drop function invoices_check_totals()`.execute(db)
  await sql`alter table invoices drop constraint invoices_total_adds_up`.execute(db)
  await sql`alter table invoice_items drop constraint invoice_items_total_adds_up`.execute(db)
}
