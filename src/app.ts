import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyServerOptions } from 'fastify'
import type { Config } from './config.js'
import type { Database } from './db/database.js'
import { renderError, renderNotFound } from './http/error-renderer.js'
import { loggerOptions } from './http/logger.js'
import { validatorCompiler } from './http/validation.js'
import authentication from './plugins/app/authentication.js'
import database from './plugins/app/database.js'
import keys from './plugins/app/keys.js'
import cookie from './plugins/external/cookie.js'
import formbody from './plugins/external/formbody.js'
import metrics from './plugins/external/metrics.js'
import swagger from './plugins/external/swagger.js'
import healthRoutes from './routes/health/index.js'

export interface BuildAppOptions {
  /** Use this database instead of opening one from the config (the caller closes it). */
  database?: Database
  /** Override the logger (tests pass false). */
  logger?: FastifyServerOptions['logger']
}

/**
 * Builds the whole service as a Fastify instance, ready but not listening. `src/server.ts`, the
 * tests and the benchmarks all build it through here.
 */
export async function buildApp(config: Config, options: BuildAppOptions = {}) {
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config),
    bodyLimit: config.BODY_LIMIT_BYTES,
    connectionTimeout: config.CONNECTION_TIMEOUT_SECONDS * 1000,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    requestTimeout: config.REQUEST_TIMEOUT_SECONDS * 1000,
    trustProxy: config.TRUST_PROXY,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    ajv: { customOptions: { removeAdditional: true } },
  }).withTypeProvider<TypeBoxTypeProvider>()

  // Slow clients: a socket that has not sent its headers in time is closed, and the number of
  // open sockets is capped so a flood of them cannot exhaust the process.
  app.server.headersTimeout = config.HEADERS_TIMEOUT_SECONDS * 1000
  app.server.maxConnections = config.MAX_CONNECTIONS

  app.setValidatorCompiler(validatorCompiler)
  app.setErrorHandler(renderError)
  app.setNotFoundHandler(renderNotFound)

  // swagger first: it documents only the routes registered after it.
  await app.register(swagger)
  await app.register(metrics)
  await app.register(cookie)
  await app.register(formbody)

  await app.register(database, { config, ...(options.database ? { database: options.database } : {}) })
  await app.register(keys, { config })
  await app.register(authentication)

  await app.register(healthRoutes, { prefix: '/health' })

  await app.ready()
  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>
