import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { createPurgeRepository } from '../../repositories/purge.js'
import { createPurgeService, type PurgeService } from '../../services/purge.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Deletes ended sessions, their refresh tokens, old security events and idempotency records; runs every PURGE_INTERVAL_SECONDS. */
    purge: PurgeService
  }
}

/** The purge job: every PURGE_INTERVAL_SECONDS (0: never), on whichever instance takes the lock. */
export default fp(
  async (app) => {
    const { config } = app
    const deleted = new Counter({
      name: 'purged_rows_total',
      help: 'Rows deleted by the purge job, by table',
      labelNames: ['table'] as const,
      registers: [app.metrics.registry],
    })
    const purge = createPurgeService({
      repository: createPurgeRepository(app.db.prisma),
      clock: () => app.clock(),
      config,
      onPurged: (result) => {
        deleted.inc({ table: 'sessions' }, result.sessions)
        deleted.inc({ table: 'refresh_tokens' }, result.refreshTokens)
        deleted.inc({ table: 'security_events' }, result.securityEvents)
        deleted.inc({ table: 'idempotency_records' }, result.idempotencyRecords)
        deleted.inc({ table: 'authorization_codes' }, result.authorizationCodes)
      },
    })
    app.decorate('purge', purge)

    if (config.PURGE_INTERVAL_SECONDS > 0) {
      // Closing ends a run after its batch in progress, not after its last (it rests between batches).
      const closing = new AbortController()
      const timer = setInterval(() => {
        purge.run({ signal: closing.signal }).then(
          (result) => {
            if (result.sessions + result.securityEvents + result.idempotencyRecords + result.authorizationCodes > 0) {
              app.log.info({ purged: result }, 'purged ended sessions, old security events, idempotency records and authorization codes')
            }
          },
          (error: unknown) => app.databaseHealth.report(error, 'background') || app.log.warn({ err: error }, 'the purge failed; the next run will retry'),
        )
      }, config.PURGE_INTERVAL_SECONDS * 1000)
      timer.unref()
      app.addHook('onClose', async () => {
        clearInterval(timer)
        closing.abort()
        await purge.idle()
      })
    }
  },
  { name: 'purge', dependencies: ['database', 'metrics', 'accounts'] },
)
