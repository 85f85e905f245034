import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { claimsOf, register } from '../../helpers/accounts.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { postForm } from '../oauth/helpers.js'
import { authorizeUrl, Browser, createOidcClient, interactionOf, pkcePair, POST_LOGOUT_URI, redeem, redirectParams, REDIRECT_URI, signInFor } from './helpers.js'

describe('userinfo and RP-initiated logout', () => {
  let t: TestApp
  let client: Awaited<ReturnType<typeof createOidcClient>>
  beforeAll(async () => {
    t = await buildTestApp()
    client = await createOidcClient(t.app)
  })
  afterAll(async () => t?.close())

  async function signedIn(scope = 'openid profile email offline_access') {
    const user = await register(t.app, { name: 'Grace Hopper' })
    const browser = new Browser(t.app)
    const result = await signInFor(browser, client, user, { scope })
    const tokens = (await redeem(t.app, client, result.code!, result.verifier)).json()
    return { user, browser, tokens }
  }

  const userinfo = (token: string, method: 'GET' | 'POST' = 'GET') => t.app.inject({ method, url: '/oauth/userinfo', headers: { authorization: `Bearer ${token}` } })

  it('userinfo answers the claims the scopes allow, by GET and by POST', async () => {
    const { user, tokens } = await signedIn()
    for (const method of ['GET', 'POST'] as const) {
      const response = await userinfo(tokens.access_token, method)
      expect(response.statusCode).toBe(200)
      expect(response.json()).toEqual({ sub: user.user.id, name: 'Grace Hopper', email: user.email, email_verified: false })
    }
    const narrow = await signedIn('openid')
    expect((await userinfo(narrow.tokens.access_token)).json()).toEqual({ sub: narrow.user.user.id })
  })

  it.each([
    ['no token', undefined, 401, 'invalid_token'],
    ['garbage', 'garbage', 401, 'invalid_token'],
  ])('userinfo with %s is %d %s, with its Bearer challenge', async (_case, token, status, error) => {
    const response = await t.app.inject({ url: '/oauth/userinfo', headers: token ? { authorization: `Bearer ${token}` } : {} })
    expect(response.statusCode).toBe(status)
    expect(response.json().error).toBe(error)
    expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="tollgate"/)
  })

  it('userinfo refuses a token without openid (403) and a client_credentials token (401)', async () => {
    const login = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: await register(t.app).then(({ email, password }) => ({ email, password })) })
    const cart = await userinfo(login.json().access_token)
    expect(cart.statusCode).toBe(403)
    expect(cart.json().error).toBe('insufficient_scope')
    expect(cart.headers['www-authenticate']).toContain('error="insufficient_scope"')
    const service = await t.app.oauth.clients.create({ name: 'svc', scopes: ['openid'] })
    const cc = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials', client_id: service.client.clientId, client_secret: service.clientSecret })
    expect((await userinfo(cc.json().access_token)).statusCode).toBe(401)
  })

  it('logout with an id_token_hint ends the sign-in and every session started from it, and goes back with state', async () => {
    const { browser, tokens } = await signedIn()
    const response = await browser.get(`/oauth/logout?${new URLSearchParams({ id_token_hint: tokens.id_token, post_logout_redirect_uri: POST_LOGOUT_URI, state: 'bye' })}`)
    expect(response.statusCode).toBe(303)
    expect(response.headers.location).toBe(`${POST_LOGOUT_URI}?state=bye`)
    expect(browser.cookies.has('tollgate_sign_in')).toBe(false)
    // The app's session is gone: userinfo, refresh and prompt=none all say so.
    expect((await userinfo(tokens.access_token)).statusCode).toBe(401)
    const refresh = await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, { authorization: client.authorization! })
    expect(refresh.json().error).toBe('invalid_grant')
    const sid = claimsOf(tokens.id_token).sid as string
    expect((await t.app.db.prisma.session.findUnique({ where: { id: sid } }))?.revokedReason).toBe('logout')
    const silent = await browser.get(authorizeUrl({ response_type: 'code', client_id: client.clientId, redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: pkcePair().challenge, code_challenge_method: 'S256', prompt: 'none' }))
    expect(redirectParams(silent.headers.location as string).get('error')).toBe('login_required')
  })

  it('logout without a hint asks first; the confirmation cannot be posted from elsewhere', async () => {
    const { browser, tokens } = await signedIn()
    const page = await browser.get(`/oauth/logout?${new URLSearchParams({ client_id: client.clientId, post_logout_redirect_uri: POST_LOGOUT_URI })}`)
    expect(page.statusCode).toBe(200)
    expect(page.body).toContain('Sign out of tollgate?')
    expect((await userinfo(tokens.access_token)).statusCode).toBe(200)
    const forged = await new Browser(t.app).post('/oauth/logout', { interaction: interactionOf(page.body), confirm: 'yes' })
    expect(forged.statusCode).toBe(403)
    const confirmed = await browser.post('/oauth/logout', { interaction: interactionOf(page.body), confirm: 'yes' })
    expect(confirmed.statusCode).toBe(303)
    expect(confirmed.headers.location).toBe(POST_LOGOUT_URI)
    expect((await userinfo(tokens.access_token)).statusCode).toBe(401)
  })

  it.each([
    ['an unregistered post_logout_redirect_uri', (hint: string) => ({ id_token_hint: hint, post_logout_redirect_uri: 'https://evil.example/' })],
    ['a forged id_token_hint', (hint: string) => ({ id_token_hint: hint.slice(0, -4) + 'AAAA', post_logout_redirect_uri: POST_LOGOUT_URI })],
    ['a client_id that is not the hint\'s', (hint: string) => ({ id_token_hint: hint, client_id: 'someone-else' })],
    ['a redirect with no client to check it against', () => ({ post_logout_redirect_uri: POST_LOGOUT_URI })],
  ])('%s gets an error page, never a redirect, and signs nobody out', async (_case, params) => {
    const { browser, tokens } = await signedIn('openid')
    const response = await browser.get(`/oauth/logout?${new URLSearchParams(params(tokens.id_token))}`)
    expect(response.statusCode).toBe(400)
    expect(response.headers.location).toBeUndefined()
    expect((await userinfo(tokens.access_token)).statusCode).toBe(200)
  })

  it('logout with nothing to end says so on a page', async () => {
    const response = await new Browser(t.app).get('/oauth/logout')
    expect(response.statusCode).toBe(200)
    expect(response.body).toContain('You are signed out')
  })
})
