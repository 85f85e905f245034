import { statement, type SqlRunner } from '../db/sql.js'
import { isLockUnavailable } from './database-errors.js'
import { isUuid } from '../domain/ids.js'
import type { Db } from './users.js'

export interface SessionRecord {
  id: string
  userId: string
  clientId: string
  scope: string
  createdAt: Date
  lastUsedAt: Date
  idleExpiresAt: Date
  absoluteExpiresAt: Date
  userAgent: string | null
  ip: string | null
  flaggedAt: Date | null
  revokedAt: Date | null
  revokedReason: string | null
}

export interface RevokedSession {
  id: string
  userId: string
}

/** A session as login starts it. */
export interface NewSession {
  userId: string
  clientId: string
  scope: string
  now: Date
  idleExpiresAt: Date
  absoluteExpiresAt: Date
  ip: string | null
  userAgent: string | null
}

const liveAt = (now: Date) => ({ revokedAt: null, idleExpiresAt: { gt: now }, absoluteExpiresAt: { gt: now } })

// $1 user, $2 client, $3 scope, $4 now, $5 idle expiry, $6 absolute expiry, $7 ip, $8 user agent,
// $9 refresh-token hash, $10 the most live sessions the user may already have.
const START_UNCONTENDED = statement(
  'start_uncontended_session',
  `WITH locked AS (
     SELECT id FROM users WHERE id = $1::uuid FOR UPDATE NOWAIT
   ), live AS (
     SELECT count(*) AS n FROM sessions
      WHERE user_id = $1::uuid AND revoked_at IS NULL
        AND idle_expires_at > $4::timestamptz AND absolute_expires_at > $4::timestamptz
   ), session AS (
     INSERT INTO sessions (user_id, client_id, scope, created_at, last_used_at, idle_expires_at, absolute_expires_at, ip, user_agent)
     SELECT locked.id, $2::text, $3::text, $4::timestamptz, $4::timestamptz, $5::timestamptz, $6::timestamptz, $7::text, $8::text
       FROM locked, live WHERE live.n <= $10::int
     RETURNING *
   ), token AS (
     INSERT INTO refresh_tokens (session_id, token_hash, created_at)
     SELECT id, $9::text, $4::timestamptz FROM session
   ), event AS (
     INSERT INTO security_events (user_id, session_id, type, at, ip, user_agent)
     SELECT user_id, id, 'login_succeeded', $4::timestamptz, ip, user_agent FROM session
   )
   SELECT id, user_id AS "userId", client_id AS "clientId", scope, created_at AS "createdAt",
          last_used_at AS "lastUsedAt", idle_expires_at AS "idleExpiresAt",
          absolute_expires_at AS "absoluteExpiresAt", user_agent AS "userAgent", ip,
          flagged_at AS "flaggedAt", revoked_at AS "revokedAt", revoked_reason AS "revokedReason"
     FROM session`,
)

/** `sql` runs the one-statement login outside any transaction (db/sql.ts); bound to a transaction, it refuses. */
export function createSessionsRepository(db: Db, sql: SqlRunner) {
  return {
    async create(input: NewSession): Promise<SessionRecord> {
      return db.session.create({
        data: {
          userId: input.userId,
          clientId: input.clientId,
          scope: input.scope,
          createdAt: input.now,
          lastUsedAt: input.now,
          idleExpiresAt: input.idleExpiresAt,
          absoluteExpiresAt: input.absoluteExpiresAt,
          ip: input.ip,
          userAgent: input.userAgent,
        },
      })
    },

    /**
     * The common login in one statement, one round trip and no explicit transaction: when the
     * user's row can be locked at once (no login or password change of the same user in flight)
     * and the user has at most `maxLiveBefore` live sessions, it inserts the session, its first
     * refresh token and the `login_succeeded` event. Null, with nothing written, otherwise: the
     * caller then starts the session in a transaction that waits for the lock and evicts.
     * The live count comes from the statement's snapshot, taken just before the lock: a login of
     * the same user committed in between is not counted, so callers leave a session of headroom.
     */
    async startUncontended(input: NewSession & { tokenHash: string; maxLiveBefore: number }): Promise<SessionRecord | null> {
      if (!isUuid(input.userId)) return null
      try {
        const rows = await sql<SessionRecord>(START_UNCONTENDED, [
          input.userId,
          input.clientId,
          input.scope,
          input.now.toISOString(),
          input.idleExpiresAt.toISOString(),
          input.absoluteExpiresAt.toISOString(),
          input.ip,
          input.userAgent,
          input.tokenHash,
          input.maxLiveBefore,
        ])
        return rows[0] ?? null
      } catch (error) {
        if (isLockUnavailable(error)) return null
        throw error
      }
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
