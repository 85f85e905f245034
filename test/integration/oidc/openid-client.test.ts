import * as client from 'openid-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { register } from '../../helpers/accounts.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { freePort, signInOverHttp } from './over-http.js'

/**
 * Interop: openid-client 6 (on oauth4webapi), not tollgate's own code, is the relying party, over
 * real HTTP and with nothing but the discovery document: authorization code + PKCE, its own
 * validation of the authorization response (state, iss) and of the ID token (signature, iss, aud,
 * nonce, exp), userinfo, refresh, RP-initiated logout. The login form is driven with plain HTTP.
 */

describe('openid-client 6 as an independent relying party', () => {
  let t: TestApp
  let issuer: string
  const redirectUri = 'http://127.0.0.1:8080/callback'
  const postLogoutUri = 'http://127.0.0.1:8080/'

  beforeAll(async () => {
    const port = await freePort()
    issuer = `http://127.0.0.1:${port}`
    // RS256 beside ES256: ID tokens are RS256, what relying parties expect by default.
    t = await buildTestApp({ ISSUER: issuer, SIGNING_ALGORITHMS: 'ES256,RS256' })
    await t.app.listen({ port, host: '127.0.0.1' })
  }, 120_000)
  afterAll(async () => t?.close())

  async function register_(firstParty: boolean, type: 'confidential' | 'public') {
    return t.app.oauth.clients.create({
      name: `${type} app`,
      type,
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      redirectUris: [redirectUri],
      postLogoutRedirectUris: [postLogoutUri],
      firstParty,
    })
  }

  it.each([
    ['a confidential web app (client_secret_basic, consent screen)', 'confidential', false],
    ['a public SPA-style client (PKCE alone, first-party)', 'public', true],
  ] as const)('%s: discovery, code + PKCE, ID token, userinfo, refresh, logout', async (_case, type, firstParty) => {
    const user = await register(t.app, { name: 'Katherine Johnson' })
    const { client: registered, clientSecret } = await register_(firstParty, type)
    const config = await client.discovery(
      new URL(issuer),
      registered.clientId,
      clientSecret === undefined ? undefined : { client_secret: clientSecret },
      clientSecret === undefined ? client.None() : client.ClientSecretBasic(clientSecret),
      { execute: [client.allowInsecureRequests] },
    )
    expect(config.serverMetadata().issuer).toBe(issuer)

    const verifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const nonce = client.randomNonce()
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email offline_access',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    })
    const callback = await signInOverHttp(issuer, authorizationUrl, user)

    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true })
    const claims = tokens.claims()!
    expect(claims).toMatchObject({ iss: issuer, sub: user.user.id, aud: registered.clientId, nonce, email: user.email, name: 'Katherine Johnson' })
    expect(JSON.parse(Buffer.from(tokens.id_token!.split('.')[0]!, 'base64url').toString()).alg).toBe('RS256')

    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
    expect(info).toMatchObject({ sub: user.user.id, email: user.email, email_verified: false, name: 'Katherine Johnson' })

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!)
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token)
    expect((await client.fetchUserInfo(config, refreshed.access_token, claims.sub)).sub).toBe(user.user.id)

    const endSession = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: postLogoutUri, state: 'bye' })
    const loggedOut = await fetch(endSession, { redirect: 'manual' })
    expect(loggedOut.status).toBe(303)
    expect(loggedOut.headers.get('location')).toBe(`${postLogoutUri}?state=bye`)
    await expect(client.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' })
    await expect(client.fetchUserInfo(config, refreshed.access_token, claims.sub)).rejects.toThrow()
  })
})
