import { t } from 'elysia'

export const IdempotencyHeaders = t.Object({
  'idempotency-key': t.Optional(
    t.String({
      description:
        '1–255 printable ASCII characters. A repeat with the same key and body within 24 h replays the first ' +
        'answer (with `Idempotent-Replayed: true`); the same key with another body answers 409.',
    }),
  ),
})
