import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    /** The instance's shutdown state: draining from the moment it is asked to stop (see server.ts). */
    drain: Drain
  }
}

export interface Drain {
  readonly active: boolean
  /** Readiness answers 503 from now on and every response carries `Connection: close`. */
  begin(): void
}

/**
 * Zero-error restarts: once draining, a balancer sees the instance unready and, because every
 * response closes its connection, stops reusing its sockets while the instance still serves them.
 * Fastify's own close then only ever meets requests already on their way.
 */
export default fp(
  async (app) => {
    let active = false
    app.decorate('drain', {
      get active() {
        return active
      },
      begin() {
        active = true
      },
    } satisfies Drain)

    app.addHook('onRequest', (_request, reply, done) => {
      if (active) reply.header('connection', 'close')
      done()
    })
  },
  { name: 'drain' },
)
