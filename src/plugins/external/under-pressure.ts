import underPressure from '@fastify/under-pressure'
import fp from 'fastify-plugin'
import { ProblemError } from '../../errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Read by @fastify/under-pressure per route; returning undefined lets the request through. */
    pressureHandler?: (request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => void
  }
}

export const RETRY_AFTER_SECONDS = 5

// Liveness must not fail under load: an orchestrator would restart a process that is only busy.
// Readiness does shed, which takes the instance out of rotation until it recovers.
export const NEVER_SHED: ReadonlySet<string> = new Set(['/health/live'])

class Overloaded extends ProblemError {
  constructor() {
    super('service_unavailable', 'The service is overloaded; retry later', { retryAfterSeconds: RETRY_AFTER_SECONDS })
  }
}

/**
 * Load shedding with @fastify/under-pressure: while the event loop lags more than
 * MAX_EVENT_LOOP_DELAY_MS, requests get 503 problem+json with Retry-After at once instead of
 * queueing behind the backlog. 0 turns it off. No status route: /health serves that purpose.
 */
export default fp(
  async (app) => {
    const { config } = app
    if (config.MAX_EVENT_LOOP_DELAY_MS === 0) return

    app.addHook('onRoute', (routeOptions) => {
      if (NEVER_SHED.has(routeOptions.url)) {
        routeOptions.config = { ...routeOptions.config, pressureHandler: () => undefined }
      }
    })

    await app.register(underPressure, {
      maxEventLoopDelay: config.MAX_EVENT_LOOP_DELAY_MS,
      retryAfter: RETRY_AFTER_SECONDS,
      exposeStatusRoute: false,
      customError: Overloaded,
    })
  },
  { name: 'under-pressure' },
)
