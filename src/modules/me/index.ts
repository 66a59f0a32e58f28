import { Elysia } from 'elysia'
import type { Database } from '../../lib/db'
import type { AuthPlugin } from '../../plugins/auth'
import { etagFor } from '../../shared/etag'
import { IfMatchHeaders, sends } from '../../shared/schemas'
import { Me, ProfilePatch } from './model'
import { getMe, updateProfile } from './service'

export function meModule(deps: { db: Database; auth: AuthPlugin }) {
  return new Elysia({ name: 'me', prefix: '/api/v1/me', detail: { tags: ['Profile'] } })
    .use(deps.auth)
    .get(
      '',
      async ({ user, set }) => {
        const { version, ...me } = await getMe(deps.db, user.id)
        set.headers.etag = etagFor('me', me.id, version)
        return me
      },
      {
        response: { 200: sends(Me, 'ETag') },
        detail: {
          operationId: 'getMe',
          summary: 'The signed-in user and their business profile',
          description:
            "The user is the token's subject, created on first sight with the default profile. Carries an `ETag` " +
            'for `If-Match` on update.',
        },
      },
    )
    .patch(
      '',
      async ({ user, body, headers, set }) => {
        const { version, ...me } = await deps.db
          .transaction()
          .execute((trx) => updateProfile(trx, user.id, body, headers['if-match'] ?? null))
        set.headers.etag = etagFor('me', me.id, version)
        return me
      },
      {
        body: ProfilePatch,
        parse: 'json',
        headers: IfMatchHeaders,
        response: { 200: sends(Me, 'ETag') },
        detail: {
          operationId: 'updateProfile',
          summary: 'Update the business profile',
          description:
            'Fields at the top level; an `address` replaces the stored one. `nextInvoiceNumber` may be raised, ' +
            'never lowered to a number already issued. Send `If-Match` with the ETag to guard against lost updates.',
        },
      },
    )
}
