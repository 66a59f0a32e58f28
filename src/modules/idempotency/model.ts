import { t } from 'elysia'
import { IfMatch } from '../../shared/schemas'

const IdempotencyKey = t.Optional(
  t.String({
    description:
      '1–255 printable ASCII characters. A repeat with the same key and body within 24 h replays the first ' +
      'answer (with `Idempotent-Replayed: true`); the same key with another body answers 409.',
  }),
)

export const IdempotencyHeaders = t.Object({ 'idempotency-key': IdempotencyKey })
/** A state-changing POST on an existing resource: guarded by If-Match, made safe to retry by a key. */
export const ChangeHeaders = t.Object({ 'if-match': IfMatch, 'idempotency-key': IdempotencyKey })
