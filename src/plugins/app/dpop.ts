import { once } from 'node:events'
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import { createPostgresReplayCache, createRedisReplayCache, deleteExpiredProofs } from '../../repositories/dpop-proofs.js'
import { createDpopService, type DpopService } from '../../services/dpop.js'
import { wallClock } from './context.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** DPoP proofs (RFC 9449) at tollgate's token endpoints and protected routes. */
    dpop: DpopService
  }
}

const PURGE_BATCH = 10_000

/**
 * DPoP: proofs are remembered in Redis when REDIS_URL is set (the deployment's shared store, under
 * REDIS_KEY_PREFIX), else in PostgreSQL, which every instance shares too. Never in memory: a proof
 * replayed on another instance would pass.
 */
export default fp(
  async (app) => {
    const { config } = app
    // A proof's iat is the client's time: it is checked against the wall clock.
    const clock = wallClock
    let replay
    if (config.REDIS_URL) {
      // Unlike rate limits, a DPoP check never lets a request through without Redis: bounded waits, then 503.
      const redis = new Redis(config.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 1000, commandTimeout: 500 })
      redis.on('error', (error: Error) => app.log.debug({ err: error }, 'DPoP replay cache (Redis) unreachable'))
      await Promise.race([once(redis, 'ready'), once(redis, 'error'), new Promise((resolve) => setTimeout(resolve, 2000).unref())]).catch(() => {})
      app.addHook('onClose', async () => {
        await redis.quit().catch(() => redis.disconnect())
      })
      replay = createRedisReplayCache(redis, `${config.REDIS_KEY_PREFIX}dpop:`, clock)
    } else {
      replay = createPostgresReplayCache(app.db.prisma, clock)
      if (config.PURGE_INTERVAL_SECONDS > 0) {
        const timer = setInterval(() => {
          deleteExpiredProofs(app.db.prisma, clock(), PURGE_BATCH).catch((error: unknown) => app.log.debug({ err: error }, 'purging expired DPoP proofs failed'))
        }, config.PURGE_INTERVAL_SECONDS * 1000)
        timer.unref()
        app.addHook('onClose', async () => clearInterval(timer))
      }
    }
    const dpop = createDpopService({ replay, config, nonceSecrets: app.secrets('dpop-nonce'), clock })
    app.decorate('dpop', dpop)
    if (config.DPOP_NONCE_REQUIRED) {
      // RFC 9449 §8.2: every answer to a request with a proof, successful ones too, carries a current
      // nonce, so a client moves to the next one before its own expires instead of paying a
      // use_dpop_nonce round trip every minute or two. A use_dpop_nonce error has set its own.
      app.addHook('onSend', async (request, reply) => {
        if (request.headers.dpop !== undefined && !reply.hasHeader('dpop-nonce')) reply.header('dpop-nonce', dpop.nonce())
      })
    }
  },
  { name: 'dpop', dependencies: ['database', 'keys'] },
)
