import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import type { Config } from '../config.js'
import { PrismaClient } from '../generated/prisma/client.js'
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js'
import { migrate } from './migrations.js'
import { createSqlRunner, type SqlRunner } from './sql.js'
import { renewStaleStatements } from './stale-statements.js'

export type Prisma = PrismaClient

export interface Database {
  prisma: PrismaClient
  /** pg itself, on Prisma's pool, for the one-statement hot paths (see sql.ts). */
  sql: SqlRunner
  /** Where the database is: the configured URL, or the embedded server's loopback URL. */
  url: string
  embedded: boolean
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>
  /**
   * Closes every idle pooled connection: after an outage they may be silent for good (a dead
   * peer's sockets), and the next queries would each wait out the query timeout to find it out.
   */
  discardIdle(): void
  close(): Promise<void>
}

// Distinct statements kept prepared on each connection; any beyond are parsed every time.
const PREPARED_STATEMENTS = 200

/**
 * Names for prepared statements, one per distinct SQL text (as Prisma's former query engine kept
 * them): PostgreSQL then parses and plans a statement once per connection instead of every time.
 * Off until enabled: PGlite is one backend behind every connection to it, where a name prepared
 * through another connection (or another client) may already exist, which pg cannot know.
 */
function preparedStatementNames(limit: number) {
  const names = new Map<string, string>()
  let enabled = false
  return {
    get enabled() {
      return enabled
    },
    enable() {
      enabled = true
    },
    name(query: { sql: string }): string {
      // An empty name is pg's unnamed statement, parsed each time.
      if (!enabled) return ''
      let name = names.get(query.sql)
      if (name === undefined) {
        if (names.size >= limit) return ''
        name = `tollgate_${names.size}`
        names.set(query.sql, name)
      }
      return name
    },
  }
}

/** The database's waits, all bounded (see .env.example). */
export type DatabaseTimeouts = Pick<
  Config,
  | 'DATABASE_CONNECT_TIMEOUT_MS'
  | 'DATABASE_QUERY_TIMEOUT_MS'
  | 'DATABASE_STATEMENT_TIMEOUT_MS'
  | 'DATABASE_LOCK_TIMEOUT_MS'
  | 'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS'
  | 'DATABASE_KEEPALIVE_SECONDS'
>

/** How long readiness waits for the database to answer `SELECT 1`. */
export const PING_TIMEOUT_MS = 1000

/**
 * pg's options for bounded waits: connecting and waiting for a pooled connection, the client-side
 * query timeout, PostgreSQL's own timeouts (sent with the startup message, so every connection has
 * them before its first query, PGlite's included), and TCP keep-alive.
 */
export function boundedWaits(config: DatabaseTimeouts): pg.PoolConfig {
  return {
    connectionTimeoutMillis: config.DATABASE_CONNECT_TIMEOUT_MS,
    query_timeout: config.DATABASE_QUERY_TIMEOUT_MS,
    statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS,
    lock_timeout: config.DATABASE_LOCK_TIMEOUT_MS,
    idle_in_transaction_session_timeout: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: config.DATABASE_KEEPALIVE_SECONDS * 1000,
  }
}

type QueryArguments = Parameters<pg.Client['query']>

const isQueryTimeout = (error: unknown) => error instanceof Error && error.message === 'Query read timeout'

/**
 * An error after which client and server no longer agree on the connection's state, though its
 * socket still works: a statement pg knows as parsed there is gone ('(unnamed) prepared statement
 * does not exist', 26000), or the server saw a message out of step (08P01 protocol_violation).
 * Every later query on it could fail the same way, or read another query's reply.
 */
const isLostProtocolState = (error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code
  return code === '26000' || code === '08P01'
}

/** Connections destroyed on purpose: their end is no news to report. */
const discarded = new WeakSet<pg.Client>()

function destroyConnection(client: pg.Client) {
  discarded.add(client)
  // Not queryable from now on (pg's own mark for a broken connection): the queries queued on it
  // fail at once instead of behind the lost one, and pg-pool removes it when it is released, even
  // before the socket's end is seen, instead of handing it to the next request.
  const internals = client as unknown as { _queryable: boolean; connection: { stream: { destroy(): void } } }
  internals._queryable = false
  internals.connection.stream.destroy()
}

/**
 * pg answers a query that timed out on the client side ('Query read timeout') but keeps its
 * connection, still waiting for that query's reply: the pool, or Prisma's transaction (which
 * releases its connection without an error), would hand it out again, and every query sent on it
 * would wait behind the lost one. So a connection whose query timed out is destroyed, and so is
 * every idle one: the server did not even answer its statement_timeout, so the network or the
 * server went silent, and an idle connection would only find out on the next request. The next
 * queries open fresh connections. A query with its own shorter timeout (the readiness ping) takes
 * only its own connection down. A connection whose protocol state was lost (isLostProtocolState)
 * is destroyed alone, for the same reason: Prisma's transactions release it without an error.
 */
export function discardSilentConnections(pool: pg.Pool, onIdleError: (error: Error) => void): { discardIdle(): void } {
  const idle = new Set<pg.Client>()
  // An idle connection that dies (PostgreSQL restarting) leaves the pool; the next query opens another.
  pool.on('error', (error, client) => {
    if (!discarded.has(client)) onIdleError(error)
  })
  pool.on('acquire', (client) => idle.delete(client))
  pool.on('release', (_error, client) => idle.add(client))
  pool.on('remove', (client) => idle.delete(client))
  pool.on('connect', (client) => {
    // A connection that breaks while a query holds it reports it through that query; the 'error'
    // event it also emits must not crash the process when nobody else listens.
    client.on('error', () => {})
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    client.query = ((...args: QueryArguments) => {
      const ownTimeout = typeof args[0] === 'object' && args[0] !== null && 'query_timeout' in args[0]
      const onError = (error: unknown) => {
        if (isLostProtocolState(error)) return destroyConnection(client)
        if (!isQueryTimeout(error)) return
        destroyConnection(client)
        if (!ownTimeout) for (const other of idle) destroyConnection(other)
      }
      const last = args.length > 1 ? args[args.length - 1] : undefined
      if (typeof last === 'function') {
        const callback = last as (error: unknown, result: unknown) => void
        return query(...args.slice(0, -1), (error: unknown, result: unknown) => {
          if (error) onError(error)
          callback(error, result)
        })
      }
      const result = query(...args)
      if (result instanceof Promise) result.catch(onError)
      return result
    }) as pg.Client['query']
  })
  return {
    discardIdle() {
      for (const client of idle) destroyConnection(client)
    },
  }
}

/** Rejects with a 'Query read timeout' (pg's words) when `promise` takes longer than `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('Query read timeout')), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export interface OpenDatabaseOptions {
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_POOL_SIZE' | 'DATA_DIR' | 'MIGRATE_ON_START'> &
    Partial<Pick<Config, 'DATABASE_PREPARED_STATEMENTS'>> &
    DatabaseTimeouts
  log?: { info(message: string): void; warn(message: string): void }
  /** An idle pooled connection broke (the server restarted, the network reset it). Default: a warning. */
  onIdleConnectionError?: (error: Error) => void
  /** Use the embedded database of a running server through its socket (the CLI), see embedded-postgres.ts. */
  joinRunningEmbedded?: boolean
}

/**
 * Connects to PostgreSQL (or starts the embedded PGlite when no DATABASE_URL is set), applies
 * pending migrations when configured to, and returns a Prisma client over @prisma/adapter-pg.
 */
export async function openDatabase({ config, log, onIdleConnectionError, joinRunningEmbedded }: OpenDatabaseOptions): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined
  let url = config.DATABASE_URL
  if (!url) {
    log?.warn(
      `No DATABASE_URL: using the embedded PostgreSQL (PGlite) under ${config.DATA_DIR}. ` +
        'Fine for development; production needs DATABASE_URL.',
    )
    embedded = await startEmbeddedPostgres({ dataDir: config.DATA_DIR, join: joinRunningEmbedded })
    if (embedded.joinedProcess) log?.warn(`The embedded database is open in process ${embedded.joinedProcess}: working through its socket.`)
    url = embedded.url
  }
  try {
    if (config.MIGRATE_ON_START) {
      await migrate(url, { log: (message) => log?.info(message) })
    }
    const statements = preparedStatementNames(PREPARED_STATEMENTS)
    const pool = new pg.Pool({
      connectionString: url,
      // PGlite is a single session, and its socket server keeps a connection's protocol messages
      // together only inside a transaction: concurrent plain queries from several connections
      // interleave their Parse/Bind/Execute and fail. One connection costs nothing there.
      max: embedded ? 1 : config.DATABASE_POOL_SIZE,
      idleTimeoutMillis: 30_000,
      ...boundedWaits(config),
    })
    const connections = discardSilentConnections(pool, onIdleConnectionError ?? ((error) => log?.warn(`idle database connection lost: ${error.message}`)))
    // After discardSilentConnections: its wrapper of each connection's queries sees the statements sent again too.
    renewStaleStatements(pool, log)
    const adapter = new PrismaPg(pool, { statementNameGenerator: (query) => statements.name(query), disposeExternalPool: true })
    // 'minimal': the other formats capture a stack trace on every query, in case it fails.
    const prisma = new PrismaClient({ adapter, errorFormat: 'minimal' })
    if (!embedded && config.DATABASE_PREPARED_STATEMENTS !== false) {
      // A PGlite served on a socket (the tests') is not `embedded` here, but it says what it is.
      const version = await prisma.$queryRaw<{ version: string }[]>`SELECT version()`.catch(() => [])
      if (version[0] && !version[0].version.includes('PGlite')) statements.enable()
    }
    return {
      prisma,
      sql: createSqlRunner(pool, () => statements.enabled),
      url,
      embedded: embedded !== undefined,
      async ping() {
        // On pg directly, with its own bound: readiness must answer within about a second.
        // (pg's per-query query_timeout, missing from its types, also throws the connection away.)
        const query = { text: 'SELECT 1', query_timeout: PING_TIMEOUT_MS } as pg.QueryConfig
        await withTimeout(pool.query(query), PING_TIMEOUT_MS)
      },
      discardIdle: () => connections.discardIdle(),
      async close() {
        await prisma.$disconnect()
        await embedded?.close()
      },
    }
  } catch (error) {
    await embedded?.close()
    throw error
  }
}
