#!/usr/bin/env node
import { existsSync, realpathSync } from 'node:fs'
import { Server as NetServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import closeWithGrace from 'close-with-grace'
import { buildApp, type BuildAppOptions, type ServerOptions } from './app.js'
import { ConfigError, EXIT_CONFIG, loadConfig, type Config } from './config.js'
import { listenForMetrics } from './plugins/external/metrics.js'
import { KeyDecryptionError } from './services/key-encryption-key.js'

/**
 * Process glue only: config → buildApp → listen → graceful close on SIGTERM/SIGINT.
 *
 * Closing is a drain first: readiness turns 503 at once and responses close their connections
 * while the instance keeps serving for DRAIN_DELAY_SECONDS, long enough for a balancer to take
 * it out of rotation; only then does it stop accepting, finish what is in flight and close the
 * database. SHUTDOWN_TIMEOUT_SECONDS bounds that second part.
 */
/** After the listener closes, how long connections accepted just before get to deliver their request. */
const ACCEPTED_SETTLE_MS = 1000

/** The HTTP server's socket and timeout options, from the config. */
export function serverOptions(config: Config): ServerOptions {
  return {
    connectionTimeout: config.CONNECTION_TIMEOUT_SECONDS * 1000,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    requestTimeout: config.REQUEST_TIMEOUT_SECONDS * 1000,
    // Node enforces headersTimeout and requestTimeout only when it sweeps its connections, every
    // 30 s by default: without this a slowloris socket outlives HEADERS_TIMEOUT_SECONDS by up to 30 s.
    http: { connectionsCheckingInterval: 1000 },
    forceCloseConnections: 'idle',
  }
}

/** The app with the server options of a process that listens: what startServer and the benchmarks serve. */
export async function buildServer(config: Config, options: Omit<BuildAppOptions, 'server'> = {}) {
  const app = await buildApp(config, { ...options, server: serverOptions(config) })
  // Slow clients: a socket that has not sent its headers in time is closed, and the number of
  // open sockets is capped so a flood of them cannot exhaust the process.
  app.server.headersTimeout = config.HEADERS_TIMEOUT_SECONDS * 1000
  app.server.maxConnections = config.MAX_CONNECTIONS
  return app
}

export async function startServer(config: Config) {
  const app = await buildServer(config)
  let metrics: Awaited<ReturnType<typeof listenForMetrics>> | undefined
  const grace = (config.DRAIN_DELAY_SECONDS + config.SHUTDOWN_TIMEOUT_SECONDS) * 1000
  closeWithGrace({ delay: grace, logger: app.log }, async ({ signal, err }) => {
    if (err) {
      app.log.error({ err }, 'shutting down after an error')
    } else {
      app.drain.begin()
      app.log.info({ signal, drainSeconds: config.DRAIN_DELAY_SECONDS }, 'shutting down: draining (readiness 503, connections closed after each response)')
      await sleep(config.DRAIN_DELAY_SECONDS * 1000)
      app.log.info('drain over: no new connections, finishing in-flight requests')
      // Stop accepting first, and only then close idle connections (app.close): a connection the
      // balancer opened a moment ago carries a request Node has not read yet, so it counts as idle,
      // and closing it then resets it under that request (a 502 for a POST, which no balancer
      // may replay). net.Server's close stops accepting without http.Server's sweep of idle
      // connections; those accepted meanwhile are read and answered (with Connection: close).
      // Connections the kernel completed for the listener but Node has not accepted yet are reset
      // by this close, under the request a balancer already wrote into them. Only a balancer that
      // stopped opening connections before now (it follows readiness, or the operator took the
      // instance out: README, "The balancer") avoids that; nothing in the process can.
      NetServer.prototype.close.call(app.server)
      await sleep(ACCEPTED_SETTLE_MS)
    }
    await app.close()
    await metrics?.close()
  })
  if (config.METRICS_PORT !== undefined) metrics = await listenForMetrics(app, { host: config.METRICS_HOST, port: config.METRICS_PORT })
  await app.listen({ port: config.PORT, host: config.HOST })
  return app
}

/**
 * Reads ./.env into the environment when the file exists (Node's own parser, as `node --env-file`);
 * a variable already set in the environment wins over the file.
 */
export function loadDotEnv(path = '.env') {
  if (existsSync(path)) process.loadEnvFile(path)
}

export function configOrExit(): Config {
  try {
    return loadConfig()
  } catch (error) {
    exitOnConfigError(error)
    throw error
  }
}

/** A bad configuration, or a key-encryption key that cannot open the keys: one message, exit 78. */
export function exitOnConfigError(error: unknown) {
  if (error instanceof ConfigError || error instanceof KeyDecryptionError) {
    console.error(error.message)
    process.exit(EXIT_CONFIG)
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  loadDotEnv()
  await startServer(configOrExit()).catch((error: unknown) => {
    exitOnConfigError(error)
    throw error
  })
}
