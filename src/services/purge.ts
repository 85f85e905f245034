import type { Config } from '../config.js'
import { idempotencyCutoff } from '../domain/idempotency/idempotency-key.js'
import type { PurgeBatch, PurgeCutoffs, PurgeRepository } from '../repositories/purge.js'
import type { Clock } from './access-tokens.js'
import { FEED_SKEW_SECONDS, feedStepSeconds } from './revocations.js'

export const PURGE_BATCH_SIZE = 1000
/** A run stops after this many batches, and the next run goes on where it stopped. */
const MAX_BATCHES_PER_RUN = 200
/**
 * Between batches the purge rests this many times as long as the batch took: it takes at most a
 * quarter of one connection's time (and of the database's work), so the requests keep most of
 * both while a backlog is cleared. Back to back, a backlog at SCALE 1 of the scale bench (1.9 M
 * rows, 1,000-session batches of about 0.25 s) cost a refresh run running beside it 27% of its
 * throughput on two cores (0.73x); at a quarter the purge still clears over 10,000 rows a second,
 * far more than sessions end.
 */
export const PURGE_REST_FACTOR = 3

export interface PurgeResult extends PurgeBatch {
  /** False when another instance held the lock (it is purging). */
  ran: boolean
  batches: number
}

/** Clocks of instances drift apart: one purging must not drop a sid another still lists in its feed. */
const CLOCK_SKEW_MARGIN_SECONDS = 300

/**
 * How long an ended (revoked or expired) session and its refresh tokens are kept: as long as the
 * feed may list its sid (one access-token lifetime and its skew, from the start of the feed's
 * step, so up to one step more), plus the margin for clocks.
 */
export function endedSessionRetentionSeconds(config: Pick<Config, 'ACCESS_TOKEN_TTL_SECONDS'>): number {
  return config.ACCESS_TOKEN_TTL_SECONDS + FEED_SKEW_SECONDS + feedStepSeconds(config) + CLOCK_SKEW_MARGIN_SECONDS
}

/**
 * What may go, and when:
 *
 * - A revoked session stays for one access-token lifetime (plus the feed's skew and step, and a margin for
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

/** Waits `ms` (at least a turn of the event loop), or less once `signal` aborts. */
function rest(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return setImmediate(resolve)
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, Math.max(0, ms))
    signal?.addEventListener('abort', done, { once: true })
  })
}

export function createPurgeService(deps: {
  repository: PurgeRepository
  clock: Clock
  config: Pick<Config, 'ACCESS_TOKEN_TTL_SECONDS' | 'SECURITY_EVENT_RETENTION_DAYS'>
  batchSize?: number
  /** How many times a batch's duration to rest after it (PURGE_REST_FACTOR). */
  restFactor?: number
  /** Told what each run deleted (metrics). */
  onPurged?: (result: PurgeResult) => void
}) {
  const batchSize = deps.batchSize ?? PURGE_BATCH_SIZE
  const restFactor = deps.restFactor ?? PURGE_REST_FACTOR
  let running: Promise<PurgeResult> | undefined

  async function purge(signal?: AbortSignal): Promise<PurgeResult> {
    const cutoffs = purgeCutoffs(deps.clock(), deps.config)
    const total: PurgeResult = { ran: true, batches: 0, sessions: 0, refreshTokens: 0, securityEvents: 0, idempotencyRecords: 0, authorizationCodes: 0 }
    while (total.batches < MAX_BATCHES_PER_RUN && !signal?.aborted) {
      const started = performance.now()
      const batch = await deps.repository.deleteBatch(cutoffs, batchSize)
      if (!batch) return { ...total, ran: total.batches > 0 }
      total.batches++
      total.sessions += batch.sessions
      total.refreshTokens += batch.refreshTokens
      total.securityEvents += batch.securityEvents
      total.idempotencyRecords += batch.idempotencyRecords
      total.authorizationCodes += batch.authorizationCodes
      if ([batch.sessions, batch.securityEvents, batch.idempotencyRecords, batch.authorizationCodes].every((count) => count < batchSize)) break
      // Between batches, let requests waiting for the event loop, the pool and the database through.
      await rest((performance.now() - started) * restFactor, signal)
    }
    deps.onPurged?.(total)
    return total
  }

  return {
    /**
     * Deletes everything that has ended (see purgeCutoffs). A call during a run joins that run.
     * `signal` ends the run after the batch in progress (the first caller's signal counts).
     */
    run(options: { signal?: AbortSignal } = {}): Promise<PurgeResult> {
      running ??= purge(options.signal).finally(() => (running = undefined))
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
