import { statement, type SqlRunner } from '../db/sql.js'
import type { AuthorizationCodeRecord } from './authorization-codes.js'
import { isLockUnavailable, isTransientConflict } from './database-errors.js'
import { SESSION_COLUMNS, type SessionRecord } from './sessions.js'

/**
 * The one-statement twin of the code redemption's locked transaction (services/sessions/start-from-code.ts),
 * in the spirit of fast-paths.ts: it covers the one case where the transaction would consume the code and
 * start a session with nothing else to do, and does nothing (null) in every other case, which the
 * caller then decides in that transaction (a replay's revocation, an eviction, every refusal and its event).
 * Outside any transaction, on a connection of its own (db/sql.ts).
 */

/** Every field of AuthorizationCodeRecord and its column (a field missing here does not compile). */
const CODE_COLUMNS = {
  codeHash: 'code_hash',
  clientId: 'client_id',
  userId: 'user_id',
  signInSessionId: 'sign_in_session_id',
  redirectUri: 'redirect_uri',
  codeChallenge: 'code_challenge',
  scope: 'scope',
  nonce: 'nonce',
  authTime: 'auth_time',
  createdAt: 'created_at',
  expiresAt: 'expires_at',
  consumedAt: 'consumed_at',
  sessionId: 'session_id',
} as const satisfies Record<keyof AuthorizationCodeRecord, string>

/** The user's fields an ID token's claims read (services/accounts.ts's PublicUser). */
export interface RedeemingUser {
  id: string
  email: string
  name: string | null
  createdAt: Date
}

const USER_COLUMNS = { id: 'id', email: 'email', name: 'name', createdAt: 'created_at' } as const satisfies Record<keyof RedeemingUser, string>

/** `alias.column AS "prefix.field"` for every field of a record type. */
function selectList(columns: Record<string, string>, alias: string, prefix: string): string {
  return Object.entries(columns)
    .map(([field, column]) => `${alias}.${column} AS "${prefix}.${field}"`)
    .join(', ')
}

function fieldsOf<T>(row: Record<string, unknown>, columns: Record<string, string>, prefix: string): T {
  return Object.fromEntries(Object.keys(columns).map((field) => [field, row[`${prefix}.${field}`]])) as T
}

// $1 code hash, $2 client id, $3 now, $4 redirect_uri, $5 the PKCE challenge of the presented verifier
// (BASE64URL(SHA256(verifier)), RFC 7636 §4.6), $6 audience, $7 idle expiry, $8 absolute expiry,
// $9 ip, $10 user agent, $11 DPoP thumbprint of the refresh token or null, $12 refresh-token hash,
// $13 the most live sessions the user may already have.
// The code's WHERE clause is every check of the transaction before the user's lock: unconsumed, not
// expired, this client's, this redirect URI's, this verifier's. Every lock is NOWAIT, so the
// statement never waits (a replay in flight, a password change or a disabling holding the user, the
// sign-in being ended): it answers nothing and the transaction decides. FOR UPDATE / FOR SHARE read
// the latest committed version of each row, so a password change, a disabling or a sign-out that
// committed after the statement's snapshot is seen: the user's row must still be enabled and the
// sign-in (which both end) still live. The live count is isSessionLive in SQL, from the snapshot
// (hence the caller's headroom, as with fastPaths.startSession). Rows are found by the code's columns
// as scalar subqueries, and the count's `revoked_at IS NULL` is spelled so that no index on
// revoked_at serves it: a generic plan made while the tables had no statistics (a new database,
// before autovacuum's first ANALYZE) read the user's live sessions through that index, every live
// session's entry on each redemption, and a connection kept that plan.
const REDEEM = statement(
  'redeem_authorization_code',
  `WITH code AS (
     SELECT * FROM authorization_codes
      WHERE code_hash = $1::text AND consumed_at IS NULL AND expires_at > $3::timestamptz
        AND client_id = $2::text AND redirect_uri = $4::text AND code_challenge = $5::text
        FOR UPDATE NOWAIT
   ), account AS (
     SELECT u.id, u.email, u.name, u.created_at FROM users u
      WHERE u.id = (SELECT user_id FROM code) AND u.disabled_at IS NULL
        FOR UPDATE NOWAIT
   ), sign_in AS (
     SELECT s.id FROM sessions s
      WHERE s.id = (SELECT sign_in_session_id FROM code)
        AND s.revoked_at IS NULL AND s.idle_expires_at > $3::timestamptz AND s.absolute_expires_at > $3::timestamptz
        FOR SHARE NOWAIT
   ), live AS (
     SELECT count(*) AS n FROM sessions s
      WHERE s.user_id = (SELECT user_id FROM code) AND coalesce(s.revoked_at, 'infinity') = 'infinity' AND s.idle_expires_at > $3::timestamptz AND s.absolute_expires_at > $3::timestamptz
   ), session AS (
     INSERT INTO sessions (user_id, client_id, scope, kind, sign_in_session_id, audience, created_at, last_used_at, idle_expires_at, absolute_expires_at, ip, user_agent, dpop_jkt)
     SELECT account.id, code.client_id, code.scope, 'tokens', sign_in.id, $6::text, $3::timestamptz, $3::timestamptz, $7::timestamptz, $8::timestamptz, $9::text, $10::text, $11::text
       FROM code, account, sign_in, live WHERE live.n <= $13::int
     RETURNING *
   ), token AS (
     INSERT INTO refresh_tokens (session_id, token_hash, created_at)
     SELECT id, $12::text, $3::timestamptz FROM session
   ), consumed AS (
     UPDATE authorization_codes c SET consumed_at = $3::timestamptz, session_id = session.id
       FROM session WHERE c.code_hash = $1::text
   )
   SELECT ${selectList(SESSION_COLUMNS, 'session', 'session')}, ${selectList(CODE_COLUMNS, 'code', 'code')}, ${selectList(USER_COLUMNS, 'account', 'user')}
     FROM session, code, account`,
)

export interface CodeRedemptionInput {
  codeHash: string
  clientId: string
  redirectUri: string
  /** BASE64URL(SHA256(code_verifier)) of a well-formed verifier. */
  codeChallenge: string
  audience: string | null
  now: Date
  idleExpiresAt: Date
  absoluteExpiresAt: Date
  ip: string | null
  userAgent: string | null
  /** The thumbprint the session's refresh tokens are bound to, or null. */
  dpopJkt: string | null
  tokenHash: string
  /** The most live sessions (of any kind) the user may have before this one. */
  maxLiveBefore: number
}

export function createCodeRedemption(sql: SqlRunner) {
  return {
    /**
     * Consumes a live, unconsumed code of this client, redirect URI and PKCE challenge whose user is
     * enabled and whose sign-in is live, when its row, the user's and the sign-in's can be locked at
     * once and the user has at most `maxLiveBefore` live sessions: starts the session with its first
     * refresh token and marks the code consumed by it. Null, with nothing written, otherwise. Returns
     * the user's fields the ID token needs too, read on the locked row.
     */
    async redeem(input: CodeRedemptionInput): Promise<{ session: SessionRecord; code: AuthorizationCodeRecord; user: RedeemingUser } | null> {
      let rows: Record<string, unknown>[]
      try {
        rows = await sql<Record<string, unknown>>(REDEEM, [
          input.codeHash,
          input.clientId,
          input.now.toISOString(),
          input.redirectUri,
          input.codeChallenge,
          input.audience,
          input.idleExpiresAt.toISOString(),
          input.absoluteExpiresAt.toISOString(),
          input.ip,
          input.userAgent,
          input.dpopJkt,
          input.tokenHash,
          input.maxLiveBefore,
        ])
      } catch (error) {
        if (isLockUnavailable(error) || isTransientConflict(error)) return null
        throw error
      }
      const row = rows[0]
      if (!row) return null
      return {
        session: fieldsOf<SessionRecord>(row, SESSION_COLUMNS, 'session'),
        code: fieldsOf<AuthorizationCodeRecord>(row, CODE_COLUMNS, 'code'),
        user: fieldsOf<RedeemingUser>(row, USER_COLUMNS, 'user'),
      }
    },
  }
}

export type CodeRedemption = ReturnType<typeof createCodeRedemption>
