import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import argon2, { type HashOptions } from 'argon2'
import type { Config } from '../config.js'
import { AbandonedError } from '../errors.js'

export interface Argon2Parameters {
  memoryCost: number
  timeCost: number
  parallelism: number
}

export function argon2Parameters(config: Pick<Config, 'ARGON2_MEMORY_KIB' | 'ARGON2_ITERATIONS' | 'ARGON2_PARALLELISM'>): Argon2Parameters {
  return { memoryCost: config.ARGON2_MEMORY_KIB, timeCost: config.ARGON2_ITERATIONS, parallelism: config.ARGON2_PARALLELISM }
}

/**
 * At most `limit` of the given jobs run at once; the others wait their turn, first come first served.
 * A job whose `signal` has aborted by the time its turn comes does not run: it rejects with
 * AbandonedError and hands its slot on.
 */
export function createLimiter(limit: number) {
  let running = 0
  const waiting: (() => void)[] = []
  return async function limited<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw new AbandonedError()
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve))
    else running++
    try {
      if (signal?.aborted) throw new AbandonedError()
      return await job()
    } finally {
      const next = waiting.shift()
      if (next) next()
      else running--
    }
  }
}

/**
 * argon2 jobs let into libuv's threadpool at once: one per core, and never the whole threadpool.
 * A login flood then queues here, not in the threadpool, where it would hold up every short job
 * behind it (token signatures, file and DNS work); and hashes beyond the cores would add no
 * throughput, only share the cores among themselves while the event loop waits its turn for one.
 */
export function argon2Concurrency(threadpoolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4, cores = availableParallelism()): number {
  return Math.max(1, Math.min(threadpoolSize - 1, cores))
}

/**
 * argon2id at the configured parameters. Each operation takes the caller's AbortSignal: once it has
 * aborted (the client is gone) the operation rejects with AbandonedError instead of hashing, checked
 * when its turn comes, so a flood's abandoned requests cost no argon2 work. The same check for a
 * real digest and for verifyNothing's dummy: an abandoned request tells nothing about the account.
 */
export function createPasswordHasher(parameters: Argon2Parameters, concurrency = argon2Concurrency()) {
  const options: HashOptions = { type: argon2.argon2id, ...parameters }
  const limited = createLimiter(concurrency)
  let dummy: Promise<string> | undefined

  const hasher = {
    hash(password: string, signal?: AbortSignal): Promise<string> {
      return limited(() => argon2.hash(password, options), signal)
    },

    /** False (never a throw) for a wrong password or a digest argon2 cannot read; AbandonedError once `signal` aborted. */
    async verify(digest: string, password: string, signal?: AbortSignal): Promise<boolean> {
      return limited(async () => {
        try {
          return await argon2.verify(digest, password)
        } catch {
          return false
        }
      }, signal)
    },

    /** True when the digest was made with other parameters (or another argon2 variant) than the configured ones. */
    needsRehash(digest: string): boolean {
      if (!digest.startsWith('$argon2id$')) return true
      try {
        return argon2.needsRehash(digest, parameters)
      } catch {
        return true
      }
    },

    /**
     * Spends the time of a real verification, for an account that does not exist, so that the
     * answer's timing does not tell whether the email is registered. Always false.
     */
    async verifyNothing(password: string, signal?: AbortSignal): Promise<false> {
      dummy ??= hasher.hash(randomBytes(32).toString('base64url'))
      await hasher.verify(await dummy, password, signal)
      return false
    },

    /** Computes the dummy digest ahead of the first unknown-email login. */
    async warmUp(): Promise<void> {
      dummy ??= hasher.hash(randomBytes(32).toString('base64url'))
      await dummy
    },
  }
  return hasher
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>
