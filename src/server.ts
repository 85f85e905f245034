#!/usr/bin/env node
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'

/** Process glue only: config → buildApp → listen → graceful close on SIGTERM/SIGINT. */
export async function startServer(config: Config) {
  const app = await buildApp(config)
  closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_SECONDS * 1000, logger: app.log }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down: draining in-flight requests')
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
