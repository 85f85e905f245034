/**
 * Which failures mean "the database cannot be reached right now" rather than "this request is
 * wrong" or "the code is wrong": the one place that knows what pg, PostgreSQL and Prisma call them.
 * The error renderer answers them 503 with Retry-After (never 500), the outage monitor counts them.
 */

/** What kind of unavailability, as the `kind` label of database_errors_total says it. */
export const DATABASE_FAILURE_KINDS = ['refused', 'connection_lost', 'timeout', 'pool_exhausted'] as const
export type DatabaseFailureKind = (typeof DATABASE_FAILURE_KINDS)[number]

/** Retry-After of a 503 for an unavailable database: it heals within a couple of seconds of returning. */
export const DATABASE_RETRY_AFTER_SECONDS = 1

// Socket errors (Node), by the code the error carries.
const SOCKET_CODES: Record<string, DatabaseFailureKind> = {
  ECONNREFUSED: 'refused',
  EHOSTUNREACH: 'refused',
  ENETUNREACH: 'refused',
  ENOTFOUND: 'refused',
  EAI_AGAIN: 'refused',
  ECONNRESET: 'connection_lost',
  ECONNABORTED: 'connection_lost',
  EPIPE: 'connection_lost',
  ETIMEDOUT: 'timeout',
  // A query written to a connection destroyed under it (see discardSilentConnections).
  ERR_STREAM_DESTROYED: 'connection_lost',
}

// pg's own errors carry no code: their messages are its API.
const PG_MESSAGES: Array<[RegExp, DatabaseFailureKind]> = [
  [/^timeout exceeded when trying to connect$/, 'pool_exhausted'],
  [/^Query read timeout$/, 'timeout'],
  [/^Connection terminated due to connection timeout$/, 'timeout'],
  [/^Connection terminated( unexpectedly)?$/, 'connection_lost'],
  [/not queryable$/, 'connection_lost'],
  // The server answered something pg did not expect: the connection's protocol state is lost.
  [/^Received unexpected \w+ message from backend\.$/, 'connection_lost'],
]

/**
 * SQLSTATEs of a server that is going away, refusing connections, or cancelling a wait, and of a
 * connection whose protocol state client and server no longer agree on.
 */
function sqlStateKind(code: string): DatabaseFailureKind | undefined {
  if (code.startsWith('08')) return 'connection_lost' // connection_exception, 08P01 protocol_violation
  switch (code) {
    case '57P01': // admin_shutdown
    case '57P02': // crash_shutdown
    case '57P05': // idle_session_timeout: the server closed the connection
    case '25P03': // idle_in_transaction_session_timeout: the server closed the connection
      return 'connection_lost'
    // invalid_sql_statement_name: '(unnamed) prepared statement does not exist'. The service only
    // binds statements it has just parsed or knows parsed on that connection, so the server lost
    // them (a reset session, messages out of step): the connection is discarded and a retry works.
    case '26000':
      return 'connection_lost'
    case '57P03': // cannot_connect_now (starting up, recovering)
    case '53300': // too_many_connections
      return 'refused'
    case '57014': // query_canceled: statement_timeout
    case '55P03': // lock_not_available: lock_timeout
      return 'timeout'
    default:
      return undefined
  }
}

// Prisma's codes (https://www.prisma.io/docs/orm/reference/error-reference) and its driver
// adapters' error kinds.
const PRISMA_CODES: Record<string, DatabaseFailureKind> = {
  P1001: 'refused', // can't reach the database server
  P1002: 'timeout', // reached, but timed out
  P1008: 'timeout', // operations timed out
  P1017: 'connection_lost', // the server closed the connection
  P2024: 'pool_exhausted', // timed out fetching a connection from the pool
  P2028: 'timeout', // transaction API error: could not start in time, or expired
}
const ADAPTER_KINDS: Record<string, DatabaseFailureKind> = {
  DatabaseNotReachable: 'refused',
  TooManyConnections: 'refused',
  ConnectionClosed: 'connection_lost',
  SocketTimeout: 'timeout',
  TransactionAlreadyClosed: 'timeout',
}

type Inspectable = {
  code?: unknown
  message?: unknown
  kind?: unknown
  originalCode?: unknown
  originalMessage?: unknown
  routine?: unknown
  cause?: unknown
  errors?: unknown
  meta?: { driverAdapterError?: unknown; code?: unknown }
  name?: unknown
}

function ownKind(error: Inspectable): DatabaseFailureKind | undefined {
  const { code, kind, originalCode } = error
  if (typeof code === 'string') {
    const found = SOCKET_CODES[code] ?? (/^P\d{4}$/.test(code) ? PRISMA_CODES[code] : /^[0-9A-Z]{5}$/.test(code) ? sqlStateKind(code) : undefined)
    if (found) return found
  }
  if (typeof kind === 'string' && ADAPTER_KINDS[kind]) return ADAPTER_KINDS[kind]
  if (typeof originalCode === 'string') {
    const found = sqlStateKind(originalCode)
    if (found) return found
  }
  if (typeof error.message === 'string' && error.name !== 'ProblemError' && error.name !== 'OAuthError') {
    for (const [pattern, found] of PG_MESSAGES) if (pattern.test(error.message)) return found
  }
  return undefined
}

/**
 * The kind of database unavailability `error` is (looking through Prisma's wrappers, causes and
 * aggregated errors), or undefined when it is something else.
 */
export function databaseFailureOf(error: unknown): DatabaseFailureKind | undefined {
  return findWithin(error, ownKind)
}

/**
 * PostgreSQL refused a statement prepared before a migration changed what it returns (a column's
 * type, a new column under a top-level `*`): 0A000 "cached plan must not change result type",
 * raised when the statement is bound, before it runs. The database is up and the request was
 * right: the statement only needs preparing again (db/stale-statements.ts does it on the
 * connection), and the work can be tried again.
 */
export function isStalePlan(error: unknown): boolean {
  return findWithin(error, ownStalePlan) === true
}

function ownStalePlan({ code, originalCode, routine, message, originalMessage }: Inspectable): true | undefined {
  if (code !== '0A000' && originalCode !== '0A000') return undefined
  // 0A000 is every feature_not_supported: the routine (pg's errors) or the message (Prisma's copy) says which.
  const stale = routine === 'RevalidateCachedQuery' || message === STALE_PLAN_MESSAGE || originalMessage === STALE_PLAN_MESSAGE
  return stale || undefined
}

const STALE_PLAN_MESSAGE = 'cached plan must not change result type'

/** What `own` finds in `error` or, failing that, in what it wraps (Prisma's meta, causes, aggregated errors). */
function findWithin<T>(error: unknown, own: (error: Inspectable) => T | undefined, depth = 0): T | undefined {
  if (typeof error !== 'object' || error === null || depth > 4) return undefined
  const inspected = error as Inspectable
  const found = own(inspected)
  if (found !== undefined) return found
  // A raw query's SQLSTATE is meta.code; a driver adapter's error is meta.driverAdapterError.
  const nested = [inspected.meta?.code === undefined ? undefined : { code: inspected.meta.code }, inspected.meta?.driverAdapterError, inspected.cause, ...(Array.isArray(inspected.errors) ? inspected.errors : [])]
  for (const inner of nested) {
    const innerFound = findWithin(inner, own, depth + 1)
    if (innerFound !== undefined) return innerFound
  }
  return undefined
}
