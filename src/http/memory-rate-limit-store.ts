type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void

interface Entry {
  count: number
  expiresAt: number
}

interface StoreOptions {
  exponentialBackoff?: boolean
  cache?: number
}

/**
 * In-memory counters for @fastify/rate-limit, used when no REDIS_URL is set. It behaves like the
 * plugin's Redis store: a fixed window from the first request, and with exponentialBackoff each
 * request over the limit pushes the expiry to window × 2^(count − max − 1). (The plugin's own
 * LocalStore reports that longer wait but still resets after one window.) Least recently used
 * keys are dropped beyond `cache` entries.
 */
export class MemoryRateLimitStore {
  readonly #entries = new Map<string, Entry>()
  readonly #backoff: boolean
  readonly #capacity: number

  constructor(options: StoreOptions = {}) {
    this.#backoff = options.exponentialBackoff ?? false
    this.#capacity = options.cache ?? 10_000
  }

  incr(key: string, callback: Callback, timeWindow: number, max: number) {
    const now = Date.now()
    let entry = this.#entries.get(key)
    if (!entry || entry.expiresAt <= now) entry = { count: 0, expiresAt: now + timeWindow }
    this.#entries.delete(key)
    entry.count++
    if (this.#backoff && entry.count > max) {
      entry.expiresAt = now + Math.min(timeWindow * 2 ** (entry.count - max - 1), Number.MAX_SAFE_INTEGER - now)
    }
    this.#entries.set(key, entry)
    if (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value!)
    callback(null, { current: entry.count, ttl: entry.expiresAt - now })
  }

  /** Gives one back (an attempt whose outcome does not count); nothing when the window has ended. */
  decr(key: string): Promise<void> {
    const entry = this.#entries.get(key)
    if (entry && entry.expiresAt > Date.now() && entry.count > 0) entry.count--
    return Promise.resolve()
  }

  read(key: string, callback: Callback) {
    const now = Date.now()
    const entry = this.#entries.get(key)
    if (!entry || entry.expiresAt <= now) return callback(null, { current: 0, ttl: 0 })
    callback(null, { current: entry.count, ttl: entry.expiresAt - now })
  }

  /** The plugin passes a route's merged rate-limit options. */
  child(options: object) {
    return new MemoryRateLimitStore(options as StoreOptions)
  }
}
