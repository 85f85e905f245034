import { Prisma } from '../generated/prisma/client.js'

const TRANSIENT_SQLSTATES = new Set(['40001', '40P01'])

/** The SQLSTATE behind a Prisma error, whether it came from a model query or a raw one. */
function sqlStateOf(error: unknown): string | undefined {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return undefined
  const meta = error.meta as { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown } } } | undefined
  const sqlState = meta?.code ?? meta?.driverAdapterError?.cause?.originalCode
  return typeof sqlState === 'string' ? sqlState : undefined
}

/** A deadlock or serialization failure: the work may simply be tried again. */
export function isTransientConflict(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2034') return true
  const sqlState = sqlStateOf(error)
  return sqlState !== undefined && TRANSIENT_SQLSTATES.has(sqlState)
}
