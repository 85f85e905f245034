import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../../config.js'
import { bearerError, ProblemError } from '../../errors.js'
import { createAccountStore } from '../../repositories/account-store.js'
import { createAccountService, type AccountService } from '../../services/accounts.js'
import type { Clock } from '../../services/access-tokens.js'
import { argon2Parameters, createPasswordHasher } from '../../services/password-hasher.js'
import { createSecurityEvents, type RequestContext, type SecurityEvents } from '../../services/security-events.js'
import { createSessionService, type SessionService } from '../../services/sessions.js'

declare module 'fastify' {
  interface FastifyInstance {
    accounts: AccountService
    /** Sessions and refresh tokens: login, rotation with reuse detection, revocation, introspection. */
    sessions: SessionService
    securityEvents: SecurityEvents
    /**
     * The time source of accounts and sessions. Tests replace it to walk through grace windows and
     * idle and absolute expiry without sleeping; nothing else should.
     */
    accountsClock: Clock
    /** preHandler after app.authenticate: 401 invalid_token unless the token is a user's and its session is live. */
    requireLiveSession: preHandlerAsyncHookHandler
    refreshCookie: RefreshCookie
  }
}

export const REFRESH_COOKIE_NAME = 'tollgate_refresh'
const REFRESH_COOKIE_PATH = '/v1/auth'

/**
 * The refresh token as an HttpOnly cookie scoped to /v1/auth, for browser clients that should
 * never hold it in script. A request authenticated by this cookie is a CSRF target, so it must
 * come from an allowed origin (ALLOWED_ORIGINS, or the issuer's own).
 */
function createRefreshCookie(config: Pick<Config, 'COOKIE_SECURE' | 'ALLOWED_ORIGINS' | 'ISSUER'>, clock: Clock) {
  const allowedOrigins = new Set([...config.ALLOWED_ORIGINS.map((origin) => origin.replace(/\/+$/, '')), new URL(config.ISSUER).origin])
  const attributes = { httpOnly: true, secure: config.COOKIE_SECURE, sameSite: 'strict', path: REFRESH_COOKIE_PATH } as const
  return {
    set(reply: FastifyReply, refreshToken: string, sessionExpiresAt: Date) {
      const maxAge = Math.max(0, Math.floor((sessionExpiresAt.getTime() - clock().getTime()) / 1000))
      reply.setCookie(REFRESH_COOKIE_NAME, refreshToken, { ...attributes, maxAge })
    },
    clear(reply: FastifyReply) {
      reply.clearCookie(REFRESH_COOKIE_NAME, attributes)
    },
    read(request: FastifyRequest): string | undefined {
      return request.cookies[REFRESH_COOKIE_NAME] || undefined
    },
    /** 403 forbidden_origin for a cookie-authenticated request from another site. */
    assertSameOrigin(request: FastifyRequest) {
      const origin = request.headers.origin
      const crossSite = origin !== undefined ? !allowedOrigins.has(origin) : request.headers['sec-fetch-site'] === 'cross-site'
      if (crossSite) throw new ProblemError('forbidden_origin', 'A request authenticated by the refresh cookie must come from an allowed origin')
    },
  }
}

export type RefreshCookie = ReturnType<typeof createRefreshCookie>

const USER_AGENT_MAX_LENGTH = 512

/** The caller's address and user agent, as sessions and security events record them. */
export function requestContext(request: FastifyRequest): RequestContext {
  const userAgent = request.headers['user-agent']
  return { ip: request.ip || null, userAgent: userAgent ? userAgent.slice(0, USER_AGENT_MAX_LENGTH) : null }
}

/** Wires the accounts' repositories into their services and decorates the app with them. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    app.decorate('accountsClock', () => new Date())
    const clock: Clock = () => app.accountsClock()

    const store = createAccountStore(app.db.prisma, app.db.sql)
    const hasher = createPasswordHasher(argon2Parameters(config))
    await hasher.warmUp()
    const events = createSecurityEvents({ store, registry: app.metrics.registry, clock })
    const sessions = createSessionService({
      store,
      events,
      accessTokens: app.accessTokens,
      rotationSecret: app.secret('refresh-token-rotation'),
      clock,
      config,
    })
    const accounts = createAccountService({ store, hasher, sessions, events, clock })

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
  { name: 'accounts', dependencies: ['database', 'keys', 'metrics', 'authentication', 'cookie'] },
)
