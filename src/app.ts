import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Server } from 'node:http'
import Fastify, { type FastifyHttpOptions, type FastifyServerOptions } from 'fastify'
import type { Config } from './config.js'
import type { Database } from './db/database.js'
import { renderError, renderNotFound } from './http/error-renderer.js'
import { loggerOptions } from './http/logger.js'
import { trustProxyOption } from './http/trust-proxy.js'
import { MAX_PARAM_LENGTH } from './http/schemas.js'
import { validatorCompiler } from './http/validation.js'
import accounts from './plugins/app/accounts.js'
import admin from './plugins/app/admin.js'
import authentication from './plugins/app/authentication.js'
import cart from './plugins/app/cart.js'
import context from './plugins/app/context.js'
import database from './plugins/app/database.js'
import dpop from './plugins/app/dpop.js'
import drain from './plugins/app/drain.js'
import jsonBodies from './plugins/app/json-bodies.js'
import keys from './plugins/app/keys.js'
import oauth from './plugins/app/oauth.js'
import purge from './plugins/app/purge.js'
import cookie from './plugins/external/cookie.js'
import cors from './plugins/external/cors.js'
import formbody from './plugins/external/formbody.js'
import helmet from './plugins/external/helmet.js'
import metrics from './plugins/external/metrics.js'
import rateLimit from './plugins/external/rate-limit.js'
import swagger from './plugins/external/swagger.js'
import underPressure from './plugins/external/under-pressure.js'
import adminRoutes from './routes/admin/index.js'
import healthRoutes from './routes/health/index.js'
import rootRoutes from './routes/index.js'
import oauthRoutes from './routes/oauth/index.js'
import authRoutes from './routes/v1/auth/index.js'
import cartRoutes from './routes/v1/cart/index.js'
import meRoutes from './routes/v1/me/index.js'
import revocationsRoutes from './routes/v1/revocations/index.js'
import wellKnownRoutes from './routes/well-known/index.js'

export interface BuildAppOptions {
  /** Use this database instead of opening one from the config (the caller closes it). */
  database?: Database
  /** Override the logger (tests pass false). */
  logger?: FastifyServerOptions['logger']
  /** Socket and timeout options of the HTTP server: src/server.ts gives them, an app that is only injected needs none. */
  server?: ServerOptions
}

export type ServerOptions = Pick<
  FastifyHttpOptions<Server>,
  'connectionTimeout' | 'keepAliveTimeout' | 'requestTimeout' | 'forceCloseConnections' | 'http'
>

/**
 * Builds the whole service as a Fastify instance, ready but not listening. `src/server.ts` (through
 * buildServer), the tests and the benchmarks all build it through here.
 */
export async function buildApp(config: Config, options: BuildAppOptions = {}) {
  const app = Fastify({
    ...options.server,
    logger: options.logger ?? loggerOptions(config),
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: trustProxyOption(config.TRUST_PROXY),
    // Malformed URLs (bad percent-encoding) fail in the router, before the error handler.
    frameworkErrors: renderError,
    // A request that still reaches a closing instance (on a connection opened before the close)
    // is served, with Connection: close; the drain (plugins/app/drain.ts) keeps that rare.
    return503OnClosing: false,
    // Opening the embedded PGlite and applying migrations can take several seconds on a busy machine.
    pluginTimeout: 60_000,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    ajv: { customOptions: { removeAdditional: true } },
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.setValidatorCompiler(validatorCompiler)
  app.setErrorHandler(renderError)
  app.setNotFoundHandler(renderNotFound)

  // The config and the clock, decorated once: every plugin and route reads them from the app.
  await app.register(context, { config })
  // swagger first: it documents only the routes registered after it.
  await app.register(swagger)
  await app.register(drain)
  await app.register(metrics)
  await app.register(underPressure)
  await app.register(helmet)
  await app.register(cors)
  await app.register(rateLimit)
  await app.register(cookie)
  await app.register(jsonBodies)

  await app.register(database, options.database ? { database: options.database } : {})
  await app.register(keys)
  await app.register(dpop)
  await app.register(authentication)
  await app.register(accounts)
  await app.register(oauth)
  await app.register(cart)
  await app.register(admin)
  await app.register(purge)

  await app.register(rootRoutes)
  await app.register(healthRoutes, { prefix: '/health' })
  await app.register(wellKnownRoutes, { prefix: '/.well-known' })
  await app.register(authRoutes, { prefix: '/v1/auth' })
  await app.register(meRoutes, { prefix: '/v1/me' })
  await app.register(cartRoutes, { prefix: '/v1/cart' })
  await app.register(revocationsRoutes, { prefix: '/v1/revocations' })
  await app.register(adminRoutes, { prefix: '/admin/v1' })
  // RFC 6749 makes the OAuth endpoints form-encoded: the one scope whose bodies may be.
  await app.register(
    async (scope) => {
      await scope.register(formbody)
      await scope.register(oauthRoutes)
    },
    { prefix: '/oauth' },
  )

  await app.ready()
  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>
