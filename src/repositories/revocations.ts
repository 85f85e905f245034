import pg from 'pg'
import type { Prisma, PrismaClient } from '../generated/prisma/client.js'

/**
 * Revoked access tokens (by jti) and the revocation state of sessions, as the revocation feed and
 * every authenticated request need them.
 *
 * Each statement runs as a one-statement batch transaction (no slower than a bare query on
 * PostgreSQL): the embedded PGlite multiplexes every connection onto one session and keeps only a
 * transaction's statements together, so a bare statement racing another request's transaction
 * can lose its unnamed portal (error 34000) there.
 */
export function createRevocationRepository(prisma: PrismaClient) {
  const isolated = async <T>(statement: Prisma.PrismaPromise<T>): Promise<T> => (await prisma.$transaction([statement]))[0]
  return {
    /** Records a revoked access token; a second call for the same jti changes nothing. */
    async insertRevokedAccessToken(row: { jti: string; sessionId: string | null; expiresAt: Date; revokedAt: Date }) {
      await isolated(prisma.revokedAccessToken.createMany({ data: [row], skipDuplicates: true }))
    },

    async isAccessTokenRevoked(jti: string, now: Date): Promise<boolean> {
      const row = await isolated(
        prisma.revokedAccessToken.findFirst({ where: { jti, expiresAt: { gt: now } }, select: { jti: true } }),
      )
      return row !== null
    },

    async isSessionRevoked(sessionId: string): Promise<boolean> {
      const [revoked, erased] = await prisma.$transaction([
        prisma.session.findFirst({ where: { id: sessionId, revokedAt: { not: null } }, select: { id: true } }),
        prisma.erasedSession.findUnique({ where: { id: sessionId }, select: { id: true } }),
      ])
      return revoked !== null || erased !== null
    },

    /** One round trip for the hot path: is this token revoked by its jti or by its session? */
    async isRevoked(jti: string, sessionId: string | null, now: Date): Promise<boolean> {
      const rows = await isolated(prisma.$queryRaw<Array<{ revoked: boolean }>>`
        SELECT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = ${jti} AND expires_at > ${now})
            OR EXISTS (SELECT 1 FROM sessions WHERE id = ${sessionId}::uuid AND revoked_at IS NOT NULL)
            OR EXISTS (SELECT 1 FROM erased_sessions WHERE id = ${sessionId}::uuid) AS revoked`)
      return rows[0]?.revoked === true
    },

    /**
     * Both lists of the feed, in one statement (one snapshot); an erased user's sessions are listed
     * as revoked ones. Every instance reads them every second (its revocation snapshot), so they
     * come back as two arrays rather than a row per id (at SCALE 1 of the scale bench, 2,500 sids
     * and 9,000 jtis: 12,000 rows a second through Prisma's row mapping), and the jtis are sorted
     * by byte ("C"), not by the database's collation: the same order on every server, and a
     * memcmp instead of a locale comparison (22 -> 4 ms for those 9,000 jtis under C.UTF-8).
     */
    async revokedSince(sessionsSince: Date, now: Date): Promise<{ sids: string[]; jtis: string[] }> {
      const [row] = await isolated(prisma.$queryRaw<Array<{ sids: string[]; jtis: string[] }>>`
        SELECT ARRAY(SELECT revoked.id::text FROM (SELECT id FROM sessions WHERE revoked_at > ${sessionsSince}
                                                   UNION ALL
                                                   SELECT id FROM erased_sessions WHERE revoked_at > ${sessionsSince}) revoked
                      ORDER BY revoked.id) AS sids,
               ARRAY(SELECT jti FROM revoked_access_tokens WHERE expires_at > ${now} ORDER BY jti COLLATE "C") AS jtis`)
      return { sids: row?.sids ?? [], jtis: row?.jtis ?? [] }
    },

    /** Rows of tokens that have expired anyway: no verifier needs them any more. */
    async deleteExpiredAccessTokens(now: Date): Promise<number> {
      const { count } = await isolated(prisma.revokedAccessToken.deleteMany({ where: { expiresAt: { lte: now } } }))
      return count
    },
  }
}

export type RevocationRepository = ReturnType<typeof createRevocationRepository>

/** The channel the migration's triggers notify on every committed revocation (20261130114500_revocation_notifications). */
export const REVOCATIONS_CHANNEL = 'tollgate_revocations'

const RECONNECT_DELAY_MS = 1000

/**
 * Calls `onChange` whenever another instance (or this one) commits a revocation, through
 * PostgreSQL LISTEN on a connection of its own, outside the pool; and once more after every
 * reconnection, since what was missed meanwhile is unknown. A lost connection is retried every
 * second until `close()`; the callers' periodic reload covers the gap. Only on a real PostgreSQL:
 * the embedded PGlite is one session, which a listening connection would take from the pool
 * (and an embedded database has one instance anyway). Resolves once listening, or once it has
 * given the first attempt up.
 */
export async function watchRevocations(options: {
  url: string
  prisma: PrismaClient
  connectTimeoutMs: number
  onChange: () => void
  onError: (error: unknown) => void
}): Promise<{ close(): Promise<void> }> {
  const version = await options.prisma.$queryRaw<{ version: string }[]>`SELECT version()`
  if (version[0]?.version.includes('PGlite')) return { close: async () => {} }

  let client: pg.Client | undefined
  let closed = false
  let retry: NodeJS.Timeout | undefined

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: options.url, connectionTimeoutMillis: options.connectTimeoutMs, keepAlive: true })
    const lost = (error?: unknown) => {
      if (client !== next) return
      client = undefined
      next.end().catch(() => {})
      if (error) options.onError(error)
      if (!closed) retry = setTimeout(() => void connect(), RECONNECT_DELAY_MS).unref()
    }
    next.on('notification', () => options.onChange())
    next.on('error', lost)
    next.on('end', () => lost())
    client = next
    try {
      await next.connect()
      await next.query(`LISTEN ${REVOCATIONS_CHANNEL}`)
      if (closed) await next.end()
      else options.onChange()
    } catch (error) {
      lost(error)
    }
  }

  await connect()
  return {
    async close() {
      closed = true
      clearTimeout(retry)
      const current = client
      client = undefined
      await current?.end().catch(() => {})
    },
  }
}
