import { describe, expect, it } from 'vitest'
import type { PurgeBatch, PurgeRepository } from '../../../src/repositories/purge.js'
import { createPurgeService } from '../../../src/services/purge.js'

const CONFIG = { ACCESS_TOKEN_TTL_SECONDS: 600, SECURITY_EVENT_RETENTION_DAYS: 90 }

/** A repository whose every batch is full (a backlog without end) and takes `batchMs`; it records when each batch started and ended. */
function endlessBacklog(batchMs: number) {
  const batches: Array<{ start: number; end: number }> = []
  const repository = {
    async deleteBatch(_cutoffs: unknown, limit: number): Promise<PurgeBatch> {
      const start = performance.now()
      await new Promise((resolve) => setTimeout(resolve, batchMs))
      batches.push({ start, end: performance.now() })
      return { sessions: limit, refreshTokens: 0, securityEvents: 0, idempotencyRecords: 0, authorizationCodes: 0 }
    },
    tableSizes: async () => ({ sessions: 0, refreshTokens: 0, securityEvents: 0, revokedAccessTokens: 0 }),
  } as unknown as PurgeRepository
  return { repository, batches }
}

describe('the purge between its batches', () => {
  it('rests restFactor times as long as the batch took, so it takes a bounded share of the database', async () => {
    const { repository, batches } = endlessBacklog(20)
    const purge = createPurgeService({ repository, clock: () => new Date(), config: CONFIG, batchSize: 10, restFactor: 3 })
    const stop = new AbortController()
    const run = purge.run({ signal: stop.signal })
    await new Promise((resolve) => setTimeout(resolve, 400))
    stop.abort()
    const result = await run
    expect(result.batches).toBe(batches.length)
    expect(batches.length).toBeGreaterThanOrEqual(2)
    // Back to back, 400 ms would hold about 20 batches of 20 ms; resting 3x each, about 5.
    expect(batches.length).toBeLessThanOrEqual(7)
    for (let i = 1; i < batches.length; i++) {
      const took = batches[i - 1]!.end - batches[i - 1]!.start
      // Timers may fire a millisecond early.
      expect(batches[i]!.start - batches[i - 1]!.end).toBeGreaterThanOrEqual(3 * took - 2)
    }
  })

  it('ends a run after the batch in progress once its signal aborts, without waiting out the rest', async () => {
    const { repository, batches } = endlessBacklog(20)
    const purge = createPurgeService({ repository, clock: () => new Date(), config: CONFIG, batchSize: 10, restFactor: 1000 })
    const stop = new AbortController()
    const run = purge.run({ signal: stop.signal })
    await new Promise((resolve) => setTimeout(resolve, 50))
    const abortedAt = performance.now()
    stop.abort()
    const result = await run
    expect(result.batches).toBe(1)
    expect(batches).toHaveLength(1)
    // The rest after the first batch would have lasted 20 s.
    expect(performance.now() - abortedAt).toBeLessThan(1000)
  })
})
