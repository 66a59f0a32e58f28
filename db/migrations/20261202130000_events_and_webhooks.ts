import { type Kysely, sql } from 'kysely'

/**
 * The event log and outbox of API.md "Webhooks", and the webhook endpoints and their deliveries.
 *
 * - `events`: one row per change, written in the change's own transaction, so there is no event for a change
 *   that rolled back and no change without its event. `data` holds `{ object }`, the resource as the API
 *   answered it at that moment. Kept 30 days (a clean-up job), ordered by `seq`.
 * - `webhook_endpoints`: at most 16 per user (checked under a per-user advisory lock). A rotated secret keeps
 *   signing beside the new one until `previous_secret_expires_at`.
 * - `webhook_deliveries`: one per event and subscribed endpoint, created with the event (the outbox), then
 *   worked by jobs: `pending` → `succeeded`, or `retrying` → … → `failed`. An attempt is claimed by moving
 *   `attempts` from the number its job carries, recording the job in `attempt_job`: a second job for the same
 *   attempt finds the number moved and does nothing, while the same job retried after a crash may try again.
 * The type list below is the event-type list of src/modules/webhooks/model.ts at this point (tests compare).
 */
const EVENT_TYPES = sql`('customer.created', 'customer.updated', 'customer.deleted', 'invoice.created',
  'invoice.updated', 'invoice.deleted', 'invoice.sent', 'invoice.partially_paid', 'invoice.paid', 'invoice.voided',
  'invoice.credited', 'invoice.emailed', 'invoice.email_failed', 'invoice.overdue', 'payment.created',
  'credit_note.created')`

// biome-ignore lint/suspicious/noExplicitAny: migrations are written against the database as it was then
export async function up(db: Kysely<any>): Promise<void> {
  // Stamping every overdue invoice reads all of them: on a million it outlasts the API's statement timeout.
  // The migrator runs in one transaction, so this lifts the bound for this migration only.
  await sql`set local statement_timeout = 0`.execute(db)
  await sql`create table events (
    seq bigserial primary key,
    id uuid not null unique default gen_random_uuid(),
    user_id uuid not null references users (id) on delete cascade,
    type text not null check (type in ${EVENT_TYPES}),
    created_at timestamptz not null default now(),
    data jsonb not null
  )`.execute(db)
  await sql`create index events_user_seq_idx on events (user_id, seq desc)`.execute(db)
  await sql`create index events_user_type_seq_idx on events (user_id, type, seq desc)`.execute(db)
  await sql`create index events_created_at_idx on events (created_at)`.execute(db)

  // When `invoice.overdue` was written: once per invoice. Invoices already past due when this runs are not
  // announced afresh (they were overdue before there were events to announce it).
  await sql`alter table invoices add column overdue_announced_at timestamptz`.execute(db)
  await sql`update invoices i set overdue_announced_at = now() from users u
     where u.id = i.user_id and i.status in ('sent', 'partially_paid')
       and i.due_date < (now() at time zone u.timezone)::date`.execute(db)
  await sql`create index invoices_overdue_unannounced_idx on invoices (due_date)
     where overdue_announced_at is null and status in ('sent', 'partially_paid')`.execute(db)

  await sql`create table webhook_endpoints (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references users (id) on delete cascade,
    url text not null,
    events text[] not null check (cardinality(events) between 1 and 32),
    description text,
    enabled boolean not null default true,
    disabled_reason text,
    secret text not null,
    previous_secret text,
    previous_secret_expires_at timestamptz,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint webhook_endpoints_previous_secret_expires check ((previous_secret is null) = (previous_secret_expires_at is null))
  )`.execute(db)
  await sql`create index webhook_endpoints_user_idx on webhook_endpoints (user_id, created_at desc, id desc)`.execute(
    db,
  )

  await sql`create table webhook_deliveries (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references users (id) on delete cascade,
    endpoint_id uuid not null references webhook_endpoints (id) on delete cascade,
    event_id uuid not null references events (id) on delete cascade,
    status text not null default 'pending' check (status in ('pending', 'succeeded', 'retrying', 'failed')),
    attempts integer not null default 0 check (attempts >= 0),
    last_attempt_at timestamptz,
    next_attempt_at timestamptz,
    last_status_code integer,
    last_error text,
    attempt_job text,
    created_at timestamptz not null default now(),
    constraint webhook_deliveries_endpoint_event_key unique (endpoint_id, event_id)
  )`.execute(db)
  await sql`create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, created_at desc, id desc)`.execute(
    db,
  )
  await sql`create index webhook_deliveries_event_idx on webhook_deliveries (event_id)`.execute(db)
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table webhook_deliveries`.execute(db)
  await sql`drop table webhook_endpoints`.execute(db)
  await sql`drop table events`.execute(db)
  await sql`alter table invoices drop column overdue_announced_at`.execute(db)
}
