import { t } from 'elysia'
import { documentedAs, IfMatch } from '../../shared/schemas'

// Its format is checked in code (idempotency/service.ts), where the 400 names the header; the document states it.
const IdempotencyKey = t.Optional(
  documentedAs(
    t.String({
      description:
        '1–255 printable ASCII characters. A repeat with the same key and body within 24 h replays the first ' +
        'answer (with `Idempotent-Replayed: true`); the same key with another body answers 409.',
    }),
    { minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7E]+$' },
  ),
)

export const IdempotencyHeaders = t.Object({ 'idempotency-key': IdempotencyKey })
/** A state-changing POST on an existing resource: guarded by If-Match, made safe to retry by a key. */
export const ChangeHeaders = t.Object({ 'if-match': IfMatch, 'idempotency-key': IdempotencyKey })
