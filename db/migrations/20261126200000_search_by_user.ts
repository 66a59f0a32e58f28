import { type Kysely, sql } from 'kysely'

// Searches are always one user's: a trigram index over every user's invoices (or customers) finds matches of
// all users and throws most away ("INV-0420" exists once per user). With btree_gin the user id leads the index.

// biome-ignore lint/suspicious/noExplicitAny: migrations are written against the database as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create extension if not exists btree_gin`.execute(db)
  await sql`create index invoices_user_search_trgm_idx on invoices using gin (user_id, search_text gin_trgm_ops)`.execute(
    db,
  )
  await sql`drop index invoices_search_text_trgm_idx`.execute(db)
  await sql`create index customers_user_search_trgm_idx on customers using gin (user_id, search_text gin_trgm_ops)`.execute(
    db,
  )
  await sql`drop index customers_search_text_trgm_idx`.execute(db)
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index customers_search_text_trgm_idx on customers using gin (search_text gin_trgm_ops)`.execute(
    db,
  )
  await sql`drop index customers_user_search_trgm_idx`.execute(db)
  await sql`create index invoices_search_text_trgm_idx on invoices using gin (search_text gin_trgm_ops)`.execute(
    db,
  )
  await sql`drop index invoices_user_search_trgm_idx`.execute(db)
}
