import { Writable } from 'node:stream'
import { exportJWK, importPKCS8 } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, type App } from '../../../src/app.js'
import { openPrivateKey } from '../../../src/domain/keys/sealing.js'
import { testConfig } from '../../helpers/app.js'
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js'
import { rotateSigningKeys } from '../../helpers/keys.js'

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const

describe('private keys of every algorithm', () => {
  let database: TestDatabase
  let app: App
  const logs: string[] = []

  beforeAll(async () => {
    database = await createTestDatabase()
    const config = testConfig({ DATABASE_URL: database.url, SIGNING_ALGORITHMS: 'ES256,RS256,EdDSA', LOG_LEVEL: 'trace' })
    const stream = new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk))
        done()
      },
    })
    app = await buildApp(config, { logger: { level: 'trace', stream } })
  })
  afterAll(async () => {
    await app?.close()
    await database?.drop()
  })

  /** Every secret string of every stored private key: its JWK private members and its PKCS#8 body. */
  async function secrets(): Promise<string[]> {
    const rows = await app.db.prisma.signingKey.findMany()
    const out: string[] = []
    for (const row of rows) {
      const pkcs8 = openPrivateKey(app.secret('signing-key-encryption'), row.kid, row.encryptedPrivateKey)
      out.push(pkcs8.split('\n').slice(1, 3).join(''))
      const jwk = await exportJWK(await importPKCS8(pkcs8, row.alg, { extractable: true }))
      for (const member of PRIVATE_MEMBERS) if (typeof jwk[member] === 'string') out.push(jwk[member])
    }
    return out
  }

  it('never appear in any response or log line', async () => {
    const { token } = await app.accessTokens.issue({ subject: 'user', clientId: 'tollgate-web', scopes: ['cart'] })
    await rotateSigningKeys(app)
    const responses = await Promise.all(
      [
        { url: '/.well-known/jwks.json' },
        { url: '/.well-known/oauth-authorization-server' },
        { url: '/v1/revocations' },
        { url: '/openapi.json' },
        { url: '/health/ready' },
        { url: '/metrics' },
        { url: '/v1/cart/items', headers: { authorization: `Bearer ${token}` } },
        { url: '/v1/cart/items', headers: { authorization: 'Bearer nonsense' } },
        { url: '/no-such-route' },
      ].map((request) => app.inject(request)),
    )
    const everything = [...responses.map((response) => response.body), ...logs].join('\n')
    const keys = await secrets()
    // Three keys per algorithm after the rotation; the PKCS#8 body and d (RSA: d, p, q, dp, dq, qi) of each.
    expect(keys.length).toBeGreaterThanOrEqual(3 * (2 + 7 + 2))
    for (const secret of keys) expect(everything).not.toContain(secret)
    expect(everything).not.toContain('PRIVATE KEY')

    const jwks = responses[0]!.json() as { keys: Array<Record<string, unknown>> }
    for (const key of jwks.keys) for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member)
    expect(logs.length).toBeGreaterThan(0)
  })
})
