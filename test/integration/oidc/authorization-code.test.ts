import { createLocalJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { claimsOf, register } from '../../helpers/accounts.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { Browser, createOidcClient, interactionOf, redeem, REDIRECT_URI, signInFor } from './helpers.js'

describe('the authorization code flow with PKCE and OpenID Connect', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp()
  })
  afterAll(async () => t?.close())

  it('signs a user in to a confidential client: login page, consent page, code, tokens, a valid ID token', async () => {
    const user = await register(t.app, { name: 'Ada Lovelace' })
    const client = await createOidcClient(t.app)
    const browser = new Browser(t.app)

    const result = await signInFor(browser, client, user, { nonce: 'n-0S6_WzA2Mj' })
    expect(result.state).toBe(result.expectedState)
    expect(result.iss).toBe('http://tollgate.test')
    expect(result.code).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(browser.cookies.has('tollgate_sign_in')).toBe(true)

    const token = await redeem(t.app, client, result.code!, result.verifier)
    expect(token.statusCode).toBe(200)
    expect(token.headers['cache-control']).toBe('no-store')
    const body = token.json()
    expect(body).toMatchObject({ token_type: 'Bearer', scope: 'openid profile email offline_access' })
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/)

    const jwks = createLocalJWKSet((await t.app.inject('/.well-known/jwks.json')).json())
    const { payload, protectedHeader } = await jwtVerify(body.id_token, jwks, { issuer: 'http://tollgate.test', audience: client.clientId })
    expect(protectedHeader.typ).toBe('JWT')
    expect(payload).toMatchObject({
      sub: user.user.id,
      azp: client.clientId,
      nonce: 'n-0S6_WzA2Mj',
      email: user.email,
      email_verified: false,
      name: 'Ada Lovelace',
    })
    expect(payload.auth_time).toEqual(expect.any(Number))
    const access = claimsOf(body.access_token)
    expect(access).toMatchObject({ sub: user.user.id, client_id: client.clientId, aud: 'tollgate', scope: 'openid profile email offline_access' })
    // The ID token's sid is the sign-in at tollgate; the access token's, the session this redemption started.
    expect(payload.sid).not.toBe(access.sid)
    const sessions = await t.app.db.prisma.session.findMany({ where: { userId: user.user.id } })
    expect(sessions.find((s) => s.id === payload.sid)).toMatchObject({ kind: 'sign_in' })
    expect(sessions.find((s) => s.id === access.sid)).toMatchObject({ kind: 'tokens', signInSessionId: payload.sid, clientId: client.clientId })

    // The refresh token rotates at /oauth/token like any other, with the client's audience kept.
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: client.authorization! },
      payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: body.refresh_token }).toString(),
    })
    expect(refreshed.statusCode).toBe(200)
    expect(claimsOf(refreshed.json().access_token)).toMatchObject({ sid: access.sid, client_id: client.clientId })
  })

  it('a second app signs in without a password, and skips the consent it was already given', async () => {
    const user = await register(t.app)
    const first = await createOidcClient(t.app)
    const second = await createOidcClient(t.app, { firstParty: true, audience: 'second-api' })
    const browser = new Browser(t.app)
    await signInFor(browser, first, user)

    const again = await signInFor(browser, second, { email: 'unused', password: 'unused' }, { scope: 'openid' })
    const token = await redeem(t.app, second, again.code!, again.verifier)
    expect(token.statusCode).toBe(200)
    expect(claimsOf(token.json().access_token).aud).toBe('second-api')
    expect(token.json().refresh_token).toBeUndefined()

    // The first app again: consent remembered, no page at all.
    const third = await signInFor(browser, first, { email: 'unused', password: 'unused' }, { scope: 'openid email' })
    expect(third.code).toBeTruthy()
  })

  it('a public client redeems with client_id alone, PKCE proving it', async () => {
    const user = await register(t.app)
    const client = await createOidcClient(t.app, { type: 'public' })
    const result = await signInFor(new Browser(t.app), client, user, { scope: 'openid' })
    const token = await redeem(t.app, client, result.code!, result.verifier)
    expect(token.statusCode).toBe(200)
    expect(token.json().id_token).toEqual(expect.any(String))
  })

  it('a wrong password shows the page again with the API\'s message, whatever the cause', async () => {
    const user = await register(t.app)
    const client = await createOidcClient(t.app)
    const browser = new Browser(t.app)
    const page = await browser.get(`/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: client.clientId, redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`)
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-security-policy']).toBe("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' https://app.example; frame-ancestors 'none'; base-uri 'none'")
    expect(page.headers['x-frame-options']).toBe('SAMEORIGIN')
    expect(page.headers['cache-control']).toBe('no-store')
    const bodies = []
    for (const [email, password] of [[user.email, 'wrong password 123'], ['nobody@example.test', 'whatever 12345']]) {
      const failed = await browser.post('/oauth/login', { interaction: interactionOf(page.body), email: email!, password: password! })
      expect(failed.statusCode).toBe(200)
      expect(failed.body).toContain('role="alert"')
      expect(failed.body).toContain('Invalid email or password')
      bodies.push(failed.body.replace(/value="[^"]*"/g, ''))
    }
    expect(bodies[0]).toBe(bodies[1])
    const events = await t.app.db.prisma.securityEvent.findMany({ where: { userId: user.user.id, type: 'login_failed' } })
    expect(events).toHaveLength(1)
  })
})
