import { randomBytes } from 'node:crypto'
import { buildApp, type App } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { createTestDatabase, type TestDatabase } from './database.js'
import { createResponseValidator, type InjectedResponse } from './openapi-validator.js'

/** Test defaults: quiet, plain-http cookies, and argon2 at OWASP's minimum. */
export function testConfig(env: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    COOKIE_SECURE: 'false',
    KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    ISSUER: 'http://tollgate.test',
    // Tests log in far more often than the limits allow; abuse tests turn them back on.
    RATE_LIMIT_ENABLED: 'false',
    // PGlite can hold the event loop for a second while a database is set up: no load shedding.
    MAX_EVENT_LOOP_DELAY_MS: '0',
    // One fast algorithm: RSA key generation costs a test database a second or more. Tests about
    // algorithms set SIGNING_ALGORITHMS themselves.
    SIGNING_ALGORITHMS: 'ES256',
    ...env,
  })
}

export interface TestApp {
  app: App
  config: Config
  database: TestDatabase
  close(): Promise<void>
}

/**
 * The whole app on a database of its own (dropped by close()). Use one per test file, in
 * beforeAll, and talk to it with app.inject().
 */
export async function buildTestApp(env: Record<string, string | undefined> = {}): Promise<TestApp> {
  const database = await createTestDatabase()
  // A PGlite socket is one session that serves one connection at a time (see src/db/database.ts).
  const config = testConfig({ ...(database.real ? {} : { DATABASE_POOL_SIZE: '1' }), ...env, DATABASE_URL: database.url })
  try {
    const app = await buildApp(config, { logger: false })
    validateResponses(app)
    return {
      app,
      config,
      database,
      async close() {
        await app.close()
        await database.drop()
      },
    }
  } catch (error) {
    await database.drop()
    throw error
  }
}

type LightMyRequestResponse = InjectedResponse & { raw: { req: { method?: string; url?: string } } }

/**
 * Every response of app.inject() (called with options, awaited) is checked against openapi.yaml;
 * one that the document does not describe fails the test that sent it.
 */
function validateResponses(app: App) {
  const validator = createResponseValidator()
  const inject = app.inject.bind(app) as (...args: unknown[]) => unknown
  const checked = (...args: unknown[]) => {
    if (args.length !== 1) return inject(...args)
    return (inject(args[0]) as Promise<LightMyRequestResponse>).then((response) => {
      validator.assert(response.raw.req.method ?? 'GET', response.raw.req.url ?? '/', response)
      return response
    })
  }
  Object.defineProperty(app, 'inject', { value: checked, configurable: true, writable: true })
}
