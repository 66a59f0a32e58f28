/**
 * A process that claims an Idempotency-Key as the API does (an uncommitted row in an open transaction) and
 * then hangs, for a test to kill it with SIGKILL as a crashed server would be killed.
 *   bun tests/helpers/claim-holder.ts <database url> <user id> <key>
 */
import postgres from 'postgres'

const [url, userId, key] = process.argv.slice(2)
const sql = postgres(url!, { max: 1, onnotice: () => {} })
await sql.begin(async (trx) => {
  await trx`insert into idempotency_keys (user_id, key, request_hash, state)
            values (${userId!}, ${key!}, 'unknown', 'in_progress')`
  console.log('claimed')
  await new Promise(() => {})
})
