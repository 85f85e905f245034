import type { LoadResult } from './load.js'

/**
 * How many single-use credentials (authorization codes) to mint for a run: the fastest pace seen so
 * far (a first guess before any run) over the run's seconds, three times over, as a shared
 * machine's next round can run twice as fast as the last. A run that used them all up fails.
 */
export function createSingleUseSizer(firstGuessPerSecond: number) {
  let pace = firstGuessPerSecond
  return {
    count: (seconds: number) => Math.ceil(pace * seconds * 3),
    /** Every request of the run took a value, answered 2xx or not. */
    observe(result: LoadResult) {
      if (result.durationSeconds > 0) pace = Math.max(pace, result.total / result.durationSeconds)
    },
  }
}
