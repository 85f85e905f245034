import { createRequire } from 'node:module'
import type { Redis } from 'ioredis'

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void

interface RateLimitStore {
  incr(key: string, callback: Callback, timeWindow: number, max: number): void
  read(key: string, callback: Callback): void
  child(options: object): RateLimitStore
}

// Gives one back, never below zero and never into a window that has ended (the key is gone then).
const REFUND = `
  local current = redis.call('GET', KEYS[1])
  if current and tonumber(current) > 0 then return redis.call('DECR', KEYS[1]) end
  return 0
`

interface StoreOptions {
  continueExceeding?: boolean
  exponentialBackoff?: boolean
}

type RedisStoreConstructor = new (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, key: string) => RateLimitStore

// The plugin's own Redis store (its Lua scripts are the counters); it is not exported from the package root.
const RedisStore = createRequire(import.meta.url)('@fastify/rate-limit/store/RedisStore.js') as RedisStoreConstructor

/**
 * The plugin's Redis store under a fixed key prefix. Its own `child` appends the route's method
 * and URL to the prefix, which limiters made with `createRateLimit` do not have, so every key read
 * `…undefinedundefined-…`. tollgate's keys already name their rule (`login-account:<email>`), so a
 * child keeps the prefix as it is and only takes the route's backoff options.
 */
export function redisRateLimitStore(redis: Redis, prefix: string) {
  return class PrefixedRedisRateLimitStore extends RedisStore {
    constructor(options: StoreOptions) {
      super(options.continueExceeding ?? false, options.exponentialBackoff ?? false, redis, prefix)
    }

    override child(options: object): RateLimitStore {
      return new PrefixedRedisRateLimitStore(options as StoreOptions)
    }

    /** Gives one back: an attempt whose outcome does not count. */
    async decr(key: string): Promise<void> {
      await redis.eval(REFUND, 1, `${prefix}${key}`)
    }
  }
}
