import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../../src/app.js'
import { clientsCommand } from '../../../src/cli/clients.js'
import type { CliIo } from '../../../src/cli/context.js'
import { keysCommand } from '../../../src/cli/keys.js'
import { KeyDecryptionError } from '../../../src/services/key-encryption-key.js'
import { buildTestApp, testConfig, type TestApp } from '../../helpers/app.js'
import { basicAuth, postForm } from '../oauth/helpers.js'

// One database, its signing keys and an OAuth client created under OLD; then the operator
// changes KEY_ENCRYPTION_KEY to NEW.
let t: TestApp
const OLD = () => t.config.KEY_ENCRYPTION_KEY!
const NEW = randomBytes(32).toString('base64url')
let client: { client_id: string; client_secret: string }

function io(env: Record<string, string>): CliIo & { out: () => string; err: () => string } {
  let stdout = ''
  let stderr = ''
  return {
    env: { NODE_ENV: 'test', DATABASE_URL: t.database.url, MIGRATE_ON_START: 'false', ...env },
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    out: () => stdout,
    err: () => stderr,
  }
}

/** A second instance on the same database with other key-encryption keys. */
async function instance(env: Record<string, string>) {
  return buildApp(testConfig({ DATABASE_URL: t.database.url, ...(t.database.real ? {} : { DATABASE_POOL_SIZE: '1' }), ...env }), { logger: false })
}

beforeAll(async () => {
  t = await buildTestApp({ OAUTH_CLIENT_CACHE_SECONDS: '0' })
  const created = io({ KEY_ENCRYPTION_KEY: OLD() })
  expect(await clientsCommand(['create', '--name', 'billing', '--scopes', 'invoices:read', '--json'], created)).toBe(0)
  client = JSON.parse(created.out())
})
afterAll(async () => t?.close())

describe('rotating the key-encryption key', () => {
  it('a new KEY_ENCRYPTION_KEY alone cannot open the signing keys: the start fails with the error that names the fix', async () => {
    const error = await instance({ KEY_ENCRYPTION_KEY: NEW }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(KeyDecryptionError)
    expect((error as Error).message).toContain('KEY_ENCRYPTION_KEY_PREVIOUS')
  })

  it('with the old key as KEY_ENCRYPTION_KEY_PREVIOUS the service starts, signs, and still accepts client secrets made under the old key', async () => {
    const app = await instance({ KEY_ENCRYPTION_KEY: NEW, KEY_ENCRYPTION_KEY_PREVIOUS: OLD() })
    try {
      const res = await postForm(app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: basicAuth(client.client_id, client.client_secret) })
      expect(res.statusCode).toBe(200)
      const wrong = await postForm(app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: basicAuth(client.client_id, 'x'.repeat(43)) })
      expect(wrong.statusCode).toBe(401)
    } finally {
      await app.close()
    }
  })

  it('keys rewrap seals every signing key under the new key; then the new key alone suffices and the old one no longer opens them', async () => {
    const total = (await t.app.signingKeys.list()).length
    const rewrap = io({ KEY_ENCRYPTION_KEY: NEW, KEY_ENCRYPTION_KEY_PREVIOUS: OLD() })
    expect(await keysCommand(['rewrap'], rewrap)).toBe(0)
    expect(rewrap.out()).toContain(`${total} of ${total} signing key(s)`)

    const again = io({ KEY_ENCRYPTION_KEY: NEW, KEY_ENCRYPTION_KEY_PREVIOUS: OLD() })
    expect(await keysCommand(['rewrap'], again)).toBe(0)
    expect(again.out()).toContain(`0 of ${total}`)

    const app = await instance({ KEY_ENCRYPTION_KEY: NEW })
    await app.close()

    const stale = io({ KEY_ENCRYPTION_KEY: OLD() })
    expect(await keysCommand(['rotate'], stale)).toBe(78)
    expect(stale.err()).toContain('KEY_ENCRYPTION_KEY_PREVIOUS')
  })
})
