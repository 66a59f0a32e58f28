import { Elysia } from 'elysia'
import type { Database } from '../../lib/db'
import type { AuthPlugin } from '../../plugins/auth'
import { authErrors } from '../../shared/schemas'
import { Me } from './model'
import { getMe } from './service'

export function meModule(deps: { db: Database; auth: AuthPlugin }) {
  return new Elysia({ name: 'me', prefix: '/api/v1/me', detail: { tags: ['Profile'] } })
    .use(deps.auth)
    .get('', ({ user }) => getMe(deps.db, user.id), {
      response: { 200: Me, ...authErrors },
      detail: { summary: 'The signed-in user and their business profile' },
    })
}
