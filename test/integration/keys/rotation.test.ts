import { randomBytes } from 'node:crypto'
import { decodeProtectedHeader } from 'jose'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { buildApp, type App } from '../../../src/app.js'
import type { Config } from '../../../src/config.js'
import { LIFECYCLE_MARGIN_SECONDS, publishLeadSeconds, lifecycleSettings } from '../../../src/domain/keys/lifecycle.js'
import { createSigningKeyRepository } from '../../../src/repositories/signing-keys.js'
import { createSigningKeyService } from '../../../src/services/signing-keys.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { rotateSigningKeys } from '../../helpers/keys.js'
import { createKeySealer, loadKeyEncryptionKeys } from '../../../src/services/key-encryption-key.js'

let t: TestApp
let second: App | undefined
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => {
  await second?.close()
  await t?.close()
})

const statuses = async () => (await t.app.signingKeys.list()).map((key) => key.status).sort()

describe('signing keys in the database', () => {
  it('starts with one active and one next key, the next one published ahead of its activation', async () => {
    const keys = await t.app.signingKeys.list()
    expect(keys.map((key) => key.status).sort()).toEqual(['active', 'next'])
    const next = keys.find((key) => key.status === 'next')!
    const lead = next.activatesAt.getTime() - next.createdAt.getTime()
    expect(lead).toBeGreaterThanOrEqual((t.config.JWKS_MAX_AGE_SECONDS + LIFECYCLE_MARGIN_SECONDS) * 1000)
  })

  it('stores private keys only encrypted, and public JWKs with public members only', async () => {
    const rows = await t.app.db.prisma.signingKey.findMany()
    for (const row of rows) {
      const blob = Buffer.from(row.encryptedPrivateKey).toString('latin1')
      expect(blob).not.toContain('PRIVATE KEY')
      expect(blob).not.toContain('MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEH') // the DER prefix of every P-256 PKCS#8 key
      expect(Object.keys(row.publicJwk as object).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'])
    }
  })

  it('rotates on schedule: next becomes active, the old key retires and leaves the JWKS after every token expired', async () => {
    let now = new Date()
    const config = { ...t.config, KEY_ROTATION_INTERVAL_SECONDS: 3600 }
    const service = createSigningKeyService({
      repository: createSigningKeyRepository(t.app.db.prisma),
      config,
      sealer: createKeySealer(loadKeyEncryptionKeys(t.config, { warn() {} })),
      clock: () => now,
    })
    await service.reload()
    const before = await service.list()
    const oldActive = before.find((key) => key.status === 'active')!
    const oldNext = before.find((key) => key.status === 'next')!
    const token = (await t.app.accessTokens.issue({ subject: 'u1', clientId: 'tollgate-web', scopes: ['cart'] })).token

    expect((await service.maintain()).locked).toBe(true)
    expect(service.activeKid()).toBe(oldActive.kid)

    now = new Date(Math.max(oldActive.activatesAt.getTime() + 3600_000, oldNext.createdAt.getTime() + publishLeadSeconds(lifecycleSettings(config)) * 1000) + 1000)
    await service.maintain()
    const rotated = await service.list()
    expect(service.activeKid()).toBe(oldNext.kid)
    const retired = rotated.find((key) => key.kid === oldActive.kid)!
    expect(retired).toMatchObject({ status: 'retired', published: true, retiredAt: now })
    expect(retired.removeAfter!.getTime() - now.getTime()).toBeGreaterThan(t.config.ACCESS_TOKEN_TTL_SECONDS * 1000)
    expect(rotated.filter((key) => key.status === 'next')).toHaveLength(1)
    expect(service.jwksDocument().jwks.keys.map((key) => key.kid)).toContain(oldActive.kid)

    // Every instance picks the rotation up on its next reload; tokens of the old key still verify.
    await t.app.signingKeys.reload()
    expect(t.app.signingKeys.activeKid()).toBe(oldNext.kid)
    await expect(t.app.accessTokenVerifier.verify(token)).resolves.toMatchObject({ sub: 'u1' })

    now = new Date(retired.removeAfter!.getTime() + 1000)
    await service.maintain()
    const after = await service.list()
    expect(after.map((key) => key.kid)).not.toContain(oldActive.kid)
    expect(service.jwksDocument().jwks.keys.map((key) => key.kid)).not.toContain(oldActive.kid)
    expect(after.map((key) => key.status).sort()).toEqual(['active', 'next'])
  })

  it('rotates on demand: the next key was already published, so cached JWKS already hold it', async () => {
    const jwksBefore = (await t.app.inject('/.well-known/jwks.json')).json() as { keys: Array<{ kid: string }> }
    const next = (await t.app.signingKeys.list()).find((key) => key.status === 'next')!
    // Not before every instance has loaded it: the next key was created at start, moments ago.
    await t.app.signingKeys.maintain({ rotateNow: true })
    expect(t.app.signingKeys.activeKid()).not.toBe(next.kid)
    await rotateSigningKeys(t.app)
    expect(t.app.signingKeys.activeKid()).toBe(next.kid)
    expect(jwksBefore.keys.map((key) => key.kid)).toContain(next.kid)
    const issued = await t.app.accessTokens.issue({ subject: 'u2', clientId: 'tollgate-web', scopes: ['cart'] })
    expect(JSON.parse(Buffer.from(issued.token.split('.')[0]!, 'base64url').toString()).kid).toBe(next.kid)
  })

  it('agrees on exactly one active key when two instances on one database rotate concurrently', async () => {
    second = await buildApp({ ...t.config, KEY_REFRESH_INTERVAL_SECONDS: 1 }, { logger: false })
    const a = t.app.signingKeys
    const b = second.signingKeys
    const retiredBefore = (await statuses()).filter((status) => status === 'retired').length

    await t.app.db.prisma.signingKey.updateMany({ where: { status: 'next' }, data: { createdAt: new Date(Date.now() - 3600_000) } })
    await Promise.all([a.maintain({ rotateNow: true }), b.maintain({ rotateNow: true }), a.maintain(), b.maintain(), a.maintain(), b.maintain()])
    const after = await statuses()
    expect(after.filter((status) => status === 'active')).toHaveLength(1)
    expect(after.filter((status) => status === 'next')).toHaveLength(1)
    // One rotation: the second request finds a next key no instance has loaded yet, and leaves it.
    expect(after.filter((status) => status === 'retired')).toHaveLength(retiredBefore + 1)
    await a.reload()
    await b.reload()
    expect(a.activeKid()).toBe(b.activeKid())

    // Tokens of either instance verify on the other.
    const fromB = await second.accessTokens.issue({ subject: 'u3', clientId: 'tollgate-web', scopes: ['cart'] })
    await expect(t.app.accessTokenVerifier.verify(fromB.token)).resolves.toMatchObject({ sub: 'u3' })
  })

  it('agrees on one active key when two instances start on an empty table at once', async () => {
    await t.app.db.prisma.signingKey.deleteMany()
    // As at start: each instance waits for the lock, then finds the keys the first one created.
    const start = (app: App) => app.signingKeys.maintain({ wait: true })
    await Promise.all([start(t.app), start(second!), start(t.app), start(second!)])
    expect(await statuses()).toEqual(['active', 'next'])
    expect(t.app.signingKeys.activeKid()).toBe(second!.signingKeys.activeKid())
  })

  it('an instance picks up a rotation made elsewhere within its refresh interval, without a restart', async () => {
    await rotateSigningKeys(t.app)
    const rotatedTo = t.app.signingKeys.activeKid()
    await vi.waitFor(() => expect(second!.signingKeys.activeKid()).toBe(rotatedTo), { timeout: 10_000, interval: 100 })
  })

  it('refuses to start with another key-encryption key than the one that sealed the keys', async () => {
    const wrong = { ...t.config, KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url') }
    await expect(buildApp(wrong, { logger: false })).rejects.toThrow(/KEY_ENCRYPTION_KEY/)
  })

  it('signs with a newly configured algorithm only once its first key has been published for the lead time', async () => {
    // Instances must agree on SIGNING_ALGORITHMS: the second one (ES256 alone) would withdraw RS256 keys.
    await second?.close()
    second = undefined
    const config: Config = { ...t.config, SIGNING_ALGORITHMS: ['RS256', 'ES256'] }
    const rs = await buildApp(config, { logger: false })
    try {
      // RS256 is new to this key set: its first key is published ahead, and ES256 keeps signing.
      expect(rs.keys.algorithms()).toEqual(['ES256'])
      const before = await rs.accessTokens.issue({ subject: 'u4', clientId: 'tollgate-web', scopes: ['cart'] })
      expect(decodeProtectedHeader(before.token).alg).toBe('ES256')
      const jwks = (await rs.inject('/.well-known/jwks.json')).json() as { keys: Array<Record<string, string>> }
      const rsa = jwks.keys.filter((key) => key.alg === 'RS256')
      expect(rsa).toHaveLength(1)
      for (const key of rsa) expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use'])

      const later = new Date(Date.now() + (publishLeadSeconds(lifecycleSettings(config)) + 1) * 1000)
      const service = createSigningKeyService({
        repository: createSigningKeyRepository(t.app.db.prisma),
        config,
        sealer: createKeySealer(loadKeyEncryptionKeys(t.config, { warn() {} })),
        clock: () => later,
      })
      await service.maintain()
      await rs.signingKeys.reload()
      expect(rs.keys.algorithms()).toEqual(['RS256', 'ES256'])
      expect(rs.keys.signer('RS256').kid).toBe(rsa[0]!.kid)
      const issued = await rs.accessTokens.issue({ subject: 'u5', clientId: 'tollgate-web', scopes: ['cart'] })
      expect(decodeProtectedHeader(issued.token)).toMatchObject({ alg: 'RS256', kid: rsa[0]!.kid })
      // Another instance (configured for ES256 alone) verifies it: every published key verifies.
      await t.app.signingKeys.reload()
      await expect(t.app.accessTokenVerifier.verify(issued.token)).resolves.toMatchObject({ sub: 'u5' })
    } finally {
      await rs.close()
    }
  })
})
