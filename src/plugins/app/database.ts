import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { openDatabase, type Database } from '../../db/database.js'
import { createOutageMonitor, type OutageMonitor } from '../../db/outage.js'
import { DATABASE_FAILURE_KINDS } from '../../db/unavailable.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Database
    /** Whether the database answers; counts and logs its outages (see db/outage.ts). */
    databaseHealth: OutageMonitor
  }
}

/**
 * Opens the database (applying pending migrations) before the app is ready; closes it last.
 * Watches it: a request that fails because the database is unreachable is counted in
 * database_errors_total{kind} and in the outage's "database back" line instead of being logged
 * with its stack (the error renderer answers it 503).
 */
export default fp<{ database?: Database }>(
  async (app, { database }) => {
    const { config } = app
    const errors = new Counter({
      name: 'database_errors_total',
      help: 'Failures to reach the database (requests, background jobs and readiness pings), by kind',
      labelNames: ['kind'] as const,
      registers: [app.metrics.registry],
    })
    for (const kind of DATABASE_FAILURE_KINDS) errors.inc({ kind }, 0)
    let db: Database | undefined = database
    const monitor = createOutageMonitor({
      ping: () => db!.ping(),
      log: app.log,
      onFailure: (kind) => errors.inc({ kind }),
      // Connections idle across an outage may be silent for good: open fresh ones.
      onChange: () => db!.discardIdle(),
      settleMs: config.DATABASE_CONNECT_TIMEOUT_MS + config.DATABASE_QUERY_TIMEOUT_MS,
    })
    db ??= await openDatabase({
      config,
      log: app.log,
      onIdleConnectionError: (error) => void monitor.report(error, 'background'),
    })
    app.decorate('db', db)
    app.decorate('databaseHealth', monitor)
    app.addHook('onError', (_request, _reply, error, done) => {
      monitor.report(error)
      done()
    })
    app.addHook('onClose', async () => {
      monitor.close()
      if (!database) await db.close()
    })
  },
  { name: 'database', dependencies: ['metrics'] },
)
