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
  audience: string | null
  createdAt: Date
  idleExpiresAt: Date
  absoluteExpiresAt: Date
  revokedAt: Date | null
  ip: string | null
  userAgent: string | null
  flaggedAt: Date | null
  /** DPoP: the key the session's refresh tokens are bound to, null when unbound. */
  dpopJkt: string | null
}

export function createRefreshTokensRepository(db: Db) {
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
               s.id AS "sessionId", s.user_id AS "userId", s.client_id AS "clientId", s.scope, s.audience,
               s.created_at AS "createdAt", s.idle_expires_at AS "idleExpiresAt",
               s.absolute_expires_at AS "absoluteExpiresAt", s.revoked_at AS "revokedAt",
               s.ip, s.user_agent AS "userAgent", s.flagged_at AS "flaggedAt", s.dpop_jkt AS "dpopJkt"
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
        audience: session.audience,
        createdAt: session.createdAt,
        idleExpiresAt: session.idleExpiresAt,
        absoluteExpiresAt: session.absoluteExpiresAt,
        revokedAt: session.revokedAt,
        ip: session.ip,
        userAgent: session.userAgent,
        flaggedAt: session.flaggedAt,
        dpopJkt: session.dpopJkt,
      }
    },

    async findByHash(tokenHash: string): Promise<{ id: string; sessionId: string; rotatedAt: Date | null } | null> {
      return db.refreshToken.findUnique({ where: { tokenHash }, select: { id: true, sessionId: true, rotatedAt: true } })
    },

    /** Marks the token rotated unless it already is; false when another rotation got there first. */
    async markRotated(id: string, now: Date): Promise<boolean> {
      const { count } = await db.refreshToken.updateMany({ where: { id, rotatedAt: null }, data: { rotatedAt: now } })
      return count === 1
    },
  }
}

export type RefreshTokensRepository = ReturnType<typeof createRefreshTokensRepository>
