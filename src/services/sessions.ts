import type { Config } from '../config.js'
import {
  bindingOutcome,
  expiresAt,
  extendedIdleExpiry,
  initialExpiry,
  isSessionLive,
  sessionsToEvict,
} from '../domain/sessions/session-rules.js'
import { formatScope, parseScope } from '../domain/tokens/access-token.js'
import {
  decideRotation,
  generateRefreshToken,
  hashRefreshToken,
  isWellFormedRefreshToken,
  successorOf,
} from '../domain/tokens/refresh-token.js'
import { ProblemError } from '../errors.js'
import type { AccountStore, AccountTransaction } from '../repositories/account-store.js'
import type { TokenWithSession } from '../repositories/refresh-tokens.js'
import type { AccessTokenIssuer, Clock } from './access-tokens.js'
import type { RequestContext, SecurityEventWriter } from './security-events.js'

/** What a login or a refresh hands out. */
export interface TokenGrant {
  accessToken: string
  expiresIn: number
  refreshToken: string
  scope: string
  sessionId: string
  /** The session's absolute expiry: no refresh token of it is worth keeping past this. */
  sessionExpiresAt: Date
}

export interface RefreshTokenIntrospection {
  iss: string
  sub: string
  client_id: string
  scope: string
  exp: number
  iat: number
  sid: string
}

export interface SessionListItem {
  id: string
  current: boolean
  createdAt: string
  lastUsedAt: string
  expiresAt: string
  userAgent: string | null
  ip: string | null
  flagged: boolean
}

/** The caller's address and user agent, when known. */
export interface ClientContext {
  ip?: string | null | undefined
  userAgent?: string | null | undefined
}

function contextOf(input: ClientContext): RequestContext {
  return { ip: input.ip ?? null, userAgent: input.userAgent ?? null }
}

/** Why a session was revoked, as its security event and revoked_reason say. */
export type RevocationReason =
  | 'logout'
  | 'revoked_by_user'
  | 'password_changed'
  | 'evicted'
  | 'refresh_token_reused'
  | 'binding_mismatch'
  | (string & {})

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

/** How many rotations a replay may follow to reach the live token (see refresh()). */
const MAX_CHAIN = 32

function invalidGrant(): ProblemError {
  return new ProblemError('invalid_grant', 'The refresh token is invalid, expired or revoked')
}

type RefreshOutcome = { ok: true; row: TokenWithSession; refreshToken: string } | { ok: false }

/**
 * Sessions (refresh-token families): starting one at login, rotating its refresh token with reuse
 * detection, listing and revoking. Each state change and the security events that report it are
 * one transaction.
 */
export function createSessionService(deps: {
  store: AccountStore
  events: SecurityEventWriter
  accessTokens: AccessTokenIssuer
  /** app.secret('refresh-token-rotation'): keys the derivation of successors. */
  rotationSecret: Buffer
  clock: Clock
  config: SessionServiceConfig
}) {
  const { store, events, config, clock } = deps
  const lifetimes = { idleSeconds: config.SESSION_IDLE_TTL_SECONDS, absoluteSeconds: config.SESSION_ABSOLUTE_TTL_SECONDS }

  async function revokeAndRecord(
    tx: AccountTransaction,
    revoked: readonly { id: string; userId: string }[],
    reason: RevocationReason,
    context: RequestContext,
  ): Promise<number> {
    for (const session of revoked) {
      await events.record(tx, { type: 'session_revoked', userId: session.userId, sessionId: session.id, ...context, details: { reason } })
    }
    return revoked.length
  }

  async function grant(
    row: Pick<TokenWithSession, 'userId' | 'clientId' | 'scope' | 'sessionId' | 'absoluteExpiresAt'>,
    refreshToken: string,
  ): Promise<TokenGrant> {
    const issued = await deps.accessTokens.issue({
      subject: row.userId,
      clientId: row.clientId,
      scopes: parseScope(row.scope),
      sessionId: row.sessionId,
    })
    return {
      accessToken: issued.token,
      expiresIn: issued.expiresIn,
      refreshToken,
      scope: issued.claims.scope,
      sessionId: row.sessionId,
      sessionExpiresAt: row.absoluteExpiresAt,
    }
  }

  /**
   * The live token of a family for a replay of `presented` inside its grace window: normally the
   * successor the first rotation handed out. If that successor has itself been rotated since
   * (a second refresh inside the window), the chain is followed, every link being derivable, so a
   * late tab gets the family's current token instead of one that is already spent and would set
   * off reuse detection a moment later. No token is created either way.
   */
  async function liveDescendant(tx: AccountTransaction, presented: string, sessionId: string): Promise<string | null> {
    let candidate = successorOf(presented, deps.rotationSecret)
    for (let step = 0; step < MAX_CHAIN; step++) {
      const row = await tx.refreshTokens.findByHash(hashRefreshToken(candidate))
      if (!row || row.sessionId !== sessionId) return null
      if (!row.rotatedAt) return candidate
      candidate = successorOf(candidate, deps.rotationSecret)
    }
    return null
  }

  const service = {
    /** Starts a session for a user who just proved who they are (the login). */
    async start(input: { userId: string } & ClientContext): Promise<TokenGrant> {
      const now = clock()
      const context = contextOf(input)
      const refreshToken = generateRefreshToken()
      const expiry = initialExpiry(now, lifetimes)
      const fields = { userId: input.userId, clientId: config.FIRST_PARTY_CLIENT_ID, scope: formatScope(config.DEFAULT_SCOPES), now, ...expiry, ...context }
      const tokenHash = hashRefreshToken(refreshToken)
      // Most logins find the user's row free and room for one more session: one statement. Two
      // sessions of headroom, because that statement may miss a login of the same user that
      // commits while it starts (see startUncontended); the transaction below counts exactly.
      const uncontended = await store.sessions.startUncontended({ ...fields, tokenHash, maxLiveBefore: config.MAX_SESSIONS_PER_USER - 2 })
      if (uncontended) {
        events.count('login_succeeded')
        return grant({ ...uncontended, sessionId: uncontended.id }, refreshToken)
      }
      const session = await store.transaction(async (tx) => {
        await tx.users.lock(input.userId)
        const live = await tx.sessions.listLive(input.userId, now)
        const evict = sessionsToEvict(live, config.MAX_SESSIONS_PER_USER).map((s) => s.id)
        await revokeAndRecord(tx, await tx.sessions.revoke(evict, 'evicted', now), 'evicted', context)
        const created = await tx.sessions.create(fields)
        await tx.refreshTokens.insert({ sessionId: created.id, tokenHash, now })
        await events.record(tx, { type: 'login_succeeded', userId: input.userId, sessionId: created.id, ...context })
        return created
      })
      return grant({ ...session, sessionId: session.id }, refreshToken)
    },

    /**
     * Exchanges a refresh token for a new access token and the family's next refresh token.
     * Throws ProblemError('invalid_grant') on any failure, including a detected reuse (whose
     * revocation has committed by then). With `clientId`, the session must belong to that client.
     */
    async refresh(input: { refreshToken: string; clientId?: string | undefined } & ClientContext): Promise<TokenGrant> {
      if (!isWellFormedRefreshToken(input.refreshToken)) throw invalidGrant()
      const now = clock()
      const context = contextOf(input)
      const presentedHash = hashRefreshToken(input.refreshToken)
      const successor = successorOf(input.refreshToken, deps.rotationSecret)

      // The common case (a first rotation of a live token, from where the session was last seen)
      // needs no decision beyond what one statement can check; everything else is decided below.
      const rotated = await store.refreshTokens.rotateLive({
        tokenHash: presentedHash,
        successorHash: hashRefreshToken(successor),
        clientId: input.clientId ?? null,
        now,
        idleExpiresAt: new Date(now.getTime() + config.SESSION_IDLE_TTL_SECONDS * 1000),
        ...context,
      })
      if (rotated) return grant(rotated, successor)

      const outcome = await store.transaction(async (tx): Promise<RefreshOutcome> => {
        const row = await tx.refreshTokens.lockWithSession(presentedHash)
        const decision = decideRotation({ token: row, session: row, clientId: input.clientId, now, graceSeconds: config.REFRESH_GRACE_SECONDS })
        if (!row || decision.action === 'invalid') return { ok: false }
        const subject = { userId: row.userId, sessionId: row.sessionId }

        if (decision.action === 'reuse_detected') {
          const revoked =
            config.REUSE_REVOKES === 'user'
              ? await tx.sessions.revokeAllOfUser(row.userId, 'refresh_token_reused', now)
              : await tx.sessions.revoke([row.sessionId], 'refresh_token_reused', now)
          await revokeAndRecord(tx, revoked, 'refresh_token_reused', context)
          await events.record(tx, {
            type: 'refresh_token_reused',
            ...subject,
            ...context,
            details: { kind: 'stale', rotatedAt: row.rotatedAt?.toISOString(), graceSeconds: config.REFRESH_GRACE_SECONDS, revoked: config.REUSE_REVOKES },
          })
          return { ok: false }
        }

        const binding = bindingOutcome(config.SESSION_BINDING, row, context)
        if (binding !== 'ok') {
          await events.record(tx, { type: 'session_flagged', ...subject, ...context, details: { mode: config.SESSION_BINDING } })
        }
        if (binding === 'revoke') {
          await revokeAndRecord(tx, await tx.sessions.revoke([row.sessionId], 'binding_mismatch', now), 'binding_mismatch', context)
          return { ok: false }
        }

        let refreshToken: string | null
        if (decision.action === 'rotate') {
          refreshToken = successor
          if (!(await tx.refreshTokens.markRotated(row.tokenId, now))) return { ok: false }
          await tx.refreshTokens.insert({ sessionId: row.sessionId, tokenHash: hashRefreshToken(refreshToken), now })
        } else {
          refreshToken = await liveDescendant(tx, input.refreshToken, row.sessionId)
          if (!refreshToken) return { ok: false }
          await events.record(tx, {
            type: 'refresh_token_reused',
            ...subject,
            ...context,
            details: { kind: 'replay_within_grace', rotatedAt: row.rotatedAt?.toISOString(), graceSeconds: config.REFRESH_GRACE_SECONDS },
          })
        }
        await tx.sessions.touch(row.sessionId, {
          now,
          idleExpiresAt: extendedIdleExpiry(now, config.SESSION_IDLE_TTL_SECONDS, row.absoluteExpiresAt),
          ...context,
          flag: binding === 'flag',
        })
        return { ok: true, row, refreshToken }
      })

      if (!outcome.ok) throw invalidGrant()
      return grant(outcome.row, outcome.refreshToken)
    },

    /** Revokes the session of a refresh token (any of its family, rotated or not). False for an unknown token. */
    async revokeByRefreshToken(refreshToken: string, reason: RevocationReason, context: ClientContext = {}): Promise<boolean> {
      if (!isWellFormedRefreshToken(refreshToken)) return false
      const token = await store.refreshTokens.findByHash(hashRefreshToken(refreshToken))
      if (!token) return false
      await service.revokeSession(token.sessionId, reason, context)
      return true
    },

    /** RFC 7662 fields for a refresh token that would be accepted now; null otherwise. No side effects. */
    async introspectRefreshToken(refreshToken: string): Promise<RefreshTokenIntrospection | null> {
      if (!isWellFormedRefreshToken(refreshToken)) return null
      const row = await store.refreshTokens.findWithSession(hashRefreshToken(refreshToken))
      const decision = decideRotation({ token: row, session: row, now: clock(), graceSeconds: config.REFRESH_GRACE_SECONDS })
      if (!row || (decision.action !== 'rotate' && decision.action !== 'replay_within_grace')) return null
      return {
        iss: config.ISSUER,
        sub: row.userId,
        client_id: row.clientId,
        scope: row.scope,
        exp: Math.floor(expiresAt(row).getTime() / 1000),
        iat: Math.floor(row.tokenCreatedAt.getTime() / 1000),
        sid: row.sessionId,
      }
    },

    /** Revokes a live session; false when it was unknown, already revoked or expired. */
    async revokeSession(sessionId: string, reason: RevocationReason, context: ClientContext = {}): Promise<boolean> {
      const now = clock()
      const count = await store.transaction(async (tx) => revokeAndRecord(tx, await tx.sessions.revoke([sessionId], reason, now), reason, contextOf(context)))
      return count > 0
    },

    async isSessionActive(sessionId: string): Promise<boolean> {
      const session = await store.sessions.findById(sessionId)
      return session !== null && isSessionLive(session, clock())
    },

    /** The user's live sessions, newest first; `current` marks the one the caller's token belongs to. */
    async list(userId: string, currentSessionId: string | undefined): Promise<SessionListItem[]> {
      const sessions = await store.sessions.listLive(userId, clock())
      return sessions.map((session) => ({
        id: session.id,
        current: session.id === currentSessionId,
        createdAt: session.createdAt.toISOString(),
        lastUsedAt: session.lastUsedAt.toISOString(),
        expiresAt: expiresAt(session).toISOString(),
        userAgent: session.userAgent,
        ip: session.ip,
        flagged: session.flaggedAt !== null,
      }))
    },

    /** Revokes one of the user's own live sessions; false (a 404 to the caller) for anything else. */
    async revokeOwn(userId: string, sessionId: string, context: RequestContext): Promise<boolean> {
      const session = await store.sessions.findById(sessionId)
      if (!session || session.userId !== userId) return false
      return service.revokeSession(sessionId, 'revoked_by_user', context)
    },

    /** Revokes every live session of the user but one; returns how many it revoked. */
    async revokeOthers(userId: string, keepSessionId: string | undefined, reason: RevocationReason, context: RequestContext): Promise<number> {
      const now = clock()
      return store.transaction(async (tx) => revokeAndRecord(tx, await tx.sessions.revokeAllOfUser(userId, reason, now, keepSessionId), reason, context))
    },

    /** revokeOthers, inside a caller's transaction (the password change). */
    async revokeOthersIn(
      tx: AccountTransaction,
      userId: string,
      keepSessionId: string | undefined,
      reason: RevocationReason,
      context: RequestContext,
    ): Promise<number> {
      return revokeAndRecord(tx, await tx.sessions.revokeAllOfUser(userId, reason, clock(), keepSessionId), reason, context)
    },
  }
  return service
}

export type SessionService = ReturnType<typeof createSessionService>
