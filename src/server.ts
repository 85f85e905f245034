#!/usr/bin/env node
import { realpathSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'

/**
 * Process glue only: config → buildApp → listen → graceful close on SIGTERM/SIGINT.
 *
 * Closing is a drain first: readiness turns 503 at once and responses close their connections
 * while the instance keeps serving for DRAIN_DELAY_SECONDS, long enough for a balancer to take
 * it out of rotation; only then does it stop accepting, finish what is in flight and close the
 * database. SHUTDOWN_TIMEOUT_SECONDS bounds that second part.
 */
export async function startServer(config: Config) {
  const app = await buildApp(config)
  const grace = (config.DRAIN_DELAY_SECONDS + config.SHUTDOWN_TIMEOUT_SECONDS) * 1000
  closeWithGrace({ delay: grace, logger: app.log }, async ({ signal, err }) => {
    if (err) {
      app.log.error({ err }, 'shutting down after an error')
    } else {
      app.drain.begin()
      app.log.info({ signal, drainSeconds: config.DRAIN_DELAY_SECONDS }, 'shutting down: draining (readiness 503, connections closed after each response)')
      await sleep(config.DRAIN_DELAY_SECONDS * 1000)
      app.log.info('drain over: no new connections, finishing in-flight requests')
    }
    await app.close()
  })
  await app.listen({ port: config.PORT, host: config.HOST })
  return app
}

export function configOrExit(): Config {
  try {
    return loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message)
      process.exit(78) // EX_CONFIG
    }
    throw error
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await startServer(configOrExit())
}
