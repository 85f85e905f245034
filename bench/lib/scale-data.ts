import pg from 'pg'

/**
 * A production-sized dataset, generated inside PostgreSQL with set-based SQL (generate_series,
 * INSERT … SELECT), never through the API: at SCALE 1, 1,000,000 users, 2,000,000 live sessions
 * with ten refresh tokens each (nine rotated, kept for reuse detection: 20,000,000 rows),
 * 5,000,000 security events, idempotency records over two days, carts, revoked access tokens and
 * erased sessions, plus a backlog of ended sessions, old events and old idempotency records for
 * the purge. Every user shares one precomputed argon2 digest (hashing a million passwords would
 * take hours and measure nothing).
 *
 * The tables are filled with their secondary indexes and constraints dropped and rebuilt after
 * (a bulk load writes each index once, sorted, instead of row by row), then vacuumed and analyzed,
 * as autovacuum would have left a long-lived table. Ids are md5 uuids (random order, like
 * gen_random_uuid()); a session's refresh tokens are spread over the heap as rotations ten minutes
 * apart would spread them, not stored side by side.
 */

/** Row counts at SCALE 1 (BENCH_SCALE multiplies them). */
export const FULL_SCALE = {
  users: 1_000_000,
  liveSessions: 2_000_000,
  /** Per session: the live one and the rotated ones before it. */
  refreshTokensPerSession: 10,
  securityEvents: 5_000_000,
  /** Revoked two days ago, and expired a day ago: the purge's backlog (each). */
  endedSessions: 50_000,
  /** Revoked within the feed's window: GET /v1/revocations lists them. */
  recentlyRevokedSessions: 2_000,
  idempotencyRecords: 1_000_000,
  carts: 200_000,
  itemsPerCart: 3,
  /** Half unexpired (the feed lists their jtis), half expired. */
  revokedAccessTokens: 20_000,
  erasedSessions: 1_000,
} as const

export type ScaleCounts = { -readonly [K in keyof typeof FULL_SCALE]: number }

export function scaleCounts(scale: number): ScaleCounts {
  const counts = {} as ScaleCounts
  for (const [name, full] of Object.entries(FULL_SCALE) as Array<[keyof ScaleCounts, number]>) {
    counts[name] = name === 'refreshTokensPerSession' || name === 'itemsPerCart' ? full : Math.max(1, Math.round(full * scale))
  }
  return counts
}

/** The tables the dataset fills; their indexes and constraints are dropped for the load and rebuilt after. */
const TABLES = ['users', 'sessions', 'refresh_tokens', 'security_events', 'idempotency_records', 'carts', 'cart_items', 'revoked_access_tokens', 'erased_sessions']

/** The email of generated user i (0-based): the login case of the scaled database signs them in. */
export const scaleUserEmail = (i: number) => `scale-${i}@bench.example`

const TOKEN_HASH = (expression: string) => `rtrim(translate(encode(sha256(convert_to(${expression}, 'UTF8')), 'base64'), '+/', '-_'), '=')`

/** Where each kind of session lies in the generated range j = 0 … sessions - 1. */
function sessionRanges(c: ScaleCounts) {
  const ended = c.endedSessions
  return {
    /** Live: last used within 6 days, created within 25. */
    live: [0, c.liveSessions] as const,
    /** Revoked two days ago (the purge's backlog). */
    revoked: [c.liveSessions, c.liveSessions + ended] as const,
    /** Idle-expired a day ago (the purge's backlog). */
    expired: [c.liveSessions + ended, c.liveSessions + 2 * ended] as const,
    /** Revoked within the last 9 minutes: GET /v1/revocations lists them. */
    recent: [c.liveSessions + 2 * ended, c.liveSessions + 2 * ended + c.recentlyRevokedSessions] as const,
    total: c.liveSessions + 2 * ended + c.recentlyRevokedSessions,
  }
}

const AGENT = `'Mozilla/5.0 (X11; Linux x86_64) bench'`

/** Sessions j in [from, to), as the dataset defines session j (sessionRanges), times relative to now(). */
function insertSessions(c: ScaleCounts, from: number, to: number, conflict = ''): string {
  const r = sessionRanges(c)
  return `INSERT INTO sessions (id, user_id, client_id, scope, kind, created_at, last_used_at, idle_expires_at, absolute_expires_at, user_agent, ip, revoked_at, revoked_reason)
       SELECT md5('s' || j)::uuid, md5('u' || (j % ${c.users}))::uuid, 'tollgate-web', 'cart', 'tokens',
              created, used, used + interval '7 days', created + interval '30 days', ${AGENT},
              '10.' || (j % 250) || '.' || (j / 250 % 250) || '.' || (j % 7),
              CASE WHEN j < ${r.revoked[0]} THEN NULL
                   WHEN j < ${r.revoked[1]} THEN now() - interval '2 days'
                   WHEN j < ${r.expired[1]} THEN NULL
                   ELSE now() - (j % 540) * interval '1 second' END,
              CASE WHEN j < ${r.revoked[0]} OR (j >= ${r.expired[0]} AND j < ${r.expired[1]}) THEN NULL ELSE 'logout' END
         FROM generate_series(${from}, ${to - 1}) j,
              LATERAL (SELECT CASE WHEN j >= ${r.expired[0]} AND j < ${r.expired[1]}
                                   THEN now() - interval '8 days' - (j % 20) * interval '1 day'
                                   ELSE now() - interval '1 day' - (j % 24) * interval '1 day' - (j % 86400) * interval '1 second' END AS created) c,
              LATERAL (SELECT CASE WHEN j >= ${r.expired[0]} AND j < ${r.expired[1]}
                                   THEN now() - interval '8 days'
                                   ELSE greatest(created, now() - (j % 6) * interval '1 day' - (j % 3600) * interval '1 second') END AS used) u
       ${conflict}`
}

/**
 * The refresh tokens of sessions j in [from, to): token n = position * sessions + j, so one
 * session's tokens lie far apart in the heap, as rotations spread over days put them. The last
 * position is the live token.
 */
function insertRefreshTokens(c: ScaleCounts, from: number, to: number, conflict = ''): string {
  const sessions = sessionRanges(c).total
  const per = c.refreshTokensPerSession
  // The whole range in one series (the bulk load: n in heap order); a sub-range by session and position.
  const source = from === 0 && to === sessions
    ? `generate_series(0, ${sessions * per - 1}) n`
    : `generate_series(0, ${per - 1}) p, generate_series(${from}, ${to - 1}) j, LATERAL (SELECT p::bigint * ${sessions} + j AS n) t`
  return `INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, rotated_at)
       SELECT md5('t' || n)::uuid, md5('s' || (n % ${sessions}))::uuid, ${TOKEN_HASH(`'rt' || n`)},
              now() - interval '1 day' - (${per} - n / ${sessions}) * interval '10 minutes',
              CASE WHEN n / ${sessions} = ${per - 1} THEN NULL
                   ELSE now() - interval '1 day' - (${per - 1} - n / ${sessions}) * interval '10 minutes' END
         FROM ${source}
       ${conflict}`
}

/** Security events e in [from, to), spread over 95 days back from now(): about one in twenty is past the 90-day retention (the purge's). */
function insertSecurityEvents(c: ScaleCounts, from: number, to: number, conflict = ''): string {
  return `INSERT INTO security_events (id, user_id, session_id, type, at, ip, user_agent, details)
       SELECT md5('e' || e)::uuid, md5('u' || (e % ${c.users}))::uuid, md5('s' || (e % ${c.liveSessions}))::uuid,
              (ARRAY['login_succeeded', 'login_failed', 'logout', 'session_revoked'])[1 + e % 4],
              now() - (e::bigint * 95 * 86400 / ${c.securityEvents}) * interval '1 second', '10.0.' || (e % 250) || '.1', ${AGENT}, NULL
         FROM generate_series(${from}, ${to - 1}) e
       ${conflict}`
}

/** Idempotency records i in [from, to), created over the 48 hours before now(): the older half is past the 24-hour retention. */
function insertIdempotencyRecords(c: ScaleCounts, from: number, to: number, conflict = ''): string {
  return `INSERT INTO idempotency_records (user_id, key, fingerprint, response, created_at)
       SELECT md5('u' || (i % ${c.users}))::uuid, 'key-' || i, 'fp-' || i, '{"status":201,"body":{"items":[]}}'::jsonb,
              now() - (i::bigint * 172800 / ${c.idempotencyRecords}) * interval '1 second'
         FROM generate_series(${from}, ${to - 1}) i
       ${conflict}`
}

/** Revoked access tokens, five minutes ago: half unexpired (the feed lists their jtis), half expired. */
function insertRevokedAccessTokens(c: ScaleCounts, conflict = ''): string {
  return `INSERT INTO revoked_access_tokens (jti, session_id, revoked_at, expires_at)
       SELECT 'jti-' || i, md5('s' || (i % ${c.liveSessions}))::uuid, now() - interval '5 minutes',
              now() + CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END * (1 + i % 590) * interval '1 second'
         FROM generate_series(0, ${c.revokedAccessTokens - 1}) i
       ${conflict}`
}

/** Sessions of erased users: half two days ago (the purge's), half within the feed's window. */
function insertErasedSessions(c: ScaleCounts, conflict = ''): string {
  return `INSERT INTO erased_sessions (id, revoked_at)
       SELECT md5('x' || i)::uuid, now() - CASE WHEN i % 2 = 0 THEN interval '2 days' ELSE (i % 500) * interval '1 second' END
         FROM generate_series(0, ${c.erasedSessions - 1}) i
       ${conflict}`
}

function loadStatements(c: ScaleCounts): Array<[string, string]> {
  const r = sessionRanges(c)
  const tokens = r.total * c.refreshTokensPerSession
  return [
    [
      `${c.users} users`,
      `INSERT INTO users (id, email, password_hash, password_changed_at, credentials_version, created_at, updated_at)
       SELECT md5('u' || i)::uuid, 'scale-' || i || '@bench.example', $1, now() - interval '400 days', 0,
              now() - (i % 400) * interval '1 day', now() - (i % 400) * interval '1 day'
         FROM generate_series(0, ${c.users - 1}) i`,
    ],
    [`${r.total} sessions (${c.liveSessions} live)`, insertSessions(c, 0, r.total)],
    [`${tokens} refresh tokens`, insertRefreshTokens(c, 0, r.total)],
    [`${c.securityEvents} security events`, insertSecurityEvents(c, 0, c.securityEvents)],
    [`${c.idempotencyRecords} idempotency records`, insertIdempotencyRecords(c, 0, c.idempotencyRecords)],
    [
      `${c.carts} carts, ${c.carts * c.itemsPerCart} items`,
      `INSERT INTO carts (user_id, version, updated_at)
       SELECT md5('u' || (i * ${Math.max(1, Math.floor(c.users / c.carts))}))::uuid, 3, now() - (i % 86400) * interval '1 second'
         FROM generate_series(0, ${c.carts - 1}) i`,
    ],
    [
      'cart items',
      `INSERT INTO cart_items (id, user_id, sku, quantity, created_at, updated_at)
       SELECT md5('c' || i || '-' || k)::uuid, md5('u' || (i * ${Math.max(1, Math.floor(c.users / c.carts))}))::uuid, 'SKU-' || ((i + k * 7) % 500), 1 + k, now(), now()
         FROM generate_series(0, ${c.carts - 1}) i, generate_series(0, ${c.itemsPerCart - 1}) k`,
    ],
    [`${c.revokedAccessTokens} revoked access tokens`, insertRevokedAccessTokens(c)],
    [`${c.erasedSessions} erased sessions`, insertErasedSessions(c)],
  ]
}

/**
 * What makes a kept dataset current again before a run (bench/scale.ts runs it after a load and
 * on a reused database): the rows whose meaning depends on the time, and the purge's backlog.
 * The feed's rows (sessions revoked within the last minutes, unexpired revoked jtis, erased
 * sessions) are set relative to now() again: at SCALE 1 the load alone outlasts the feed's window
 * (11 minutes), so without this the feed of a freshly loaded database is nearly empty. The backlog
 * (ended sessions with their tokens, events and idempotency records past their retention) is
 * inserted again where a previous run's purge deleted it; rows still there are left alone.
 */
function freshenStatements(c: ScaleCounts): Array<[string, string]> {
  const r = sessionRanges(c)
  const oldEvents = Math.ceil((c.securityEvents * 90) / 95)
  const oldRecords = Math.ceil(c.idempotencyRecords / 2)
  return [
    // Each run's servers encrypt their keys with a key of their own (benchConfig): a previous run's
    // keys could not be decrypted, and the server would refuse to start. It makes new ones.
    [`the previous run's signing keys`, `DELETE FROM signing_keys`],
    [
      `${c.recentlyRevokedSessions} sessions revoked within the last minutes`,
      insertSessions(c, r.recent[0], r.recent[1], 'ON CONFLICT (id) DO UPDATE SET revoked_at = EXCLUDED.revoked_at, revoked_reason = EXCLUDED.revoked_reason'),
    ],
    [`${c.revokedAccessTokens} revoked access tokens`, insertRevokedAccessTokens(c, 'ON CONFLICT (jti) DO UPDATE SET revoked_at = EXCLUDED.revoked_at, expires_at = EXCLUDED.expires_at')],
    [`${c.erasedSessions} erased sessions`, insertErasedSessions(c, 'ON CONFLICT (id) DO UPDATE SET revoked_at = EXCLUDED.revoked_at')],
    [`backlog: ${2 * c.endedSessions} ended sessions`, insertSessions(c, r.revoked[0], r.expired[1], 'ON CONFLICT DO NOTHING')],
    [`backlog: their refresh tokens, and the recent ones'`, insertRefreshTokens(c, r.revoked[0], r.total, 'ON CONFLICT DO NOTHING')],
    [`backlog: events past the retention`, insertSecurityEvents(c, oldEvents, c.securityEvents, 'ON CONFLICT DO NOTHING')],
    [`backlog: idempotency records past the retention`, insertIdempotencyRecords(c, oldRecords, c.idempotencyRecords, 'ON CONFLICT DO NOTHING')],
  ]
}

interface Rebuild {
  drop: string
  create: string
}

/** What to drop before the load and recreate after: foreign keys, then keys and unique constraints, then plain indexes. */
async function rebuildPlan(client: pg.Client): Promise<{ foreignKeys: Rebuild[]; constraints: Rebuild[]; indexes: Rebuild[] }> {
  const { rows: constraints } = await client.query<{ table: string; name: string; type: string; def: string }>(
    `SELECT c.conrelid::regclass::text AS table, c.conname AS name, c.contype AS type, pg_get_constraintdef(c.oid) AS def
       FROM pg_constraint c
      WHERE (c.conrelid::regclass::text = ANY($1) AND c.contype IN ('p', 'u', 'f'))
         OR (c.confrelid::regclass::text = ANY($1) AND c.contype = 'f')`,
    [TABLES],
  )
  const { rows: indexes } = await client.query<{ name: string; def: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i
      WHERE i.indrelid::regclass::text = ANY($1)
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u'))`,
    [TABLES],
  )
  const rebuild = (row: { table: string; name: string; def: string }): Rebuild => ({
    drop: `ALTER TABLE ${row.table} DROP CONSTRAINT "${row.name}"`,
    create: `ALTER TABLE ${row.table} ADD CONSTRAINT "${row.name}" ${row.def}`,
  })
  return {
    foreignKeys: constraints.filter((row) => row.type === 'f').map(rebuild),
    constraints: constraints.filter((row) => row.type !== 'f').map(rebuild),
    indexes: indexes.map((row) => ({ drop: `DROP INDEX ${row.name}`, create: row.def })),
  }
}

export interface LoadReport {
  counts: ScaleCounts
  seconds: number
  steps: Array<{ step: string; seconds: number }>
}

/** Fills the (migrated, empty) database at `url` with the dataset at `scale`; `log` hears each step. */
export async function loadScaleData(url: string, scale: number, digest: string, log: (line: string) => void = () => {}): Promise<LoadReport> {
  const counts = scaleCounts(scale)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const steps: LoadReport['steps'] = []
  const started = performance.now()
  const step = async (name: string, work: () => Promise<unknown>) => {
    const at = performance.now()
    await work()
    const seconds = (performance.now() - at) / 1000
    steps.push({ step: name, seconds })
    log(`  ${name.padEnd(52)} ${seconds.toFixed(1).padStart(7)} s`)
  }
  try {
    // A bulk load's settings, for this session only: big sorts for the index builds, no waiting on WAL flushes.
    await client.query(`SET maintenance_work_mem = '512MB'`)
    await client.query(`SET synchronous_commit = off`)
    await client.query(`SET statement_timeout = 0`)
    const plan = await rebuildPlan(client)
    await step('drop indexes and constraints', async () => {
      for (const { drop } of [...plan.foreignKeys, ...plan.constraints, ...plan.indexes]) await client.query(drop)
    })
    for (const [name, sql] of loadStatements(counts)) {
      await step(`insert ${name}`, () => client.query(sql, sql.includes('$1') ? [digest] : []))
    }
    await step(`rebuild ${plan.constraints.length} keys, ${plan.indexes.length} indexes, ${plan.foreignKeys.length} foreign keys`, async () => {
      for (const { create } of [...plan.constraints, ...plan.indexes, ...plan.foreignKeys]) await client.query(create)
    })
    await step('vacuum analyze', async () => {
      for (const table of TABLES) await client.query(`VACUUM (ANALYZE) ${table}`)
    })
  } finally {
    await client.end()
  }
  return { counts, seconds: (performance.now() - started) / 1000, steps }
}

/** The mark a loaded database carries (COMMENT ON DATABASE), so a reuse at another BENCH_SCALE is refused. */
const MARK = 'tollgate scale dataset, BENCH_SCALE='

export async function markScaleData(url: string, scale: number): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ name: string }>('SELECT current_database() AS name')
    await client.query(`COMMENT ON DATABASE "${rows[0]!.name}" IS '${MARK}${scale}'`)
  } finally {
    await client.end()
  }
}

/** The BENCH_SCALE a kept database was loaded at (undefined when unmarked). */
export async function markedScale(url: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ comment: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = current_database()`,
    )
    const comment = rows[0]?.comment ?? ''
    return comment.startsWith(MARK) ? Number(comment.slice(MARK.length)) : undefined
  } finally {
    await client.end()
  }
}

/**
 * Makes a loaded (or kept) dataset current before a run: freshenStatements, then VACUUM or
 * ANALYZE of the tables autovacuum would have picked by now (its default thresholds, or a table's
 * own storage parameters): the local server this bench runs on may have autovacuum off, and
 * a kept database carries the previous runs' rotations and the purge's deletions.
 */
export async function freshenScaleData(url: string, scale: number, log: (line: string) => void = () => {}): Promise<{ seconds: number }> {
  const counts = scaleCounts(scale)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const started = performance.now()
  const step = async (name: string, sql: string, counted = true) => {
    const at = performance.now()
    const result = await client.query(sql)
    const rows = counted ? ` (${result.rowCount ?? 0} rows)` : ''
    log(`  ${`${name}${rows}`.padEnd(72)} ${((performance.now() - at) / 1000).toFixed(1).padStart(7)} s`)
  }
  try {
    await client.query(`SET statement_timeout = 0`)
    await client.query(`SET maintenance_work_mem = '512MB'`)
    for (const [name, sql] of freshenStatements(counts)) await step(name, sql)
    for (const { table, vacuum, analyze } of await autovacuumDue(client)) {
      if (vacuum) await step(`VACUUM (ANALYZE) ${table} (autovacuum would have)`, `VACUUM (ANALYZE) ${table}`, false)
      else if (analyze) await step(`ANALYZE ${table} (autovacuum would have)`, `ANALYZE ${table}`, false)
    }
  } finally {
    await client.end()
  }
  return { seconds: (performance.now() - started) / 1000 }
}

/** The dataset's tables past autovacuum's vacuum or analyze threshold (PostgreSQL's defaults, or the table's reloptions). */
async function autovacuumDue(client: pg.Client): Promise<Array<{ table: string; vacuum: boolean; analyze: boolean }>> {
  const { rows } = await client.query<{ table: string; reltuples: number; dead: string; inserted: string; modified: string; options: string[] | null }>(
    `SELECT c.relname AS table, greatest(c.reltuples, 0)::float8 AS reltuples, s.n_dead_tup AS dead,
            s.n_ins_since_vacuum AS inserted, s.n_mod_since_analyze AS modified, c.reloptions AS options
       FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relname = ANY($1)`,
    [TABLES],
  )
  const settings = Object.fromEntries(
    (await client.query<{ name: string; setting: string }>(`SELECT name, setting FROM pg_settings WHERE name LIKE 'autovacuum_%'`)).rows.map((row) => [row.name, Number(row.setting)]),
  )
  return rows.map((row) => {
    const own = Object.fromEntries((row.options ?? []).map((option) => option.split('=') as [string, string]))
    const setting = (name: string) => Number(own[name] ?? settings[name])
    const tuples = row.reltuples
    const vacuum =
      Number(row.dead) > setting('autovacuum_vacuum_threshold') + setting('autovacuum_vacuum_scale_factor') * tuples ||
      Number(row.inserted) > setting('autovacuum_vacuum_insert_threshold') + setting('autovacuum_vacuum_insert_scale_factor') * tuples
    const analyze = Number(row.modified) > setting('autovacuum_analyze_threshold') + setting('autovacuum_analyze_scale_factor') * tuples
    return { table: row.table, vacuum, analyze }
  })
}

export interface RelationSize {
  name: string
  rows: number
  table: number
  indexes: number
  total: number
  indexSizes: Array<{ name: string; bytes: number }>
}

/** pg_total_relation_size and its parts for every table of the dataset, with each index's size. */
export async function relationSizes(url: string): Promise<RelationSize[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ name: string; rows: string; table: string; indexes: string; total: string }>(
      `SELECT c.relname AS name, c.reltuples::bigint AS rows, pg_relation_size(c.oid) AS table,
              pg_indexes_size(c.oid) AS indexes, pg_total_relation_size(c.oid) AS total
         FROM pg_class c WHERE c.relname = ANY($1) AND c.relkind = 'r' ORDER BY pg_total_relation_size(c.oid) DESC`,
      [TABLES],
    )
    const { rows: indexRows } = await client.query<{ table: string; name: string; bytes: string }>(
      `SELECT i.indrelid::regclass::text AS table, i.indexrelid::regclass::text AS name, pg_relation_size(i.indexrelid) AS bytes
         FROM pg_index i WHERE i.indrelid::regclass::text = ANY($1) ORDER BY 3 DESC`,
      [TABLES],
    )
    return rows.map((row) => ({
      name: row.name,
      rows: Math.max(0, Number(row.rows)),
      table: Number(row.table),
      indexes: Number(row.indexes),
      total: Number(row.total),
      indexSizes: indexRows.filter((index) => index.table === row.name).map((index) => ({ name: index.name, bytes: Number(index.bytes) })),
    }))
  } finally {
    await client.end()
  }
}
