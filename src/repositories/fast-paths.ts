import { statement, type SqlRunner } from '../db/sql.js'
import { isUuid } from '../domain/ids.js'
import { isLockUnavailable, isTransientConflict } from './database-errors.js'
import type { SecurityEventInput } from './security-events.js'
import { SESSION_COLUMNS, type NewSession, type SessionRecord } from './sessions.js'

/**
 * The one-statement twins of the login and the common refresh. Each does what the locked
 * transaction of its use case would do in the one case it covers, and nothing (null) in every
 * other case, which the caller then decides in that transaction. The decisions themselves are the
 * domain's: the caller passes what the domain computed (expiries, the event row), and the
 * statement only re-checks, on locked rows, the conditions under which the domain would rotate
 * or start without anything else to do. test/integration/repositories/fast-paths.test.ts runs
 * every rotation, binding and expiry case through both paths and compares outcomes and rows.
 *
 * They run on a connection of their own, outside any transaction (db/sql.ts), which is why the
 * store exposes them beside its transactions and never inside one.
 */

/** An event the writer (services/security-events.ts) prepared, and told once the statement that inserts it commits. */
export interface StagedEvent {
  row: Omit<SecurityEventInput, 'sessionId'>
  committed(): void
}

/** What a one-statement rotation returns: the session, as the new access token needs it. */
export interface RotatedSession {
  sessionId: string
  userId: string
  clientId: string
  scope: string
  audience: string | null
  absoluteExpiresAt: Date
}

const ROTATED_COLUMNS = {
  sessionId: 'id',
  userId: 'user_id',
  clientId: 'client_id',
  scope: 'scope',
  audience: 'audience',
  absoluteExpiresAt: 'absolute_expires_at',
} as const satisfies Record<keyof RotatedSession, string>

/** `alias.column AS "field"` for every field of a record type: a field missing from the map does not compile. */
function selectList(columns: Record<string, string>, alias: string): string {
  return Object.entries(columns)
    .map(([field, column]) => `${alias}.${column} AS "${field}"`)
    .join(', ')
}

// $1 user, $2 client, $3 scope, $4 now, $5 idle expiry, $6 absolute expiry, $7 ip, $8 user agent,
// $9 refresh-token hash, $10 the most live sessions the user may already have,
// $11 event type, $12 event time, $13 event ip, $14 event user agent, $15 event details (json or null),
// $16 the credentials version the login verified.
// The live count is isSessionLive (domain/sessions/session-rules.ts) in SQL; the user's row is
// sessionStartRefusal's null case, re-checked on the row as locked (FOR UPDATE reads the latest).
const START_SESSION = statement(
  'start_uncontended_session',
  `WITH locked AS (
     SELECT id FROM users
      WHERE id = $1::uuid AND disabled_at IS NULL AND credentials_version = $16::int
        FOR UPDATE NOWAIT
   ), live AS (
     SELECT count(*) AS n FROM sessions
      WHERE user_id = $1::uuid AND revoked_at IS NULL
        AND idle_expires_at > $4::timestamptz AND absolute_expires_at > $4::timestamptz
   ), session AS (
     INSERT INTO sessions (user_id, client_id, scope, created_at, last_used_at, idle_expires_at, absolute_expires_at, ip, user_agent, dpop_jkt)
     SELECT locked.id, $2::text, $3::text, $4::timestamptz, $4::timestamptz, $5::timestamptz, $6::timestamptz, $7::text, $8::text, $17::text
       FROM locked, live WHERE live.n <= $10::int
     RETURNING *
   ), token AS (
     INSERT INTO refresh_tokens (session_id, token_hash, created_at)
     SELECT id, $9::text, $4::timestamptz FROM session
   ), event AS (
     INSERT INTO security_events (user_id, session_id, type, at, ip, user_agent, details)
     SELECT user_id, id, $11::text, $12::timestamptz, $13::text, $14::text, $15::jsonb FROM session
   )
   SELECT ${selectList(SESSION_COLUMNS, 'session')} FROM session`,
)

// $1 presented hash, $2 successor hash, $3 client id or null, $4 now, $5 now + idle lifetime, $6 ip, $7 user agent,
// $8 the thumbprint of the request's DPoP key or null: a session bound to another key (or presented
// without a proof) is left to the transaction, which refuses it and records the attempt.
// The WHERE clause is decideRotation's `rotate` case (domain/tokens/refresh-token.ts) for a
// client seen exactly as last time, so bindingOutcome is `ok` in every mode; LEAST is
// extendedIdleExpiry (the absolute expiry is only known once the row is read).
const ROTATE = statement(
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
        AND (s.dpop_jkt IS NULL OR s.dpop_jkt = $8::text)
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
   RETURNING ${selectList(ROTATED_COLUMNS, 's')}`,
)

export function createFastPaths(sql: SqlRunner) {
  return {
    /**
     * The login, when the user's row can be locked at once (no login or password change of the
     * same user in flight), the user is not disabled and has at most `maxLiveBefore` live sessions: inserts the
     * session, its first refresh token and the `login_succeeded` event. Null, with nothing
     * written, otherwise. The live count comes from the statement's snapshot, taken just before
     * the lock: a login of the same user committed in between is not counted, so callers leave
     * a session of headroom.
     */
    async startSession(
      input: NewSession & { tokenHash: string; credentialsVersion: number; maxLiveBefore: number; event: StagedEvent },
    ): Promise<SessionRecord | null> {
      if (!isUuid(input.userId)) return null
      const { event } = input
      let rows: SessionRecord[]
      try {
        rows = await sql<SessionRecord>(START_SESSION, [
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
          event.row.type,
          event.row.at.toISOString(),
          event.row.ip,
          event.row.userAgent,
          event.row.details === undefined ? null : JSON.stringify(event.row.details),
          input.credentialsVersion,
          input.dpopJkt ?? null,
        ])
      } catch (error) {
        if (isLockUnavailable(error)) return null
        throw error
      }
      const session = rows[0] ?? null
      if (session) event.committed()
      return session
    },

    /**
     * The first rotation of a live token whose session (for `clientId`, when given) was last seen
     * from this very IP and user agent: locks both rows, marks the token rotated, inserts the
     * successor and extends the session's idle expiry, never past the absolute one. Null, with
     * nothing written, in any other case or when a concurrent rotation holds the rows. A rotation
     * waiting here behind another of the same token re-reads the token once that one commits,
     * sees it rotated and returns null; by then the successor is committed too.
     */
    async rotate(input: {
      tokenHash: string
      successorHash: string
      clientId: string | null
      now: Date
      /** now + the idle lifetime; the statement caps it at the session's absolute expiry. */
      idleExpiresAt: Date
      ip: string | null
      userAgent: string | null
      /** The thumbprint of the request's DPoP key, null without a proof. */
      dpopJkt: string | null
    }): Promise<RotatedSession | null> {
      try {
        const rows = await sql<RotatedSession>(ROTATE, [
          input.tokenHash,
          input.successorHash,
          input.clientId,
          input.now.toISOString(),
          input.idleExpiresAt.toISOString(),
          input.ip,
          input.userAgent,
          input.dpopJkt,
        ])
        return rows[0] ?? null
      } catch (error) {
        if (isTransientConflict(error)) return null
        throw error
      }
    },
  }
}

export type FastPaths = ReturnType<typeof createFastPaths>
