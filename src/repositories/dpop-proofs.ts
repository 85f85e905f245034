import { createRedisReplayCache as createVerifierRedisReplayCache } from '@tollgate/verifier'
import type { Redis } from 'ioredis'
import type { DpopReplayCache } from '../domain/dpop/proof.js'
import type { Db } from './users.js'

/**
 * The proofs seen, in PostgreSQL (no REDIS_URL): one statement claims a key, or takes over a row
 * whose proof has expired; a concurrent claim of the same key waits on the row and finds it taken.
 */
export function createPostgresReplayCache(db: Db, clock: () => Date): DpopReplayCache {
  return {
    async claim(key, expiresAt) {
      const rows = await db.$queryRaw<Array<{ key: string }>>`
        INSERT INTO dpop_proofs (key, expires_at) VALUES (${key}, ${expiresAt})
        ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE dpop_proofs.expires_at <= ${clock()}
        RETURNING key`
      return rows.length === 1
    },
  }
}

/** Expired proofs go: they would be refused on their `iat` anyway. */
export async function deleteExpiredProofs(db: Db, before: Date, limit: number): Promise<number> {
  return db.$executeRaw`
    DELETE FROM dpop_proofs WHERE key IN (SELECT key FROM dpop_proofs WHERE expires_at < ${before} LIMIT ${limit} FOR UPDATE SKIP LOCKED)`
}

/**
 * The proofs seen, in Redis under the deployment's key prefix: the verifier package's Redis cache
 * (SET NX with the proof's remaining lifetime), so tollgate and resource servers agree on it.
 */
export function createRedisReplayCache(redis: Redis, prefix: string, clock: () => Date): DpopReplayCache {
  return createVerifierRedisReplayCache(redis, { prefix, currentDate: clock })
}
