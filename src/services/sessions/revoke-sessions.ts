import { hashRefreshToken, isWellFormedRefreshToken } from '../../domain/tokens/refresh-token.js'
import type { AccountStore, AccountTransaction } from '../../repositories/account-store.js'
import type { Clock } from '../access-tokens.js'
import type { RequestContext, SecurityEventWriter } from '../security-events.js'

/** Why a session was revoked, as its security event and revoked_reason say. */
export type RevocationReason =
  | 'logout'
  | 'revoked_by_user'
  | 'password_changed'
  | 'evicted'
  | 'refresh_token_reused'
  | 'binding_mismatch'
  | 'revoked_by_admin'
  | 'user_disabled'
  | (string & {})

/** The caller's address and user agent, when known. */
export interface ClientContext {
  ip?: string | null | undefined
  userAgent?: string | null | undefined
}

export function contextOf(input: ClientContext): RequestContext {
  return { ip: input.ip ?? null, userAgent: input.userAgent ?? null }
}

/** Records a `session_revoked` event for each session a revocation ended, in the revocation's transaction. */
export async function recordRevoked(
  events: SecurityEventWriter,
  tx: AccountTransaction,
  revoked: readonly { id: string; userId: string }[],
  reason: RevocationReason,
  context: RequestContext,
  details: Record<string, unknown> = {},
): Promise<number> {
  for (const session of revoked) {
    await events.record(tx, { type: 'session_revoked', userId: session.userId, sessionId: session.id, ...context, details: { reason, ...details } })
  }
  return revoked.length
}

/**
 * Ending sessions: one, the one of a refresh token, one of the user's own, or all of a user's but
 * one. Each revocation and its events are one transaction; only live sessions are revoked.
 */
export function createRevokeSessions(deps: { store: AccountStore; events: SecurityEventWriter; clock: Clock }) {
  const { store, events, clock } = deps

  const revoke = {
    /** Revokes a live session; false when it was unknown, already revoked or expired. `details` go on its event (an operator's actor). */
    async revokeSession(sessionId: string, reason: RevocationReason, context: ClientContext = {}, details?: Record<string, unknown>): Promise<boolean> {
      const now = clock()
      const count = await store.transaction(async (tx) =>
        recordRevoked(events, tx, await tx.sessions.revoke([sessionId], reason, now), reason, contextOf(context), details),
      )
      return count > 0
    },

    /** Revokes the session of a refresh token (any of its family, rotated or not). False for an unknown token. */
    async revokeByRefreshToken(refreshToken: string, reason: RevocationReason, context: ClientContext = {}): Promise<boolean> {
      if (!isWellFormedRefreshToken(refreshToken)) return false
      const token = await store.refreshTokens.findByHash(hashRefreshToken(refreshToken))
      if (!token) return false
      await revoke.revokeSession(token.sessionId, reason, context)
      return true
    },

    /** Revokes one of the user's own live sessions; false (a 404 to the caller) for anything else. */
    async revokeOwn(userId: string, sessionId: string, context: RequestContext): Promise<boolean> {
      const session = await store.sessions.findById(sessionId)
      if (!session || session.userId !== userId) return false
      return revoke.revokeSession(sessionId, 'revoked_by_user', context)
    },

    /** Revokes every live session of the user but one; returns how many it revoked. */
    async revokeOthers(
      userId: string,
      keepSessionId: string | undefined,
      reason: RevocationReason,
      context: RequestContext,
      details?: Record<string, unknown>,
    ): Promise<number> {
      return store.transaction((tx) => revoke.revokeOthersIn(tx, userId, keepSessionId, reason, context, details))
    },

    /** revokeOthers, inside a caller's transaction (the password change, disabling a user). */
    async revokeOthersIn(
      tx: AccountTransaction,
      userId: string,
      keepSessionId: string | undefined,
      reason: RevocationReason,
      context: RequestContext,
      details?: Record<string, unknown>,
    ): Promise<number> {
      return recordRevoked(events, tx, await tx.sessions.revokeAllOfUser(userId, reason, clock(), keepSessionId), reason, context, details)
    },
  }
  return revoke
}

export type RevokeSessions = ReturnType<typeof createRevokeSessions>
