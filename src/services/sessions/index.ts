import type { Config } from '../../config.js'
import type { DpopPresentation } from '../../domain/dpop/proof.js'
import type { DpopService } from '../dpop.js'
import type { AccountStore } from '../../repositories/account-store.js'
import type { AccessTokenIssuer, Clock } from '../access-tokens.js'
import type { SecurityEventWriter } from '../security-events.js'
import { createIntrospectRefreshToken } from './introspect-refresh-token.js'
import { createListSessions } from './list-sessions.js'
import { contextOf, createRevokeSessions, recordRevoked, type ClientContext } from './revoke-sessions.js'
import { createRotateRefreshToken } from './rotate-refresh-token.js'
import { createGrantIssuer } from './session-grant.js'
import { createStartSession, createStartSignIn } from './start-session.js'
import { createStartFromCode } from './start-from-code.js'
import { createUseSignIn } from './use-sign-in.js'

export type { RefreshTokenIntrospection } from './introspect-refresh-token.js'
export type { SessionListItem } from './list-sessions.js'
export type { ClientContext, RevocationReason } from './revoke-sessions.js'
export type { TokenGrant } from './session-grant.js'

export type SessionServiceConfig = Pick<
  Config,
  | 'ISSUER'
  | 'FIRST_PARTY_CLIENT_ID'
  | 'DEFAULT_SCOPES'
  | 'REFRESH_GRACE_SECONDS'
  | 'SESSION_IDLE_TTL_SECONDS'
  | 'SESSION_ABSOLUTE_TTL_SECONDS'
  | 'MAX_SESSIONS_PER_USER'
  | 'REUSE_REVOKES'
  | 'SESSION_BINDING'
>

/**
 * Sessions (refresh-token families), one module per use case: start (login), rotate (refresh),
 * revoke, list, and refresh-token introspection. Each state change and the security events that
 * report it are one transaction.
 */
export function createSessionService(deps: {
  store: AccountStore
  events: SecurityEventWriter
  accessTokens: Pick<AccessTokenIssuer, 'issue'>
  /** app.secret('refresh-token-rotation'): keys the derivation of successors. */
  rotationSecret: Buffer
  clock: Clock
  config: SessionServiceConfig
  /** DPoP proofs of refreshes at /v1/auth/refresh (RFC 9449). */
  dpop?: Pick<DpopService, 'check'> | undefined
}) {
  const { store, events, clock, config } = deps
  const grant = createGrantIssuer(deps.accessTokens)
  const refresh = createRotateRefreshToken({ store, events, grant, rotationSecret: deps.rotationSecret, clock, config })
  return {
    start: createStartSession({ store, events, grant, clock, config }),
    startSignIn: createStartSignIn({ store, events, clock, config }),
    useSignIn: createUseSignIn({ store, events, clock, config }),
    startFromCode: createStartFromCode({ store, events, grant, clock, config }),
    /** RP-initiated logout: a sign-in session and every session started from it. */
    async endSignIn(signInSessionId: string, context: ClientContext = {}): Promise<number> {
      const now = clock()
      return store.transaction(async (tx) =>
        recordRevoked(events, tx, await tx.sessions.revokeSignIn(signInSessionId, 'logout', now), 'logout', contextOf(context)),
      )
    },
    refresh,
    /** /v1/auth/refresh: the request's DPoP proof checked, then the rotation with its key. */
    async refreshWithProof(input: Parameters<typeof refresh>[0] & { dpop: DpopPresentation }) {
      const proof = await deps.dpop?.check(input.dpop)
      return refresh({ refreshToken: input.refreshToken, clientId: input.clientId, ip: input.ip, userAgent: input.userAgent, dpopJkt: proof?.jkt })
    },
    introspectRefreshToken: createIntrospectRefreshToken({ store, clock, config }),
    ...createRevokeSessions({ store, events, clock }),
    ...createListSessions({ store, clock }),
  }
}

export type SessionService = ReturnType<typeof createSessionService>
