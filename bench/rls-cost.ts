/**
 * What row-level security would cost per request: the same primary-key read of an invoice, done
 *   plain:  one statement, scoped by `user_id` in its WHERE clause (what the repositories do), and
 *   rls:    BEGIN; set_config('app.user_id'); SET LOCAL ROLE; the read under a policy; COMMIT.
 * Runs against DATABASE_URL (a scratch database is created and dropped), 32 concurrent clients over a
 * 20-connection pool, for a fixed number of reads, and prints reads per second and latency percentiles.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bun bench/rls-cost.ts
 */
import postgres from 'postgres'

const serverUrl = process.env['DATABASE_URL']
if (!serverUrl) throw new Error('DATABASE_URL must point at a PostgreSQL server')
const READS = Number(process.env['READS'] ?? 40_000)
const CONCURRENCY = 32
const name = `rls_bench_${Date.now()}`

const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
await admin.unsafe(`create database ${name}`)
const url = new URL(serverUrl)
url.pathname = `/${name}`
const sql = postgres(url.toString(), { max: 20, onnotice: () => {} })

try {
  await sql.unsafe(`
    create table invoices (id uuid primary key default gen_random_uuid(), user_id uuid not null,
      total bigint not null, status text not null, payload text not null);
    create index on invoices (user_id);
    insert into invoices (user_id, total, status, payload)
      select ('00000000-0000-0000-0000-' || lpad((g % 1000)::text, 12, '0'))::uuid, g, 'sent', repeat('x', 200)
      from generate_series(1, 200000) g;
    alter table invoices enable row level security;
    alter table invoices force row level security;
    do $$ begin
      if not exists (select 1 from pg_roles where rolname = 'rls_bench_app') then create role rls_bench_app nologin; end if;
    end $$;
    grant select on invoices to rls_bench_app;
    create policy tenant on invoices using (user_id = nullif(current_setting('app.user_id', true), '')::uuid);
    analyze invoices;
  `)
  const rows = await sql<
    { id: string; user_id: string }[]
  >`select id, user_id from invoices order by random() limit 5000`

  const plain = async (row: { id: string; user_id: string }) => {
    await sql`select * from invoices where user_id = ${row.user_id} and id = ${row.id}`
  }
  const rls = async (row: { id: string; user_id: string }) => {
    await sql.begin(async (tx) => {
      await tx`select set_config('app.user_id', ${row.user_id}, true), set_config('role', 'rls_bench_app', true)`
      const found = await tx`select * from invoices where id = ${row.id}`
      if (found.length !== 1) throw new Error('policy hid the row')
    })
  }

  for (const [label, read] of [
    ['plain', plain],
    ['rls', rls],
    ['plain', plain],
    ['rls', rls],
  ] as const) {
    const latencies: number[] = []
    let next = 0
    const started = performance.now()
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < READS) {
          const row = rows[next++ % rows.length]!
          const t0 = performance.now()
          await read(row)
          latencies.push(performance.now() - t0)
        }
      }),
    )
    const seconds = (performance.now() - started) / 1000
    latencies.sort((a, b) => a - b)
    const p = (q: number) => latencies[Math.floor(q * (latencies.length - 1))]!.toFixed(2)
    console.log(
      `${label.padEnd(6)} ${Math.round(READS / seconds)} reads/s  p50 ${p(0.5)} ms  p95 ${p(0.95)} ms  p99 ${p(0.99)} ms`,
    )
  }
} finally {
  await sql.end()
  await admin.unsafe(`drop database if exists ${name} with (force)`)
  await admin.unsafe('drop role if exists rls_bench_app')
  await admin.end()
}
