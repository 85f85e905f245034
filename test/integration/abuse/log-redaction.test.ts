import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, type App } from '../../../src/app.js'
import { loggerOptions } from '../../../src/http/logger.js'
import { testConfig } from '../../helpers/app.js'
import { registerAndLogin } from '../../helpers/accounts.js'
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js'

describe('query strings in logs', () => {
  let database: TestDatabase
  let app: App
  const lines: string[] = []

  beforeAll(async () => {
    database = await createTestDatabase()
    const config = testConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'info' })
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    app = await buildApp(config, { logger: { ...(loggerOptions(config) as object), stream } })
  })
  afterAll(async () => {
    await app?.close()
    await database?.drop()
  })

  it('never carry a token, password or secret sent in a URL', async () => {
    const session = await registerAndLogin(app)
    const secrets = [session.accessToken, session.refreshToken, 'hunter2-correct-horse', 'a-client-secret-value', 'Zm9vOmJhcg-bare']
    await app.inject({ url: `/v1/cart/items?access_token=${session.accessToken}` })
    await app.inject({ url: `/v1/me?password=${secrets[2]}&refresh_token=${session.refreshToken}` })
    await app.inject({ method: 'POST', url: `/oauth/token?client_secret=${secrets[3]}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=client_credentials' })
    await app.inject({ url: `/no/such/route?${secrets[4]}` })

    const logged = lines.join('')
    for (const secret of secrets) expect(logged).not.toContain(secret)
    // The requests are still logged, with the parameter names.
    expect(logged).toContain('/v1/cart/items?access_token=[redacted]')
    expect(logged).toContain('/v1/me?password=[redacted]&refresh_token=[redacted]')
  })
})
