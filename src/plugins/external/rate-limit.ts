import { once } from 'node:events'
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import { Counter } from 'prom-client'
import type { Config } from '../../config.js'
import { ProblemError } from '../../errors.js'
import { MemoryRateLimitStore } from '../../http/memory-rate-limit-store.js'
import { redisRateLimitStore } from '../../http/redis-rate-limit-store.js'
import { policyFor, type RateLimitRule } from '../../http/rate-limit-policy.js'

type Limiter = ReturnType<FastifyInstance['createRateLimit']>
type Verdict = Extract<Awaited<ReturnType<Limiter>>, { isAllowed: false }>

const HEADERS = { limit: 'ratelimit-limit', remaining: 'ratelimit-remaining', reset: 'ratelimit-reset' } as const

// Distinct keys per counter kept in memory (per rule) before the least recently used is dropped.
const LOCAL_CACHE_SIZE = 100_000

// Said outside production only, where a developer trying the API hits a login limit in a minute.
const LOCAL_HINT = ' (developing locally? RATE_LIMIT_ENABLED=false turns the limits off)'

function tooManyRequests(retryAfterSeconds: number, hint: string) {
  const seconds = Math.max(1, retryAfterSeconds)
  return new ProblemError('rate_limited', `Too many requests; retry in ${seconds} s${hint}`, { retryAfterSeconds: seconds })
}

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
 * Rate limits with @fastify/rate-limit, attached from one policy table (src/http/rate-limit-policy.ts)
 * to the routes registered after this plugin, so route files carry no limits of their own.
 * A route may apply several counters; the one closest to its limit is reported in the
 * RateLimit-* headers, and the first one exceeded answers 429 with Retry-After.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    if (!config.RATE_LIMIT_ENABLED) return

    const hint = config.NODE_ENV === 'production' ? '' : LOCAL_HINT
    const redis = config.REDIS_URL ? await connectRedis(config.REDIS_URL, app) : undefined
    await app.register(rateLimit, {
      global: false,
      enableDraftSpec: true,
      timeWindow: config.RATE_LIMIT_WINDOW_SECONDS * 1000,
      store: redis ? redisRateLimitStore(redis, `${config.REDIS_KEY_PREFIX}rate-limit:`) : MemoryRateLimitStore,
      errorResponseBuilder: (_request, context) => tooManyRequests(Math.ceil(context.ttl / 1000), hint),
    })

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
    const limiters = new Map<string, Limiter>()
    const limiterFor = (rule: RateLimitRule) => {
      let limiter = limiters.get(rule.name)
      if (!limiter) {
        const options: RateLimitOptions = {
          max: rule.max(config),
          timeWindow: config.RATE_LIMIT_WINDOW_SECONDS * 1000,
          exponentialBackoff: rule.backoff ?? false,
          cache: LOCAL_CACHE_SIZE,
          keyGenerator: (request) => `${rule.name}:${rule.key(request) ?? ''}`,
        }
        limiter = app.createRateLimit(options)
        limiters.set(rule.name, limiter)
      }
      return limiter
    }

    // The lowest remaining count reported so far for a request, across its hooks.
    const reported = new WeakMap<FastifyRequest, number>()
    let storeFailing = false

    const enforce = (rules: readonly RateLimitRule[]) => {
      const checks = rules.map((rule) => ({ rule, limiter: limiterFor(rule) }))
      return async function rateLimitPolicy(request: FastifyRequest, reply: FastifyReply) {
        let closest: Verdict | undefined
        for (const { rule, limiter } of checks) {
          if (rule.key(request) === undefined) continue
          let verdict: Awaited<ReturnType<Limiter>>
          try {
            verdict = await limiter(request)
          } catch (error) {
            // Fail open: a broken counter store must not take logins down with it.
            storeErrors.inc()
            if (!storeFailing) request.log.warn({ err: error, rule: rule.name }, 'rate-limit store failed: request let through')
            storeFailing = true
            continue
          }
          storeFailing = false
          if (verdict.isAllowed) continue
          if (verdict.isExceeded) {
            rejections.inc({ rule: rule.name })
            request.log.info({ rule: rule.name }, 'rate limit exceeded')
            reply.header(HEADERS.limit, verdict.max).header(HEADERS.remaining, 0).header(HEADERS.reset, verdict.ttlInSeconds)
            throw tooManyRequests(verdict.ttlInSeconds, hint)
          }
          if (!closest || verdict.remaining < closest.remaining) closest = verdict
        }
        if (closest && closest.remaining < (reported.get(request) ?? Infinity)) {
          reported.set(request, closest.remaining)
          reply.header(HEADERS.limit, closest.max).header(HEADERS.remaining, closest.remaining).header(HEADERS.reset, closest.ttlInSeconds)
        }
      }
    }

    app.addHook('onRoute', (routeOptions) => {
      const methods = Array.isArray(routeOptions.method) ? routeOptions.method : [routeOptions.method]
      for (const method of methods) {
        const rules = policyFor(method, routeOptions.url)
        for (const hook of ['onRequest', 'preHandler'] as const) {
          const own = rules.filter((rule) => rule.hook === hook)
          if (own.length === 0) continue
          const existing = routeOptions[hook]
          const handlers = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]
          // First among the route's own hooks: the limit is checked before authentication or handlers.
          routeOptions[hook] = [enforce(own) as onRequestAsyncHookHandler, ...handlers]
        }
      }
    })
  },
  { name: 'rate-limit', dependencies: ['metrics'] },
)
