import { randomUUID } from 'node:crypto'
import { SignJWT, decodeProtectedHeader, generateKeyPair } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, type App } from '../../../src/app.js'
import { keysCommand } from '../../../src/cli/keys.js'
import { createSigningKeyRepository } from '../../../src/repositories/signing-keys.js'
import { createKeySealer, loadKeyEncryptionKeys } from '../../../src/services/key-encryption-key.js'
import { createSigningKeyService } from '../../../src/services/signing-keys.js'
import { registerAndLogin } from '../../helpers/accounts.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { rotateSigningKeys } from '../../helpers/keys.js'

// Several instances on one PostgreSQL database: whichever instance minted a token, every other
// one accepts it, through rotations in a row; and they serve the same revocations feed ETag.
let t: TestApp
let b: App
let stale: App
beforeAll(async () => {
  // Generous database timeouts: on a loaded machine, timed-out queries are not what this file tests.
  t = await buildTestApp({
    KEY_REFRESH_INTERVAL_SECONDS: '1',
    DATABASE_QUERY_TIMEOUT_MS: '30000',
    DATABASE_STATEMENT_TIMEOUT_MS: '20000',
    DATABASE_LOCK_TIMEOUT_MS: '20000',
  })
  b = await buildApp({ ...t.config, KEY_REFRESH_INTERVAL_SECONDS: 1 }, { logger: false })
  // Its timed reload never comes within the test: it only learns of keys on demand.
  stale = await buildApp({ ...t.config, KEY_REFRESH_INTERVAL_SECONDS: 3600 }, { logger: false })
})
afterAll(async () => {
  await stale?.close()
  await b?.close()
  await t?.close()
})

async function cliRotate() {
  let stdout = ''
  let stderr = ''
  const code = await keysCommand(['rotate'], {
    env: { NODE_ENV: 'test', SIGNING_ALGORITHMS: 'ES256', KEY_REFRESH_INTERVAL_SECONDS: '1', DATABASE_URL: t.config.DATABASE_URL!, KEY_ENCRYPTION_KEY: t.config.KEY_ENCRYPTION_KEY! },
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  })
  return { code, stdout, stderr }
}

describe('instances on one database', () => {
  it('accept each other\'s tokens through two rotations in a row: zero 401s', async () => {
    const instances = [t.app, b, stale]
    const user = await registerAndLogin(t.app)
    const refused: string[] = []
    const failed: string[] = []
    const kids = new Set<string>()
    let checks = 0
    let rotating = true
    const traffic = (async () => {
      while (rotating) {
        for (const [i, minter] of instances.entries()) {
          const { token } = await minter.accessTokens.issue({ subject: user.userId, clientId: t.config.FIRST_PARTY_CLIENT_ID, scopes: ['cart'], sessionId: user.sessionId })
          kids.add(decodeProtectedHeader(token).kid!)
          for (const [j, verifier] of instances.entries()) {
            checks++
            // The verifier tollgate's protected routes use, without the database work of a route.
            await verifier.accessTokenVerifier.verify(token).catch((error: { statusCode?: number; detail?: string }) => {
              if (error.statusCode === 401) refused.push(`token of ${i} on ${j}: ${error.detail}`)
              else failed.push(`token of ${i} on ${j}: ${String(error)}`)
            })
          }
        }
      }
    })()
    try {
      const first = await cliRotate()
      const second = await cliRotate()
      expect(first).toMatchObject({ code: 0 })
      expect(second).toMatchObject({ code: 0, stderr: expect.stringMatching(/^waiting \d+s/) })
      await new Promise((resolve) => setTimeout(resolve, 1500))
    } finally {
      rotating = false
      await traffic
    }
    expect(refused).toEqual([])
    expect(failed).toEqual([])
    expect(kids.size).toBeGreaterThanOrEqual(3)
    expect(checks).toBeGreaterThan(9)
  }, 30_000)

  it('reload once on a token naming a key they have not loaded yet', async () => {
    // Two rotations without the wait: the second promotes a key `stale` has never loaded.
    await rotateSigningKeys(t.app)
    await rotateSigningKeys(t.app)
    const user = await registerAndLogin(t.app)
    expect(decodeProtectedHeader(user.accessToken).kid).toBe(t.app.signingKeys.activeKid())
    expect(stale.signingKeys.activeKid()).not.toBe(t.app.signingKeys.activeKid())
    await expect(stale.accessTokenVerifier.verify(user.accessToken)).resolves.toMatchObject({ sub: user.userId })
    expect(stale.signingKeys.activeKid()).toBe(t.app.signingKeys.activeKid())
  })

  it('serve the revocations feed with the same ETag, so a 304 comes from any of them', async () => {
    await b.signingKeys.reload() // the same active key (else the tags differ, rightly)
    const [fromA, fromB] = await Promise.all([t.app, b].map((app) => app.inject('/v1/revocations')))
    expect(fromA!.body).not.toBe(fromB!.body) // each signed its own copy
    expect(fromA!.headers.etag).toBe(fromB!.headers.etag)
    const conditional = await b.inject({ url: '/v1/revocations', headers: { 'if-none-match': fromA!.headers.etag as string } })
    expect(conditional.statusCode).toBe(304)
  })
})

describe('the reload on an unknown kid', () => {
  it('is shared by concurrent tokens and happens at most once a second', async () => {
    let lists = 0
    const repository = createSigningKeyRepository(t.app.db.prisma)
    const service = createSigningKeyService({
      repository: { ...repository, list: () => ((lists += 1), repository.list()) },
      config: t.config,
      sealer: createKeySealer(loadKeyEncryptionKeys(t.config, { warn() {} })),
    })
    await service.reload()
    const { privateKey } = await generateKeyPair('ES256')
    const forged = () => new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: randomUUID(), typ: 'at+jwt' }).sign(privateKey)
    const tokens = await Promise.all(Array.from({ length: 40 }, forged))
    const attempt = async (token: string) => {
      const [header, payload, signature] = token.split('.') as [string, string, string]
      return service.provider.verificationKey(decodeProtectedHeader(token), { protected: header, payload, signature }).then(
        () => 'found',
        (error: Error & { code?: string }) => error.code,
      )
    }
    const before = lists
    const started = Date.now()
    expect(new Set(await Promise.all(tokens.slice(0, 20).map(attempt)))).toEqual(new Set(['ERR_JWKS_NO_MATCHING_KEY']))
    expect(lists - before).toBe(1)
    expect(new Set(await Promise.all(tokens.slice(20).map(attempt)))).toEqual(new Set(['ERR_JWKS_NO_MATCHING_KEY']))
    expect(lists - before).toBe(2)
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
  })
})
