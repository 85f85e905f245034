import type { FastifyServerOptions } from 'fastify'
import type { TrustProxy } from '../config.js'

/**
 * TRUST_PROXY as Fastify's `trustProxy`. A hop count becomes a function trusting the peer and the
 * n − 1 proxies before it (Fastify 5 refuses a bare number, since a count cannot tell a proxy from
 * a client that reached the service directly: use a count only where nothing but the proxies can).
 * The client address is then the first one, from the right of X-Forwarded-For, not vouched for.
 */
export function trustProxyOption(setting: TrustProxy): FastifyServerOptions['trustProxy'] {
  if (typeof setting !== 'number') return setting
  return (_address: string, hop: number) => hop < setting
}
