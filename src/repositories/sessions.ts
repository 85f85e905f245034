import { isUuid } from '../domain/ids.js'
import type { Session } from '../generated/prisma/client.js'
import type { Db } from './users.js'

/** A session row, as Prisma reads it. */
export type SessionRecord = Session

/**
 * Every field of SessionRecord and its column: raw SQL that returns sessions selects these, so a
 * column added to the model and not to a statement fails to compile here.
 */
export const SESSION_COLUMNS = {
  id: 'id',
  userId: 'user_id',
  clientId: 'client_id',
  scope: 'scope',
  kind: 'kind',
  signInSessionId: 'sign_in_session_id',
  audience: 'audience',
  createdAt: 'created_at',
  lastUsedAt: 'last_used_at',
  idleExpiresAt: 'idle_expires_at',
  idleExpiresBy: 'idle_expires_by',
  absoluteExpiresAt: 'absolute_expires_at',
  userAgent: 'user_agent',
  ip: 'ip',
  flaggedAt: 'flagged_at',
  revokedAt: 'revoked_at',
  revokedReason: 'revoked_reason',
  dpopJkt: 'dpop_jkt',
} as const satisfies Record<keyof SessionRecord, string>

export const SESSION_KINDS = ['tokens', 'sign_in'] as const
export type SessionKind = (typeof SESSION_KINDS)[number]

export interface RevokedSession {
  id: string
  userId: string
}

/** A session as login starts it. */
export interface NewSession {
  userId: string
  clientId: string
  scope: string
  /** `sign_in` for a browser's sign-in at the authorization endpoint; `tokens` by default. */
  kind?: SessionKind | undefined
  signInSessionId?: string | null | undefined
  audience?: string | null | undefined
  now: Date
  idleExpiresAt: Date
  absoluteExpiresAt: Date
  ip: string | null
  userAgent: string | null
  /** DPoP: the thumbprint of the key the session's refresh tokens are bound to. */
  dpopJkt?: string | null | undefined
}

const liveAt = (now: Date) => ({ revokedAt: null, idleExpiresAt: { gt: now }, absoluteExpiresAt: { gt: now } })

export function createSessionsRepository(db: Db) {
  return {
    async create(input: NewSession): Promise<SessionRecord> {
      return db.session.create({
        data: {
          userId: input.userId,
          clientId: input.clientId,
          scope: input.scope,
          kind: input.kind ?? 'tokens',
          signInSessionId: input.signInSessionId ?? null,
          audience: input.audience ?? null,
          createdAt: input.now,
          lastUsedAt: input.now,
          idleExpiresAt: input.idleExpiresAt,
          absoluteExpiresAt: input.absoluteExpiresAt,
          ip: input.ip,
          userAgent: input.userAgent,
          dpopJkt: input.dpopJkt ?? null,
        },
      })
    },

    async findById(id: string): Promise<SessionRecord | null> {
      if (!isUuid(id)) return null
      return db.session.findUnique({ where: { id } })
    },

    /** Live sessions (not revoked, not expired), newest first. */
    listLive(userId: string, now: Date): Promise<SessionRecord[]> {
      return db.session.findMany({ where: { userId, ...liveAt(now) }, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }] })
    },

    async touch(
      id: string,
      update: { now: Date; idleExpiresAt: Date; ip: string | null; userAgent: string | null; flag: boolean },
    ): Promise<void> {
      await db.session.update({
        where: { id },
        data: {
          lastUsedAt: update.now,
          idleExpiresAt: update.idleExpiresAt,
          ip: update.ip,
          userAgent: update.userAgent,
          ...(update.flag ? { flaggedAt: update.now } : {}),
        },
      })
    },

    /** Revokes the given sessions that are still live; returns those it revoked. */
    revoke(ids: readonly string[], reason: string, now: Date): Promise<RevokedSession[]> {
      const valid = ids.filter(isUuid)
      if (valid.length === 0) return Promise.resolve([])
      return db.session.updateManyAndReturn({
        where: { id: { in: valid }, ...liveAt(now) },
        data: { revokedAt: now, revokedReason: reason },
        select: { id: true, userId: true },
      })
    },

    /** Revokes a sign-in session and every live session started from it; returns those it revoked. */
    revokeSignIn(signInSessionId: string, reason: string, now: Date): Promise<RevokedSession[]> {
      if (!isUuid(signInSessionId)) return Promise.resolve([])
      return db.session.updateManyAndReturn({
        where: { OR: [{ id: signInSessionId }, { signInSessionId }], ...liveAt(now) },
        data: { revokedAt: now, revokedReason: reason },
        select: { id: true, userId: true },
      })
    },

    /** Revokes every live session of the user, except one when given; returns those it revoked. */
    revokeAllOfUser(userId: string, reason: string, now: Date, exceptId?: string): Promise<RevokedSession[]> {
      return db.session.updateManyAndReturn({
        where: { userId, ...liveAt(now), ...(exceptId ? { id: { not: exceptId } } : {}) },
        data: { revokedAt: now, revokedReason: reason },
        select: { id: true, userId: true },
      })
    },
  }
}

export type SessionsRepository = ReturnType<typeof createSessionsRepository>
