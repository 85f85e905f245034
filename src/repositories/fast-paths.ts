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
 * or start without anything else to do. test/integration/auth/fast-path-twins.test.ts runs
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
// The count's `revoked_at IS NULL` is spelled so that no index on revoked_at can serve it: the
// generic plan made on a database without statistics (a new one, before its first ANALYZE) read
// the user's live sessions through sessions_revoked_at_idx, every live session's entry on each
// login, and a pooled connection kept that plan (test/integration/db/generic-plans.test.ts).
const START_SESSION = statement(
  'start_uncontended_session',
  `WITH locked AS (
     SELECT id FROM users
      WHERE id = $1::uuid AND disabled_at IS NULL AND credentials_version = $16::int
        FOR UPDATE NOWAIT
   ), live AS (
     SELECT count(*) AS n FROM sessions
      WHERE user_id = $1::uuid AND coalesce(revoked_at, 'infinity') = 'infinity'
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

/** One rotation the statement below is asked for (see createFastPaths().rotate). */
export interface RotationInput {
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
}

// $1: a JSON array of rotations, each { n, token_hash, successor_hash, client_id (or null), now,
// idle_expires_at (now + idle lifetime), ip, user_agent, dpop_jkt (the request's DPoP key's thumbprint
// or null: a session bound to another key, or presented without a proof, is left to the transaction,
// which refuses it and records the attempt) }. Each row's conditions are decideRotation's `rotate`
// case (domain/tokens/refresh-token.ts) for a client seen exactly as last time, so bindingOutcome is
// `ok` in every mode; LEAST is extendedIdleExpiry (the absolute expiry is only known once the row is
// read). A row answers only when its token and its session could be locked at once (SKIP LOCKED): a
// row that another rotation, a revocation or the transaction holds is left to the transaction, so no
// rotation of the batch ever waits for another's row, and two batches cannot deadlock.
// The lookups are LATERAL subqueries that lock (which the planner never flattens), so each rotation
// is one index probe by token_hash and one by the session's key whatever the statistics say (a
// session's liveness reads `coalesce(revoked_at, 'infinity')`, which sessions_revoked_at_idx cannot
// serve: on a never-analyzed database a plan through it read every live session's entry), and
// json_to_recordset is estimated alike in custom and generic plans (100 rows), so the prepared
// statement settles on its generic plan instead of being planned again on every call. The updates
// join on `= ANY (ARRAY[...])` rather than `=`: no hash or merge join can serve that, so even a
// generic plan made on nearly empty tables (which a connection keeps while they grow) finds each
// row by its key instead of scanning the table.
const ROTATE = statement(
  'rotate_live_refresh_tokens',
  `WITH input AS (
     SELECT * FROM json_to_recordset($1::json) AS i(
       n int, token_hash text, successor_hash text, client_id text, now timestamptz, idle_expires_at timestamptz,
       ip text, user_agent text, dpop_jkt text)
   ), presented AS (
     SELECT i.n, i.successor_hash, i.now, i.idle_expires_at, rt.id AS token_id, s.id AS session_id
       FROM input i
      CROSS JOIN LATERAL (
        SELECT id, session_id FROM refresh_tokens
         WHERE token_hash = i.token_hash AND rotated_at IS NULL
           FOR UPDATE SKIP LOCKED
      ) rt
      CROSS JOIN LATERAL (
        SELECT id FROM sessions
         WHERE id = rt.session_id
           AND coalesce(revoked_at, 'infinity') = 'infinity'
           AND idle_expires_at > i.now
           AND absolute_expires_at > i.now
           AND (i.client_id IS NULL OR client_id = i.client_id)
           AND ip IS NOT DISTINCT FROM i.ip
           AND user_agent IS NOT DISTINCT FROM i.user_agent
           AND (dpop_jkt IS NULL OR dpop_jkt = i.dpop_jkt)
           FOR UPDATE SKIP LOCKED
      ) s
   ), rotated AS (
     UPDATE refresh_tokens SET rotated_at = presented.now
       FROM presented WHERE refresh_tokens.id = ANY (ARRAY[presented.token_id])
     RETURNING presented.n, presented.session_id, presented.successor_hash, presented.now, presented.idle_expires_at
   ), successor AS (
     INSERT INTO refresh_tokens (session_id, token_hash, created_at)
     SELECT session_id, successor_hash, now FROM rotated
   )
   UPDATE sessions s
      SET last_used_at = rotated.now,
          idle_expires_at = LEAST(rotated.idle_expires_at, s.absolute_expires_at)
     FROM rotated
    WHERE s.id = ANY (ARRAY[rotated.session_id])
   RETURNING rotated.n AS "n", ${selectList(ROTATED_COLUMNS, 's')}`,
)

/** The most rotations one statement carries. */
const MAX_BATCH = 64
/** Rotation statements in flight at once: the rotations arriving meanwhile wait and go together in the next. */
const MAX_IN_FLIGHT = 2

interface PendingRotation {
  input: RotationInput
  resolve(session: RotatedSession | null): void
  reject(error: unknown): void
}

/**
 * Rotations go to PostgreSQL together: those requested while earlier statements are in flight
 * (at most MAX_IN_FLIGHT) are sent as one statement, one commit and one round trip. On a busy
 * instance that is most of them, and what a rotation costs the database and the pg client falls
 * to a fraction (the statement's start, its commit and the protocol are paid once per batch).
 * Each rotation is still committed before it is answered. A token presented again while its first
 * rotation is queued or in flight (several tabs, a retry) gets null at once: the transaction
 * decides it, behind the first one's lock, as it decides every replay.
 */
function createRotationBatcher(sql: SqlRunner) {
  let queue: PendingRotation[] = []
  /** The presented tokens of the rotations queued or in flight. */
  const presented = new Set<string>()
  let inFlight = 0
  let scheduled = false

  async function send(batch: PendingRotation[]) {
    const input = JSON.stringify(
      batch.map(({ input: r }, index) => ({
        n: index,
        token_hash: r.tokenHash,
        successor_hash: r.successorHash,
        client_id: r.clientId,
        now: r.now.toISOString(),
        idle_expires_at: r.idleExpiresAt.toISOString(),
        ip: r.ip,
        user_agent: r.userAgent,
        dpop_jkt: r.dpopJkt,
      })),
    )
    let rows: Array<RotatedSession & { n: number }>
    try {
      rows = await sql<RotatedSession & { n: number }>(ROTATE, [input])
    } catch (error) {
      for (const pending of batch) {
        if (isTransientConflict(error)) pending.resolve(null)
        else pending.reject(error)
      }
      return
    }
    const answers: Array<RotatedSession | null> = batch.map(() => null)
    for (const { n, ...session } of rows) answers[n] = session
    batch.forEach((pending, index) => pending.resolve(answers[index]!))
  }

  function flush() {
    scheduled = false
    while (inFlight < MAX_IN_FLIGHT && queue.length > 0) {
      const batch = queue.slice(0, MAX_BATCH)
      queue = queue.slice(MAX_BATCH)
      inFlight++
      void send(batch).finally(() => {
        for (const pending of batch) presented.delete(pending.input.tokenHash)
        inFlight--
        schedule()
      })
    }
  }

  // The rotations requested in one turn of the event loop (the requests read together) go together.
  function schedule() {
    if (scheduled || queue.length === 0 || inFlight >= MAX_IN_FLIGHT) return
    scheduled = true
    setImmediate(flush)
  }

  return (input: RotationInput) =>
    new Promise<RotatedSession | null>((resolve, reject) => {
      if (presented.has(input.tokenHash)) return resolve(null)
      presented.add(input.tokenHash)
      queue.push({ input, resolve, reject })
      schedule()
    })
}

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
     * nothing written, in any other case, and when another statement or transaction holds either
     * row (a concurrent rotation of the same token, a revocation): the caller's transaction then
     * waits for it and decides. Concurrent calls share statements (createRotationBatcher).
     */
    rotate: createRotationBatcher(sql),
  }
}

export type FastPaths = ReturnType<typeof createFastPaths>
