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
  let loop: { stop: AbortController; done: Promise<Totals & { seconds: number; deleted: number }> } | undefined

  /** Purge runs (each resting between its batches, as in production) back to back until one deletes nothing, or `signal`, or `maxSeconds`. */
  async function purgeUntil(signal: AbortSignal | undefined, maxSeconds: number) {
    const total = empty()
    const started = performance.now()
    while (!signal?.aborted && performance.now() - started < maxSeconds * 1000) {
      const run = await app.purge.run(signal ? { signal } : {})
      add(total, run)
      if (deleted(total) === 0 || run.sessions + run.refreshTokens + run.securityEvents + run.idempotencyRecords + run.authorizationCodes === 0) break
    }
    return { ...total, seconds: (performance.now() - started) / 1000, deleted: deleted(total) }
  }

  return {
    /** Purges the backlog to the end (or `maxSeconds`): rows deleted and how long it took. */
    'scale.purge': (params: unknown) => purgeUntil(undefined, (params as { maxSeconds?: number } | null)?.maxSeconds ?? 600),
    /** Starts purging in the background, run after run (a refresh run is measured meanwhile). */
    'scale.purgeStart': () => {
      const stop = new AbortController()
      loop = { stop, done: purgeUntil(stop.signal, 3600) }
    },
    /** Stops the background purge and says what it deleted. */
    'scale.purgeStop': async () => {
      if (!loop) return null
      // Ends the run after its batch in progress (a run is up to 200 batches).
      loop.stop.abort()
      const result = await loop.done
      loop = undefined
      return result
    },
  }
}
