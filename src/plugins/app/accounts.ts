import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { bearerError } from '../../errors.js'
import { createRefreshCookie, type RefreshCookie } from '../../http/refresh-cookie.js'
import { createAccountStore, type AccountStore } from '../../repositories/account-store.js'
import { createAccountService, type AccountService } from '../../services/accounts.js'
import type { Clock } from '../../services/access-tokens.js'
import { withDeadline } from '../../services/deadline.js'
import { argon2Parameters, createPasswordHasher } from '../../services/password-hasher.js'
import { createSecurityEvents, type SecurityEvents } from '../../services/security-events.js'
import { createSessionService, type SessionService } from '../../services/sessions/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    accounts: AccountService
    /** The accounts' repositories and transactions, for the use cases other plugins build on them. */
    accountStore: AccountStore
    /** Sessions and refresh tokens: login, rotation with reuse detection, revocation, introspection. */
    sessions: SessionService
    securityEvents: SecurityEvents
    /** preHandler after app.authenticate: 401 invalid_token unless the token is a user's and its session is live. */
    requireLiveSession: preHandlerAsyncHookHandler
    refreshCookie: RefreshCookie
  }
}

/** Wires the accounts' repositories into their services and decorates the app with them. */
export default fp(
  async (app) => {
    const { config } = app
    const clock: Clock = () => app.clock()

    const store = createAccountStore(app.db.prisma, app.db.sql, {
      // Committed revocations apply to this instance's next request; a failed reload is only
      // late (the periodic reload and the other instances' notifications still come).
      afterSessionsRevoked: () =>
        app.revocations.sessionsRevoked().catch((error: unknown) => {
          app.log.warn({ err: error }, 'reloading the revocation lists after a revocation failed')
        }),
    })
    const hasher = createPasswordHasher(argon2Parameters(config))
    await hasher.warmUp()
    const events = createSecurityEvents({ store, registry: app.metrics.registry, clock })
    const service = createSessionService({
      store,
      events,
      accessTokens: app.accessTokens,
      rotationSecret: app.secret('refresh-token-rotation'),
      clock,
      config,
      dpop: app.dpop,
    })
    // A refresh answers within REFRESH_TIMEOUT_MS (at most half the grace window), 503 otherwise,
    // so that a client retrying a refresh whose reply was late or lost lands inside the window.
    const sessions: SessionService = {
      ...service,
      refresh: withDeadline(service.refresh, config.REFRESH_TIMEOUT_MS),
      refreshWithProof: withDeadline(service.refreshWithProof, config.REFRESH_TIMEOUT_MS),
    }
    const accounts = createAccountService({ store, hasher, sessions, events, clock, attempts: app.accountAttempts, dpop: app.dpop })

    app.decorate('accountStore', store)
    app.decorate('securityEvents', events)
    app.decorate('sessions', sessions)
    app.decorate('accounts', accounts)
    app.decorate('refreshCookie', createRefreshCookie(config, clock))

    app.decorate('requireLiveSession', async function requireLiveSession(request: FastifyRequest) {
      const sessionId = request.identity?.sessionId
      if (!sessionId || !(await sessions.isSessionActive(sessionId))) {
        throw bearerError('invalid_token', 'The session of this access token has ended')
      }
    })
  },
  { name: 'accounts', dependencies: ['database', 'keys', 'metrics', 'authentication', 'cookie', 'rate-limit'] },
)
