import fp from 'fastify-plugin'
import type { Config } from '../../config.js'
import type { Clock } from '../../services/access-tokens.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The configuration the app was built with: plugins and routes hand services the slices they need. */
    config: Config
    /**
     * The time of tollgate's own records: sessions, grace windows, idle and absolute expiry,
     * sign-ins and authorization codes, clients, carts, the purge. Tests replace it to walk
     * through lifetimes without sleeping. What others check against their own clocks (signed
     * tokens, signing keys, the revocations feed, DPoP proofs) keeps the wall clock.
     */
    clock: Clock
  }
}

/** The wall clock, for what is signed for, or checked against, another party's time. */
export const wallClock: Clock = () => new Date()

/** Decorates the app with its config and its clock, once, before any other plugin. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    app.decorate('config', config)
    app.decorate('clock', wallClock)
  },
  { name: 'context' },
)
