import type { App } from '../../src/app.js'
import type { PurgeResult } from '../../src/services/purge.js'

type Totals = Omit<PurgeResult, 'ran'>

const empty = (): Totals => ({ batches: 0, sessions: 0, refreshTokens: 0, securityEvents: 0, idempotencyRecords: 0, authorizationCodes: 0 })

function add(total: Totals, run: PurgeResult) {
  for (const key of Object.keys(total) as Array<keyof Totals>) total[key] += run[key]
}

const deleted = (total: Totals) => total.sessions + total.refreshTokens + total.securityEvents + total.idempotencyRecords + total.authorizationCodes

/**
 * The scale benchmark's purge controls (bench/scale.ts): the server runs with
 * PURGE_INTERVAL_SECONDS=0 and the benchmark decides when the purge works, so that a refresh run
 * can be measured with and without it.
 */
export function scaleCalls(app: App) {
  let loop: { stop: boolean; done: Promise<Totals & { seconds: number; deleted: number }> } | undefined

  /** Purge runs back to back until one deletes nothing, or `stop`, or `maxSeconds`. */
  async function purgeUntil(shouldStop: () => boolean, maxSeconds: number) {
    const total = empty()
    const started = performance.now()
    while (!shouldStop() && performance.now() - started < maxSeconds * 1000) {
      const run = await app.purge.run()
      add(total, run)
      if (deleted(total) === 0 || run.sessions + run.refreshTokens + run.securityEvents + run.idempotencyRecords + run.authorizationCodes === 0) break
    }
    return { ...total, seconds: (performance.now() - started) / 1000, deleted: deleted(total) }
  }

  return {
    /** Purges the backlog to the end (or `maxSeconds`): rows deleted and how long it took. */
    'scale.purge': (params: unknown) => purgeUntil(() => false, (params as { maxSeconds?: number } | null)?.maxSeconds ?? 600),
    /** Starts purging in the background, run after run (a refresh run is measured meanwhile). */
    'scale.purgeStart': () => {
      const state = { stop: false } as { stop: boolean; done: Promise<Totals & { seconds: number; deleted: number }> }
      state.done = purgeUntil(() => state.stop, 3600)
      loop = state
    },
    /** Stops the background purge and says what it deleted. */
    'scale.purgeStop': async () => {
      if (!loop) return null
      loop.stop = true
      const result = await loop.done
      loop = undefined
      return result
    },
  }
}
