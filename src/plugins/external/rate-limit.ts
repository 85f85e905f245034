import { once } from 'node:events'
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import { Counter } from 'prom-client'
import { ProblemError } from '../../errors.js'
import { MemoryRateLimitStore } from '../../http/memory-rate-limit-store.js'
import { redisRateLimitStore } from '../../http/redis-rate-limit-store.js'
import { accountKey, rateLimitsOf, RULES, type RateLimitRule } from '../../http/rate-limit-policy.js'
import type { AccountAttempts } from '../../services/accounts.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The per-account budget of password checks, for the use cases that check one (RULES.loginPerAccount). */
    accountAttempts: AccountAttempts
  }
}

/** A counter store: @fastify/rate-limit's Redis store (its Lua script) or the in-memory twin, plus refunds. */
interface CounterStore {
  incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number, max: number): void
  decr(key: string): Promise<void>
}

interface Verdict {
  max: number
  remaining: number
  ttlInSeconds: number
  isExceeded: boolean
}

const HEADERS = { limit: 'ratelimit-limit', remaining: 'ratelimit-remaining', reset: 'ratelimit-reset' } as const

// Distinct keys per counter kept in memory (per rule) before the least recently used is dropped.
const LOCAL_CACHE_SIZE = 100_000

// Said outside production only, where a developer trying the API hits a login limit in a minute.
const LOCAL_HINT = ' (developing locally? RATE_LIMIT_ENABLED=false turns the limits off)'

function tooManyRequests(retryAfterSeconds: number, hint: string) {
  const seconds = Math.max(1, retryAfterSeconds)
  return new ProblemError('rate_limited', `Too many requests; retry in ${seconds} s${hint}`, { retryAfterSeconds: seconds })
}

const NOTHING_TO_REFUND = { refund: async () => {} }

async function connectRedis(url: string, app: FastifyInstance) {
  // No offline queue and one retry: while Redis is unreachable a request must not wait on it.
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 1000, commandTimeout: 500 })
  let reachable = true
  redis.on('error', (error: Error) => {
    if (reachable) app.log.warn({ err: error }, 'rate-limit store (Redis) unreachable: requests are not limited until it is back')
    reachable = false
  })
  redis.on('ready', () => {
    if (!reachable) app.log.info('rate-limit store (Redis) reachable again')
    reachable = true
  })
  await Promise.race([once(redis, 'ready'), once(redis, 'error'), new Promise((resolve) => setTimeout(resolve, 2000).unref())]).catch(() => {})
  app.addHook('onClose', async () => {
    await redis.quit().catch(() => redis.disconnect())
  })
  return redis
}

/**
 * Rate limits each route declares in its config (`rateLimits`, from RATE_LIMITS in
 * src/http/rate-limit-policy.ts), enforced on the routes registered after this plugin. Counters are
 * fixed windows in Redis (REDIS_URL, @fastify/rate-limit's store) or in memory. A route may apply
 * several counters; the one closest to its limit is reported in the RateLimit-* headers, and the
 * first one exceeded answers 429 with Retry-After. A rule that counts only some answers (failed
 * logins) takes its place before the request is handled and gives it back once the answer shows
 * it does not count, so parallel requests cannot slip past the limit.
 */
export default fp(
  async (app) => {
    const { config } = app
    if (!config.RATE_LIMIT_ENABLED) {
      app.decorate('accountAttempts', { take: async () => NOTHING_TO_REFUND })
      return
    }

    const hint = config.NODE_ENV === 'production' ? '' : LOCAL_HINT
    const redis = config.REDIS_URL ? await connectRedis(config.REDIS_URL, app) : undefined
    const RedisStore = redis ? redisRateLimitStore(redis, `${config.REDIS_KEY_PREFIX}rate-limit:`) : undefined
    const timeWindow = config.RATE_LIMIT_WINDOW_SECONDS * 1000

    const rejections = new Counter({
      name: 'rate_limit_rejections_total',
      help: 'Requests refused with 429, by rate-limit rule',
      labelNames: ['rule'] as const,
      registers: [app.metrics.registry],
    })
    const storeErrors = new Counter({
      name: 'rate_limit_store_errors_total',
      help: 'Rate-limit checks skipped because the counter store failed (the request was let through)',
      registers: [app.metrics.registry],
    })

    // Rules with one name share one counter wherever they are attached.
    const stores = new Map<string, CounterStore>()
    const storeFor = (rule: RateLimitRule): CounterStore => {
      let store = stores.get(rule.name)
      if (!store) {
        const exponentialBackoff = rule.backoff ?? false
        store = RedisStore ? new RedisStore({ exponentialBackoff }) : new MemoryRateLimitStore({ exponentialBackoff, cache: LOCAL_CACHE_SIZE })
        stores.set(rule.name, store)
      }
      return store
    }

    let storeFailing = false
    const storeFailed = (request: { log: FastifyInstance['log'] }, error: unknown, rule: RateLimitRule) => {
      // Fail open: a broken counter store must not take logins down with it.
      storeErrors.inc()
      if (!storeFailing) request.log.warn({ err: error, rule: rule.name }, 'rate-limit store failed: request let through')
      storeFailing = true
    }

    /** Counts one request in the rule's bucket `key`; undefined when the store failed (let through). */
    async function hit(rule: RateLimitRule, key: string, log: { log: FastifyInstance['log'] }): Promise<Verdict | undefined> {
      const max = rule.max(config)
      try {
        const { current, ttl } = await new Promise<{ current: number; ttl: number }>((resolve, reject) =>
          storeFor(rule).incr(`${rule.name}:${key}`, (error, result) => (error || !result ? reject(error) : resolve(result)), timeWindow, max),
        )
        storeFailing = false
        return { max, remaining: Math.max(0, max - current), ttlInSeconds: Math.ceil(ttl / 1000), isExceeded: current > max }
      } catch (error) {
        storeFailed(log, error, rule)
        return undefined
      }
    }

    async function refund(rule: RateLimitRule, key: string, log: { log: FastifyInstance['log'] }): Promise<void> {
      try {
        await storeFor(rule).decr(`${rule.name}:${key}`)
      } catch (error) {
        storeFailed(log, error, rule)
      }
    }

    function refuse(rule: RateLimitRule, verdict: Verdict, log: FastifyInstance['log']): ProblemError {
      rejections.inc({ rule: rule.name })
      log.info({ rule: rule.name }, 'rate limit exceeded')
      return tooManyRequests(verdict.ttlInSeconds, hint)
    }

    app.decorate('accountAttempts', {
      async take(email: string) {
        const rule = RULES.loginPerAccount
        const key = accountKey(email)
        if (key === undefined) return NOTHING_TO_REFUND
        const verdict = await hit(rule, key, app)
        if (verdict?.isExceeded) throw refuse(rule, verdict, app.log)
        return verdict ? { refund: () => refund(rule, key, app) } : NOTHING_TO_REFUND
      },
    } satisfies AccountAttempts)

    // The lowest remaining count reported so far for a request, across its hooks.
    const reported = new WeakMap<FastifyRequest, number>()
    // What a request took from counters that keep only some answers: settled once the answer is known.
    const pending = new WeakMap<FastifyRequest, { rule: RateLimitRule; key: string }[]>()

    const enforce = (rules: readonly RateLimitRule[]) =>
      async function rateLimitPolicy(request: FastifyRequest, reply: FastifyReply) {
        let closest: Verdict | undefined
        for (const rule of rules) {
          const key = rule.key(request)
          if (key === undefined) continue
          const verdict = await hit(rule, key, request)
          if (!verdict) continue
          if (verdict.isExceeded) {
            reply.header(HEADERS.limit, verdict.max).header(HEADERS.remaining, 0).header(HEADERS.reset, verdict.ttlInSeconds)
            throw refuse(rule, verdict, request.log)
          }
          if (rule.counts) pending.set(request, [...(pending.get(request) ?? []), { rule, key }])
          if (!closest || verdict.remaining < closest.remaining) closest = verdict
        }
        if (closest && closest.remaining < (reported.get(request) ?? Infinity)) {
          reported.set(request, closest.remaining)
          reply.header(HEADERS.limit, closest.max).header(HEADERS.remaining, closest.remaining).header(HEADERS.reset, closest.ttlInSeconds)
        }
      }

    // Before the answer leaves, so that the caller's next request already sees the refund.
    // Callback style: only the few requests that took from such a counter wait on a promise; an
    // async hook would cost one on every response of every route.
    app.addHook('onSend', (request, reply, payload, done) => {
      const taken = pending.get(request)
      if (!taken) return done(null, payload)
      pending.delete(request)
      const settle = async () => {
        for (const { rule, key } of taken) {
          if (!rule.counts!(reply)) await refund(rule, key, request)
        }
      }
      settle().then(
        () => done(null, payload),
        (error: Error) => done(error),
      )
    })

    app.addHook('onRoute', (routeOptions) => {
      const rules = rateLimitsOf(routeOptions)
      for (const hook of ['onRequest', 'preHandler'] as const) {
        const own = rules.filter((rule) => rule.hook === hook)
        if (own.length === 0) continue
        const existing = routeOptions[hook]
        const handlers = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]
        // First among the route's own hooks: the limit is checked before authentication or handlers.
        routeOptions[hook] = [enforce(own) as onRequestAsyncHookHandler, ...handlers]
      }
    })
  },
  { name: 'rate-limit', dependencies: ['metrics'] },
)
