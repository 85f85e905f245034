import * as oauth from 'oauth4webapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { register } from '../../helpers/accounts.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { freePort, signInOverHttp } from './over-http.js'

/**
 * Interop: oauth4webapi 3 used directly (openid-client's own core, without openid-client's
 * defaults), as a plain OpenID Connect relying party over real HTTP with only the discovery
 * document: discovery, code + PKCE S256, its validation of the authorization response (state,
 * RFC 9207 iss) and of the ID token (claims by processAuthorizationCodeResponse, the signature
 * against the JWKS by validateApplicationLevelSignature), userinfo, refresh rotation, and
 * RP-initiated logout built from end_session_endpoint. The login form is driven over plain HTTP.
 */
describe('oauth4webapi 3 as an independent relying party', () => {
  let t: TestApp
  let issuer: string
  let as: oauth.AuthorizationServer
  const redirectUri = 'http://127.0.0.1:8081/callback'
  const postLogoutUri = 'http://127.0.0.1:8081/'
  const insecure = { [oauth.allowInsecureRequests]: true }

  beforeAll(async () => {
    const port = await freePort()
    issuer = `http://127.0.0.1:${port}`
    t = await buildTestApp({ ISSUER: issuer, SIGNING_ALGORITHMS: 'ES256,RS256' })
    await t.app.listen({ port, host: '127.0.0.1' })
    const issuerUrl = new URL(issuer)
    as = await oauth.processDiscoveryResponse(issuerUrl, await oauth.discoveryRequest(issuerUrl, { algorithm: 'oidc', ...insecure }))
  }, 120_000)
  afterAll(async () => t?.close())

  // Each registers its ID token algorithm (id_token_signed_response_alg) and the library holds
  // tollgate to it: ES256 for the web app, RS256 (also the default) for the SPA.
  it.each([
    ['a confidential web app (client_secret_basic, consent screen, ES256 ID tokens)', 'confidential', false, 'ES256'],
    ['a public SPA-style client (PKCE alone, first-party, RS256 ID tokens)', 'public', true, 'RS256'],
  ] as const)('%s: discovery, code + PKCE, ID token, userinfo, refresh, logout', async (_case, type, firstParty, idTokenAlg) => {
    expect(as).toMatchObject({ issuer, authorization_response_iss_parameter_supported: true, code_challenge_methods_supported: ['S256'] })
    const user = await register(t.app, { name: 'Mary Jackson' })
    const { client: registered, clientSecret } = await t.app.oauth.clients.create({
      name: `${type} app`,
      type,
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      redirectUris: [redirectUri],
      postLogoutRedirectUris: [postLogoutUri],
      firstParty,
      idTokenSigningAlg: idTokenAlg,
    })
    const client: oauth.Client = { client_id: registered.clientId, id_token_signed_response_alg: idTokenAlg }
    const clientAuth = clientSecret === undefined ? oauth.None() : oauth.ClientSecretBasic(clientSecret)

    const verifier = oauth.generateRandomCodeVerifier()
    const state = oauth.generateRandomState()
    const nonce = oauth.generateRandomNonce()
    const authorizationUrl = new URL(as.authorization_endpoint!)
    authorizationUrl.search = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: redirectUri,
      scope: 'openid profile email offline_access',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    }).toString()
    const callback = await signInOverHttp(issuer, authorizationUrl, user)

    // A forged state, or an answer naming another issuer (mix-up), is refused by the library.
    expect(() => oauth.validateAuthResponse(as, client, callback, 'another state')).toThrow(oauth.OperationProcessingError)
    const mixedUp = new URL(callback)
    mixedUp.searchParams.set('iss', 'https://attacker.example')
    expect(() => oauth.validateAuthResponse(as, client, mixedUp, state)).toThrow(oauth.OperationProcessingError)
    const params = oauth.validateAuthResponse(as, client, callback, state)

    const codeResponse = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, verifier, insecure)
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, codeResponse, { expectedNonce: nonce, requireIdToken: true })
    await oauth.validateApplicationLevelSignature(as, codeResponse, insecure)
    expect(JSON.parse(Buffer.from(tokens.id_token!.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg: idTokenAlg })
    const claims = oauth.getValidatedIdTokenClaims(tokens)!
    expect(claims).toMatchObject({ iss: issuer, sub: user.user.id, aud: registered.clientId, nonce, email: user.email, name: 'Mary Jackson' })
    expect(tokens).toMatchObject({ token_type: 'bearer', scope: 'openid profile email offline_access' })

    const info = await oauth.processUserInfoResponse(as, client, claims.sub, await oauth.userInfoRequest(as, client, tokens.access_token, insecure))
    expect(info).toMatchObject({ sub: user.user.id, email: user.email, email_verified: false, name: 'Mary Jackson' })
    // userinfo for someone else is refused by the library (OIDC Core §5.3.4).
    await expect(oauth.processUserInfoResponse(as, client, 'someone-else', await oauth.userInfoRequest(as, client, tokens.access_token, insecure))).rejects.toThrow()

    const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, insecure))
    expect(refreshed.refresh_token).toBeTruthy()
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token)
    const refreshedInfo = await oauth.processUserInfoResponse(as, client, claims.sub, await oauth.userInfoRequest(as, client, refreshed.access_token, insecure))
    expect(refreshedInfo.sub).toBe(user.user.id)

    // RP-initiated logout: oauth4webapi has no helper for it; the URL is built from the discovery document.
    const endSession = new URL(as.end_session_endpoint!)
    endSession.search = new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: postLogoutUri, state: 'bye' }).toString()
    const loggedOut = await fetch(endSession, { redirect: 'manual' })
    expect(loggedOut.status).toBe(303)
    expect(loggedOut.headers.get('location')).toBe(`${postLogoutUri}?state=bye`)

    // The rotated refresh token and its access token died with the session.
    await expect(
      oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token!, insecure)),
    ).rejects.toMatchObject({ error: 'invalid_grant' })
    await expect(
      oauth.processUserInfoResponse(as, client, claims.sub, await oauth.userInfoRequest(as, client, refreshed.access_token, insecure)),
    ).rejects.toBeInstanceOf(oauth.WWWAuthenticateChallengeError)
  })
})
