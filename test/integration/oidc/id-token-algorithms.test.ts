import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { register } from '../../helpers/accounts.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { Browser, POST_LOGOUT_URI, REDIRECT_URI, redeem, signInFor } from './helpers.js'

/** OIDC Registration's id_token_signed_response_alg: each client's ID tokens in the algorithm it registered. */
describe('ID token algorithms per client', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ SIGNING_ALGORITHMS: 'ES256,RS256,EdDSA' })
  })
  afterAll(async () => t?.close())

  async function idTokenFor(idTokenSigningAlg: string | undefined) {
    const { client, clientSecret } = await t.app.oauth.clients.create({
      name: `app (${idTokenSigningAlg ?? 'default'})`,
      scopes: ['openid', 'email'],
      redirectUris: [REDIRECT_URI],
      postLogoutRedirectUris: [POST_LOGOUT_URI],
      firstParty: true,
      idTokenSigningAlg,
    })
    const registered = { clientId: client.clientId, authorization: `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64')}` }
    const user = await register(t.app)
    const result = await signInFor(new Browser(t.app), registered, user, { scope: 'openid email' })
    const response = await redeem(t.app, registered, result.code!, result.verifier)
    expect(response.statusCode).toBe(200)
    return { idToken: response.json().id_token as string, accessToken: response.json().access_token as string, clientId: client.clientId }
  }

  it.each([
    ['ES256', 'ES256'],
    ['RS256', 'RS256'],
    ['EdDSA', 'EdDSA'],
    ['none (the default: RS256, configured)', undefined],
  ])('a client registered for %s gets ID tokens signed with it, verifiable through the JWKS', async (_case, registered) => {
    const expected = registered ?? 'RS256'
    const { idToken, accessToken, clientId } = await idTokenFor(registered)
    expect(decodeProtectedHeader(idToken)).toMatchObject({ alg: expected, typ: 'JWT' })
    const jwks = createLocalJWKSet((await t.app.inject('/.well-known/jwks.json')).json())
    await expect(jwtVerify(idToken, jwks, { algorithms: [expected], issuer: t.config.ISSUER, audience: clientId })).resolves.toBeTruthy()
    // The access token keeps its own algorithm (the first-configured default here).
    expect(decodeProtectedHeader(accessToken).alg).toBe('ES256')
    // And the ID token, whatever its algorithm, is a valid id_token_hint for RP-initiated logout.
    const logout = await t.app.inject({ url: `/oauth/logout?${new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT_URI })}` })
    expect(logout.statusCode).toBe(303)
    expect(logout.headers.location).toBe(POST_LOGOUT_URI)
  })

  it('lists every configured algorithm in discovery, the default first', async () => {
    const metadata = (await t.app.inject('/.well-known/openid-configuration')).json()
    expect(metadata.id_token_signing_alg_values_supported).toEqual(['RS256', 'ES256', 'EdDSA'])
  })

  it.each(['HS256', 'none', 'PS256'])('refuses to register a client for %s', async (alg) => {
    await expect(
      t.app.oauth.clients.create({ name: 'bad', scopes: ['openid'], redirectUris: [REDIRECT_URI], idTokenSigningAlg: alg }),
    ).rejects.toMatchObject({ code: 'validation_failed' })
  })
})
