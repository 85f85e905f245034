import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
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

// Fake timers (performance.now included): the rests are checked against the clock the purge reads,
// not against the machine's scheduling.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('the purge between its batches', () => {
  it('rests restFactor times as long as the batch took, so it takes a bounded share of the database', async () => {
    const { repository, batches } = endlessBacklog(20)
    const purge = createPurgeService({ repository, clock: () => new Date(), config: CONFIG, batchSize: 10, restFactor: 3 })
    const stop = new AbortController()
    const run = purge.run({ signal: stop.signal })
    // 390 ms in, the fifth batch (320-340 ms) is followed by its rest: the abort ends it.
    await vi.advanceTimersByTimeAsync(390)
    stop.abort()
    await vi.advanceTimersByTimeAsync(0)
    const result = await run
    expect(result.batches).toBe(batches.length)
    // Each 20 ms batch is followed by a 60 ms rest: batches start at 0, 80, 160, 240 and 320 ms
    // (back to back, 390 ms would have held 19 of them).
    expect(batches.map((batch) => batch.start - batches[0]!.start)).toEqual([0, 80, 160, 240, 320])
  })

  it('ends a run after the batch in progress once its signal aborts, without waiting out the rest', async () => {
    const { repository, batches } = endlessBacklog(20)
    const purge = createPurgeService({ repository, clock: () => new Date(), config: CONFIG, batchSize: 10, restFactor: 1000 })
    const stop = new AbortController()
    let settled = false
    const run = purge.run({ signal: stop.signal }).finally(() => (settled = true))
    await vi.advanceTimersByTimeAsync(50)
    stop.abort()
    // No time passes: the 20 s rest after the first batch must end with the signal.
    await vi.advanceTimersByTimeAsync(0)
    expect(settled).toBe(true)
    const result = await run
    expect(result.batches).toBe(1)
    expect(batches).toHaveLength(1)
  })
})
