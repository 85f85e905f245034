import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import type { AdminScope } from '../../domain/admin/admin.js'
import { bearerError } from '../../errors.js'
import { createAccountStore } from '../../repositories/account-store.js'
import { createAdminService, type AdminService } from '../../services/admin.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Operator actions on accounts and sessions (the admin API; the CLI builds the same service). */
    admin: AdminService
    /**
     * preHandler after app.authenticate: the token must be a client's own (client_credentials: no
     * session, the client as subject), of a client that still exists, carrying `scope`.
     */
    requireAdmin(scope: AdminScope): preHandlerAsyncHookHandler
  }
}

export default fp(
  async (app) => {
    const { config } = app
    app.decorate(
      'admin',
      createAdminService({
        store: createAccountStore(app.db.prisma, app.db.sql),
        sessions: app.sessions,
        events: app.securityEvents,
        revocations: app.revocations,
        clock: () => app.clock(),
      }),
    )

    app.decorate('requireAdmin', (scope: AdminScope) => {
      return async function requireAdmin(request: FastifyRequest) {
        const identity = request.identity
        const claims = identity?.claims
        // A user's token never reaches the admin API, whatever scopes it was given: only a client
        // acting as itself does.
        const clientToken = claims !== undefined && claims.sid === undefined && claims.sub === claims.client_id && claims.client_id !== config.FIRST_PARTY_CLIENT_ID
        if (!clientToken || !identity!.scopes.includes(scope)) {
          throw bearerError('insufficient_scope', `This request needs a client_credentials token with the scope ${scope}`, scope)
        }
        // Deleting a client takes its admin rights away within OAUTH_CLIENT_CACHE_SECONDS, not when its tokens expire.
        if (!(await app.oauth.clients.isActive(claims.client_id))) throw bearerError('invalid_token', 'The client of this access token was deleted')
      }
    })
  },
  { name: 'admin', dependencies: ['database', 'keys', 'authentication', 'accounts', 'oauth'] },
)
