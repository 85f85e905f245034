import type { Config } from '../config.js'
import { idempotencyCutoff } from '../domain/idempotency/idempotency-key.js'
import type { PurgeBatch, PurgeCutoffs, PurgeRepository } from '../repositories/purge.js'
import type { Clock } from './access-tokens.js'
import { FEED_SKEW_SECONDS } from './revocations.js'

export const PURGE_BATCH_SIZE = 1000
/** A run stops after this many batches, and the next run goes on where it stopped. */
const MAX_BATCHES_PER_RUN = 200

export interface PurgeResult extends PurgeBatch {
  /** False when another instance held the lock (it is purging). */
  ran: boolean
  batches: number
}

/** Clocks of instances drift apart: one purging must not drop a sid another still lists in its feed. */
const CLOCK_SKEW_MARGIN_SECONDS = 300

/** How long an ended (revoked or expired) session and its refresh tokens are kept. */
export function endedSessionRetentionSeconds(config: Pick<Config, 'ACCESS_TOKEN_TTL_SECONDS'>): number {
  return config.ACCESS_TOKEN_TTL_SECONDS + FEED_SKEW_SECONDS + CLOCK_SKEW_MARGIN_SECONDS
}

/**
 * What may go, and when:
 *
 * - A revoked session stays for one access-token lifetime (plus the feed's skew and a margin for
 *   clocks that disagree) after its revocation: GET /v1/revocations lists its sid that long, and tollgate's own check of a sid
 *   reads the row. Its access tokens have all expired by then.
 * - An expired session stays as long, for the access tokens its last refresh minted.
 * - A session's refresh tokens go with it, and only with it. Rotated tokens of a live session are
 *   kept even though they no longer work: reuse detection recognises a stale token by its row. With
 *   the row deleted, replaying a stolen, rotated token would be an unknown token, a plain
 *   invalid_grant, and the family the thief raced would stay alive. Their number is bounded by
 *   the rotations within one session's absolute lifetime.
 * - Security events stay for SECURITY_EVENT_RETENTION_DAYS.
 * - An idempotency record stays as long as a retry of its cart add may reuse its key (24 h).
 * - An authorization code stays a day past its expiry (60 s): a replay within that day still
 *   revokes what the code's first use started; later it is a plain invalid_grant.
 */
/** How long an expired authorization code is kept, so that a replay is still recognised. */
export const AUTHORIZATION_CODE_RETENTION_SECONDS = 24 * 3600

export function purgeCutoffs(now: Date, config: Pick<Config, 'ACCESS_TOKEN_TTL_SECONDS' | 'SECURITY_EVENT_RETENTION_DAYS'>): PurgeCutoffs {
  const sessionsBefore = new Date(now.getTime() - endedSessionRetentionSeconds(config) * 1000)
  return {
    revokedBefore: sessionsBefore,
    expiredBefore: sessionsBefore,
    eventsBefore: new Date(now.getTime() - config.SECURITY_EVENT_RETENTION_DAYS * 24 * 3600 * 1000),
    idempotencyBefore: idempotencyCutoff(now),
    authorizationCodesBefore: new Date(now.getTime() - AUTHORIZATION_CODE_RETENTION_SECONDS * 1000),
  }
}

export function createPurgeService(deps: {
  repository: PurgeRepository
  clock: Clock
  config: Pick<Config, 'ACCESS_TOKEN_TTL_SECONDS' | 'SECURITY_EVENT_RETENTION_DAYS'>
  batchSize?: number
  /** Told what each run deleted (metrics). */
  onPurged?: (result: PurgeResult) => void
}) {
  const batchSize = deps.batchSize ?? PURGE_BATCH_SIZE
  let running: Promise<PurgeResult> | undefined

  async function purge(): Promise<PurgeResult> {
    const cutoffs = purgeCutoffs(deps.clock(), deps.config)
    const total: PurgeResult = { ran: true, batches: 0, sessions: 0, refreshTokens: 0, securityEvents: 0, idempotencyRecords: 0, authorizationCodes: 0 }
    while (total.batches < MAX_BATCHES_PER_RUN) {
      const batch = await deps.repository.deleteBatch(cutoffs, batchSize)
      if (!batch) return { ...total, ran: total.batches > 0 }
      total.batches++
      total.sessions += batch.sessions
      total.refreshTokens += batch.refreshTokens
      total.securityEvents += batch.securityEvents
      total.idempotencyRecords += batch.idempotencyRecords
      total.authorizationCodes += batch.authorizationCodes
      if ([batch.sessions, batch.securityEvents, batch.idempotencyRecords, batch.authorizationCodes].every((count) => count < batchSize)) break
      // Between batches, let requests waiting for the event loop (and the pool) through.
      await new Promise((resolve) => setImmediate(resolve))
    }
    deps.onPurged?.(total)
    return total
  }

  return {
    /** Deletes everything that has ended (see purgeCutoffs). A call during a run joins that run. */
    run(): Promise<PurgeResult> {
      running ??= purge().finally(() => (running = undefined))
      return running
    },
    /** Resolves when no run is in progress (for a clean close). */
    async idle(): Promise<void> {
      await running?.catch(() => {})
    },
    tableSizes: () => deps.repository.tableSizes(),
  }
}

export type PurgeService = ReturnType<typeof createPurgeService>
