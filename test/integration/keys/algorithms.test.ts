import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NoSigningKeyError, SIGNING_ALGORITHMS } from '../../../src/domain/keys/key-provider.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'

const PUBLIC_MEMBERS = { EC: ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'], RSA: ['alg', 'e', 'kid', 'kty', 'n', 'use'], OKP: ['alg', 'crv', 'kid', 'kty', 'use', 'x'] }
const KEY_TYPE = { ES256: 'EC', RS256: 'RSA', EdDSA: 'OKP' } as const

describe('a key set of several algorithms', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ SIGNING_ALGORITHMS: 'ES256,RS256,EdDSA' })
  })
  afterAll(async () => t?.close())

  it('publishes an active and a next key of every algorithm, public members only', async () => {
    const { keys } = (await t.app.inject('/.well-known/jwks.json')).json() as { keys: Array<Record<string, string>> }
    const listed = await t.app.signingKeys.list()
    for (const alg of SIGNING_ALGORITHMS) {
      expect(listed.filter((key) => key.alg === alg).map((key) => key.status).sort()).toEqual(['active', 'next'])
      const published = keys.filter((key) => key.alg === alg)
      expect(published).toHaveLength(2)
      for (const key of published) {
        expect(key.kty).toBe(KEY_TYPE[alg])
        expect(Object.keys(key).sort()).toEqual(PUBLIC_MEMBERS[KEY_TYPE[alg]])
      }
    }
  })

  it('signs with the first algorithm by default and with any of them on request', async () => {
    expect(t.app.keys.algorithms()).toEqual(['ES256', 'RS256', 'EdDSA'])
    expect(t.app.keys.signer().alg).toBe('ES256')
    const jwks = createLocalJWKSet((await t.app.inject('/.well-known/jwks.json')).json())
    for (const alg of SIGNING_ALGORITHMS) {
      const signer = t.app.keys.signer(alg)
      const token = await signer.sign({ iss: t.config.ISSUER, sub: 'x' }, { typ: 'JWT' })
      expect(decodeProtectedHeader(token)).toEqual({ alg, kid: signer.kid, typ: 'JWT' })
      await expect(jwtVerify(token, jwks, { algorithms: [alg], issuer: t.config.ISSUER })).resolves.toBeTruthy()
    }
    const issued = await t.app.accessTokens.issue({ subject: 'u', clientId: 'tollgate-web', scopes: ['cart'] })
    expect(decodeProtectedHeader(issued.token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' })
  })

  it('lists the algorithms in the metadata, the default first', async () => {
    const metadata = (await t.app.inject('/.well-known/oauth-authorization-server')).json()
    expect(metadata.access_token_signing_alg_values_supported).toEqual(['ES256', 'RS256', 'EdDSA'])
  })
})

describe('a key set of one algorithm', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ SIGNING_ALGORITHMS: 'ES256' })
  })
  afterAll(async () => t?.close())

  it('has no signer for another algorithm', () => {
    expect(() => t.app.keys.signer('RS256')).toThrow(NoSigningKeyError)
    expect(t.app.keys.algorithms()).toEqual(['ES256'])
  })
})
