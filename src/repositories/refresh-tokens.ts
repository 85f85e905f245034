import { statement, type SqlRunner } from '../db/sql.js'
import { isTransientConflict } from './database-errors.js'
import type { Db } from './users.js'

/** A refresh-token row joined with its session, as rotation needs it. */
export interface TokenWithSession {
  tokenId: string
  tokenCreatedAt: Date
  rotatedAt: Date | null
  sessionId: string
  userId: string
  clientId: string
  scope: string
  createdAt: Date
  idleExpiresAt: Date
  absoluteExpiresAt: Date
  revokedAt: Date | null
  ip: string | null
  userAgent: string | null
  flaggedAt: Date | null
}

/** What a one-statement rotation returns: the session, as the new access token needs it. */
export interface RotatedSession {
  sessionId: string
  userId: string
  clientId: string
  scope: string
  absoluteExpiresAt: Date
}

// $1 presented hash, $2 successor hash, $3 client id or null, $4 now, $5 new idle expiry, $6 ip, $7 user agent.
const ROTATE_LIVE = statement(
  'rotate_live_refresh_token',
  `WITH presented AS (
     SELECT rt.id AS token_id, s.id AS session_id
       FROM refresh_tokens rt
       JOIN sessions s ON s.id = rt.session_id
      WHERE rt.token_hash = $1::text
        AND rt.rotated_at IS NULL
        AND s.revoked_at IS NULL
        AND s.idle_expires_at > $4::timestamptz
        AND s.absolute_expires_at > $4::timestamptz
        AND ($3::text IS NULL OR s.client_id = $3::text)
        AND s.ip IS NOT DISTINCT FROM $6::text
        AND s.user_agent IS NOT DISTINCT FROM $7::text
        FOR UPDATE OF rt, s
   ), rotated AS (
     UPDATE refresh_tokens SET rotated_at = $4::timestamptz
       FROM presented WHERE refresh_tokens.id = presented.token_id
     RETURNING presented.session_id
   ), successor AS (
     INSERT INTO refresh_tokens (session_id, token_hash, created_at)
     SELECT session_id, $2::text, $4::timestamptz FROM rotated
   )
   UPDATE sessions s
      SET last_used_at = $4::timestamptz,
          idle_expires_at = LEAST($5::timestamptz, s.absolute_expires_at)
     FROM rotated
    WHERE s.id = rotated.session_id
   RETURNING s.id AS "sessionId", s.user_id AS "userId", s.client_id AS "clientId", s.scope,
             s.absolute_expires_at AS "absoluteExpiresAt"`,
)

/** `sql` runs the one-statement rotation outside any transaction (db/sql.ts); bound to a transaction, it refuses. */
export function createRefreshTokensRepository(db: Db, sql: SqlRunner) {
  return {
    async insert(input: { sessionId: string; tokenHash: string; now: Date }): Promise<void> {
      await db.refreshToken.create({ data: { sessionId: input.sessionId, tokenHash: input.tokenHash, createdAt: input.now } })
    },

    /**
     * The token and its session, both row-locked until the transaction ends: concurrent refreshes of
     * one token (or of one family) queue here, and each sees what the one before it committed.
     * Both rows are locked because under READ COMMITTED a waiter re-reads only the rows it locks.
     */
    async lockWithSession(tokenHash: string): Promise<TokenWithSession | null> {
      const rows = await db.$queryRaw<TokenWithSession[]>`
        SELECT rt.id AS "tokenId", rt.created_at AS "tokenCreatedAt", rt.rotated_at AS "rotatedAt",
               s.id AS "sessionId", s.user_id AS "userId", s.client_id AS "clientId", s.scope,
               s.created_at AS "createdAt", s.idle_expires_at AS "idleExpiresAt",
               s.absolute_expires_at AS "absoluteExpiresAt", s.revoked_at AS "revokedAt",
               s.ip, s.user_agent AS "userAgent", s.flagged_at AS "flaggedAt"
          FROM refresh_tokens rt
          JOIN sessions s ON s.id = rt.session_id
         WHERE rt.token_hash = ${tokenHash}
           FOR UPDATE OF rt, s`
      return rows[0] ?? null
    },

    /** The same, without locks, for reads (introspection, revocation lookups). */
    async findWithSession(tokenHash: string): Promise<TokenWithSession | null> {
      const row = await db.refreshToken.findUnique({ where: { tokenHash }, include: { session: true } })
      if (!row) return null
      const { session } = row
      return {
        tokenId: row.id,
        tokenCreatedAt: row.createdAt,
        rotatedAt: row.rotatedAt,
        sessionId: session.id,
        userId: session.userId,
        clientId: session.clientId,
        scope: session.scope,
        createdAt: session.createdAt,
        idleExpiresAt: session.idleExpiresAt,
        absoluteExpiresAt: session.absoluteExpiresAt,
        revokedAt: session.revokedAt,
        ip: session.ip,
        userAgent: session.userAgent,
        flaggedAt: session.flaggedAt,
      }
    },

    async findByHash(tokenHash: string): Promise<{ id: string; sessionId: string; rotatedAt: Date | null } | null> {
      return db.refreshToken.findUnique({ where: { tokenHash }, select: { id: true, sessionId: true, rotatedAt: true } })
    },

    /**
     * The common rotation in one statement, one round trip and no explicit transaction: the
     * presented token is live and not yet rotated, its session is live (for `clientId`, when
     * given) and last seen from this very IP and user agent. It locks both rows, marks the token
     * rotated, inserts the successor and extends the session's idle expiry (never past the
     * absolute one). Null, with nothing written, whenever any condition fails or a concurrent
     * rotation holds the rows: the caller then decides on the locked rows in a transaction.
     * A rotation waiting here behind another of the same token re-reads the token once that one
     * commits, sees it rotated and returns null; by then the successor is committed too.
     */
    async rotateLive(input: {
      tokenHash: string
      successorHash: string
      clientId: string | null
      now: Date
      /** now + the idle lifetime; the statement caps it at the session's absolute expiry. */
      idleExpiresAt: Date
      ip: string | null
      userAgent: string | null
    }): Promise<RotatedSession | null> {
      try {
        const rows = await sql<RotatedSession>(ROTATE_LIVE, [
          input.tokenHash,
          input.successorHash,
          input.clientId,
          input.now.toISOString(),
          input.idleExpiresAt.toISOString(),
          input.ip,
          input.userAgent,
        ])
        return rows[0] ?? null
      } catch (error) {
        if (isTransientConflict(error)) return null
        throw error
      }
    },

    /** Marks the token rotated unless it already is; false when another rotation got there first. */
    async markRotated(id: string, now: Date): Promise<boolean> {
      const { count } = await db.refreshToken.updateMany({ where: { id, rotatedAt: null }, data: { rotatedAt: now } })
      return count === 1
    },
  }
}

export type RefreshTokensRepository = ReturnType<typeof createRefreshTokensRepository>
