import Fastify from 'fastify'
import { testConfig } from '../../helpers/app.js'
import { renderError, renderNotFound } from '../../../src/http/error-renderer.js'
import { RATE_LIMITS } from '../../../src/http/rate-limit-policy.js'
import { trustProxyOption } from '../../../src/http/trust-proxy.js'
import context from '../../../src/plugins/app/context.js'
import cookie from '../../../src/plugins/external/cookie.js'
import formbody from '../../../src/plugins/external/formbody.js'
import helmet from '../../../src/plugins/external/helmet.js'
import metrics from '../../../src/plugins/external/metrics.js'
import rateLimit from '../../../src/plugins/external/rate-limit.js'

/**
 * The rate-limit plugin in front of stand-in routes at the real paths, declaring the real routes'
 * limits, so the policies can be exercised without a database or argon2: login accepts the
 * password "correct", everything else answers 200 or 401; /stand-in/* serve responses the no-store safety net must catch.
 */
export async function buildPolicyApp(env: Record<string, string> = {}) {
  const config = testConfig({ RATE_LIMIT_ENABLED: 'true', ...env })
  const app = Fastify({ trustProxy: trustProxyOption(config.TRUST_PROXY) })
  app.setErrorHandler(renderError)
  app.setNotFoundHandler(renderNotFound)
  await app.register(context, { config })
  await app.register(metrics)
  await app.register(helmet)
  await app.register(rateLimit)
  await app.register(cookie)
  await app.register(formbody)

  const body = { type: 'object', additionalProperties: true } as const
  app.post('/v1/auth/login', { schema: { body }, config: { rateLimits: RATE_LIMITS.login } }, async (request, reply) => {
    const { password } = request.body as { password?: string }
    if (password !== 'correct') return reply.code(401).send({ code: 'invalid_credentials' })
    return { access_token: 'a', refresh_token: 'r' }
  })
  app.post('/v1/auth/register', { config: { rateLimits: RATE_LIMITS.register } }, async (_request, reply) => reply.code(201).send({ id: 'u' }))
  app.post('/v1/auth/refresh', { config: { rateLimits: RATE_LIMITS.refresh } }, async () => ({ ok: true }))
  // A token response from a route that forgot Cache-Control, and one setting only the cookie.
  app.get('/stand-in/token', async () => ({ access_token: 'a', token_type: 'Bearer' }))
  app.get('/stand-in/cookie', async (_request, reply) => reply.setCookie('tollgate_refresh', 'r', { path: '/v1/auth' }).send({ ok: true }))
  app.get('/stand-in/cleared-cookie', async (_request, reply) => reply.clearCookie('tollgate_refresh', { path: '/v1/auth' }).send({ ok: true }))
  app.get('/stand-in/plain', async () => ({ note: 'mentions access_token only in a value' }))
  app.post('/v1/auth/logout', async (_request, reply) => reply.code(204).send())
  app.post('/oauth/token', { config: { errorFormat: 'oauth', rateLimits: RATE_LIMITS.oauthToken } }, async () => ({ ok: true }))
  await app.ready()
  return { app, config }
}
