import pg from 'pg'
import { isStalePlan } from '../db/unavailable.js'
import { Prisma } from '../generated/prisma/client.js'

const TRANSIENT_SQLSTATES = new Set(['40001', '40P01'])

/** The SQLSTATE behind a Prisma error (from a model query or a raw one) or a pg error (see db/sql.ts). */
function sqlStateOf(error: unknown): string | undefined {
  if (error instanceof pg.DatabaseError) return error.code
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return undefined
  const meta = error.meta as { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown } } } | undefined
  const sqlState = meta?.code ?? meta?.driverAdapterError?.cause?.originalCode
  return typeof sqlState === 'string' ? sqlState : undefined
}

/**
 * A deadlock, a serialization failure, or a statement prepared before a migration changed what it
 * returns (prepared again since, see db/stale-statements.ts): the work may simply be tried again.
 */
export function isTransientConflict(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2034') return true
  if (isStalePlan(error)) return true
  const sqlState = sqlStateOf(error)
  return sqlState !== undefined && TRANSIENT_SQLSTATES.has(sqlState)
}

/** A NOWAIT lock that another transaction holds (lock_not_available). */
export function isLockUnavailable(error: unknown): boolean {
  return sqlStateOf(error) === '55P03'
}
