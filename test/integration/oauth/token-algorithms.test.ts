import { createLocalJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerAndLogin, refresh } from '../../helpers/accounts.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { createClient, headerOf, postForm } from './helpers.js'

// Access tokens are signed with the client's registered algorithm, else the audience's
// (SIGNING_ALG_BY_AUDIENCE), else the default: the first of SIGNING_ALGORITHMS.
describe('the algorithm of an access token', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ SIGNING_ALGORITHMS: 'ES256,RS256,EdDSA', SIGNING_ALG_BY_AUDIENCE: 'legacy-api=EdDSA' })
  })
  afterAll(async () => t?.close())

  async function clientToken(options: Parameters<typeof createClient>[1]) {
    const client = await createClient(t.app, { scopes: ['orders:read'], ...options })
    const res = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: client.authorization })
    expect(res.statusCode).toBe(200)
    return res.json().access_token as string
  }

  it.each([
    { name: 'a client registered for nothing', client: {}, alg: 'ES256' },
    { name: 'a client registered for RS256', client: { accessTokenSigningAlg: 'RS256' }, alg: 'RS256' },
    { name: 'a client registered for EdDSA', client: { accessTokenSigningAlg: 'EdDSA' }, alg: 'EdDSA' },
    { name: 'a client of an audience registered for EdDSA', client: { audience: 'legacy-api' }, alg: 'EdDSA' },
    { name: 'a client registered for RS256, of an audience registered for EdDSA', client: { audience: 'legacy-api', accessTokenSigningAlg: 'RS256' }, alg: 'RS256' },
  ])('$name gets $alg, verifiable through the JWKS', async ({ client, alg }) => {
    const token = await clientToken(client)
    expect(headerOf(token)).toMatchObject({ alg, typ: 'at+jwt' })
    const jwks = createLocalJWKSet((await t.app.inject('/.well-known/jwks.json')).json())
    await expect(jwtVerify(token, jwks, { issuer: t.config.ISSUER, algorithms: [alg] })).resolves.toBeTruthy()
  })

  it('first-party tokens use the default, on login and on refresh, and work on tollgate itself', async () => {
    const user = await registerAndLogin(t.app)
    expect(headerOf(user.accessToken).alg).toBe('ES256')
    const refreshed = await refresh(t.app, user.refreshToken)
    expect(headerOf(refreshed.json().access_token).alg).toBe('ES256')
    expect((await t.app.inject({ url: '/v1/me', headers: { authorization: user.authorization } })).statusCode).toBe(200)
  })

  it('refuses to register a client for an algorithm SIGNING_ALGORITHMS does not list', async () => {
    await expect(createClient(t.app, { accessTokenSigningAlg: 'HS256' })).rejects.toMatchObject({ code: 'validation_failed' })
  })
})

describe('an algorithm that cannot sign any more', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ SIGNING_ALGORITHMS: 'ES256,EdDSA' })
  })
  afterAll(async () => t?.close())

  it('falls back to the default rather than refusing the token', async () => {
    const client = await createClient(t.app, { scopes: ['orders:read'], accessTokenSigningAlg: 'EdDSA' })
    // Registered while EdDSA was configured; then EdDSA left SIGNING_ALGORITHMS (its keys retired).
    await t.app.db.prisma.signingKey.updateMany({ where: { alg: 'EdDSA', status: 'active' }, data: { status: 'retired', retiredAt: new Date(), removeAfter: new Date(Date.now() + 3600_000) } })
    await t.app.signingKeys.reload()
    const res = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: client.authorization })
    expect(headerOf(res.json().access_token).alg).toBe('ES256')
  })
})
