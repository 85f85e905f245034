import type { Static } from 'typebox'
import { expiresAt, isSessionLive } from '../../domain/sessions/session-rules.js'
import type { AccountStore } from '../../repositories/account-store.js'
import type { SessionSchema } from '../../routes/v1/auth/schemas.js'
import type { Clock } from '../access-tokens.js'

/** One session as GET /v1/auth/sessions serializes it: the route schema is its only description. */
export type SessionListItem = Static<typeof SessionSchema>

/** Reading sessions: whether one is live, and a user's live sessions. */
export function createListSessions(deps: { store: AccountStore; clock: Clock }) {
  const { store, clock } = deps
  return {
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
        bound: session.dpopJkt !== null,
      }))
    },
  }
}
