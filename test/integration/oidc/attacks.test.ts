import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { claimsOf, register } from '../../helpers/accounts.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { authorizeUrl, Browser, createOidcClient, interactionOf, pkcePair, redeem, redirectParams, REDIRECT_URI, signInFor } from './helpers.js'

const DOCUMENT = parse(readFileSync(new URL('../../../openapi.yaml', import.meta.url), 'utf8')) as {
  paths: Record<string, Partial<Record<'get' | 'post', { responses: Record<string, { description: string; content: Record<string, unknown> }> }>>>
}

describe('the authorization endpoint under attack', () => {
  let t: TestApp
  let client: Awaited<ReturnType<typeof createOidcClient>>
  let user: Awaited<ReturnType<typeof register>>
  const { challenge } = pkcePair()
  const base = () => ({ response_type: 'code', client_id: client.clientId, redirect_uri: REDIRECT_URI, scope: 'openid', state: 'st4te', code_challenge: challenge, code_challenge_method: 'S256' })

  beforeAll(async () => {
    t = await buildTestApp()
    client = await createOidcClient(t.app)
    user = await register(t.app)
  })
  afterAll(async () => t?.close())

  it.each([
    ['an unknown client', { client_id: 'nope' }, 'invalid_client'],
    ['no client', { client_id: undefined }, 'invalid_client'],
    ['an unregistered redirect URI', { redirect_uri: 'https://evil.example/callback' }, 'invalid_redirect_uri'],
    ['a prefix of a registered one', { redirect_uri: 'https://app.example/callback/../../evil' }, 'invalid_redirect_uri'],
    ['a registered one extended', { redirect_uri: 'https://app.example/callback.evil.example' }, 'invalid_redirect_uri'],
    ['userinfo in the URL', { redirect_uri: 'https://app.example@evil.example/callback' }, 'invalid_redirect_uri'],
    ['no redirect URI', { redirect_uri: undefined }, 'invalid_redirect_uri'],
  ])('%s gets an error page, never a redirect', async (_case, override, code) => {
    const response = await new Browser(t.app).get(authorizeUrl({ ...base(), ...override }))
    expect(response.statusCode).toBe(400)
    expect(response.headers.location).toBeUndefined()
    expect(response.headers['content-type']).toMatch(/^text\/html/)
    expect(response.body).toContain(`<code>${code}</code>`)
    // openapi.yaml documents this page, and its code, as the endpoint's 400.
    for (const method of ['get', 'post'] as const) {
      const documented = DOCUMENT.paths['/oauth/authorize']![method]!.responses['400']!
      expect(Object.keys(documented.content)).toEqual(['text/html'])
      expect(documented.description).toContain(`\`${code}\``)
    }
  })

  it.each([
    ['PKCE missing', { code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request'],
    ['PKCE plain', { code_challenge_method: 'plain' }, 'invalid_request'],
    ['PKCE method missing (plain by default)', { code_challenge_method: undefined }, 'invalid_request'],
    ['a malformed challenge', { code_challenge: 'short' }, 'invalid_request'],
    ['the implicit flow', { response_type: 'token' }, 'unsupported_response_type'],
    ['a hybrid flow', { response_type: 'code id_token' }, 'unsupported_response_type'],
    ['a scope the client lacks', { scope: 'openid admin' }, 'invalid_scope'],
    ['no scope', { scope: undefined }, 'invalid_scope'],
    ['a request object', { request: 'eyJhbGciOiJub25lIn0.e30.' }, 'request_not_supported'],
    ['prompt=none with a sign-in needed', { prompt: 'none' }, 'login_required'],
    ['prompt=none and login', { prompt: 'none login' }, 'invalid_request'],
    ['a bad max_age', { max_age: '-1' }, 'invalid_request'],
    ['response_mode=fragment', { response_mode: 'fragment' }, 'invalid_request'],
  ])('%s redirects back with the error, state and iss', async (_case, override, error) => {
    const response = await new Browser(t.app).get(authorizeUrl({ ...base(), ...override }))
    expect(response.statusCode).toBe(303)
    const params = redirectParams(response.headers.location as string)
    expect(response.headers.location).toMatch(/^https:\/\/app\.example\/callback\?/)
    expect(params.get('error')).toBe(error)
    expect(params.get('state')).toBe('st4te')
    expect(params.get('iss')).toBe('http://tollgate.test')
    expect(params.get('code')).toBeNull()
  })

  it('a code is single use: a replay is invalid_grant and revokes the session its first use started', async () => {
    const result = await signInFor(new Browser(t.app), client, user)
    const first = await redeem(t.app, client, result.code!, result.verifier)
    expect(first.statusCode).toBe(200)
    const replay = await redeem(t.app, client, result.code!, result.verifier)
    expect(replay.statusCode).toBe(400)
    expect(replay.json().error).toBe('invalid_grant')
    const sid = claimsOf(first.json().access_token).sid as string
    expect((await t.app.db.prisma.session.findUnique({ where: { id: sid } }))?.revokedReason).toBe('authorization_code_reused')
    const refresh = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: client.authorization! },
      payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: first.json().refresh_token }).toString(),
    })
    expect(refresh.json().error).toBe('invalid_grant')
  })

  it.each([
    ['a wrong code_verifier', (v: string) => ({ code_verifier: v.slice(0, -1) + (v.endsWith('A') ? 'B' : 'A') })],
    ['no code_verifier', () => ({ code_verifier: '' })],
    ['another redirect_uri', () => ({ redirect_uri: 'https://app.example/other' })],
    ['a garbage code', () => ({ code: 'not-a-code' })],
  ])('%s is invalid_grant (or invalid_request) and leaves the code usable', async (_case, change) => {
    const result = await signInFor(new Browser(t.app), client, user, { scope: 'openid' })
    const refused = await redeem(t.app, client, result.code!, result.verifier, change(result.verifier))
    expect(refused.statusCode).toBe(400)
    expect(['invalid_grant', 'invalid_request']).toContain(refused.json().error)
    expect((await redeem(t.app, client, result.code!, result.verifier)).statusCode).toBe(200)
  })

  it('a code issued to one client cannot be redeemed by another', async () => {
    const other = await createOidcClient(t.app)
    const result = await signInFor(new Browser(t.app), client, user, { scope: 'openid' })
    const refused = await redeem(t.app, other, result.code!, result.verifier)
    expect(refused.statusCode).toBe(400)
    expect(refused.json().error).toBe('invalid_grant')
  })

  it('a code expires after 60 s', async () => {
    const result = await signInFor(new Browser(t.app), client, user, { scope: 'openid' })
    const real = t.app.clock
    t.app.clock = () => new Date(Date.now() + 61_000)
    try {
      const refused = await redeem(t.app, client, result.code!, result.verifier)
      expect(refused.json().error).toBe('invalid_grant')
    } finally {
      t.app.clock = real
    }
  })

  it('login CSRF: the form cannot be posted from another site, nor from another browser', async () => {
    const browser = new Browser(t.app)
    const page = await browser.get(authorizeUrl(base()))
    const interaction = interactionOf(page.body)
    const fields = { interaction, email: user.email, password: user.password }
    const crossSite = await browser.post('/oauth/login', fields, { origin: 'https://evil.example' })
    expect(crossSite.statusCode).toBe(403)
    expect(crossSite.body).toContain('forbidden_origin')
    const fetchMetadata = await browser.post('/oauth/login', fields, { 'sec-fetch-site': 'cross-site' })
    expect(fetchMetadata.statusCode).toBe(403)
    const otherBrowser = await new Browser(t.app).post('/oauth/login', fields)
    expect(otherBrowser.statusCode).toBe(403)
    expect(otherBrowser.body).toContain('invalid_form')
    expect(otherBrowser.cookies.find((cookie) => cookie.name === 'tollgate_sign_in')).toBeUndefined()
    const tampered = await browser.post('/oauth/login', { ...fields, interaction: interaction.replace(/^./, (c) => (c === 'e' ? 'f' : 'e')) })
    expect(tampered.statusCode).toBe(403)
    expect((await browser.post('/oauth/login', fields)).statusCode).toBe(303)
  })

  it('prompt=login and max_age ask for the password again; prompt=none answers silently once signed in', async () => {
    const browser = new Browser(t.app)
    await signInFor(browser, client, user, { scope: 'openid' })
    const silent = await browser.get(authorizeUrl({ ...base(), prompt: 'none' }))
    expect(silent.statusCode).toBe(303)
    expect(redirectParams(silent.headers.location as string).get('code')).toBeTruthy()
    for (const extra of [{ prompt: 'login' }, { max_age: '0' }]) {
      const again = await browser.get(authorizeUrl({ ...base(), ...extra }))
      expect(again.statusCode).toBe(200)
      expect(again.body).toContain('action="login"')
    }
  })

  it('a revoked sign-in session is no sign-in: prompt=none gets login_required', async () => {
    const browser = new Browser(t.app)
    const result = await signInFor(browser, client, user, { scope: 'openid' })
    const token = await redeem(t.app, client, result.code!, result.verifier)
    const sid = claimsOf(token.json().id_token).sid as string
    await t.app.sessions.revokeSession(sid, 'revoked_by_user')
    const silent = await browser.get(authorizeUrl({ ...base(), prompt: 'none' }))
    expect(redirectParams(silent.headers.location as string).get('error')).toBe('login_required')
  })

  it('consent: third-party clients ask, prompt=none cannot, and Cancel is access_denied', async () => {
    const third = await createOidcClient(t.app)
    const browser = new Browser(t.app)
    await signInFor(browser, client, user, { scope: 'openid' })
    const none = await browser.get(authorizeUrl({ ...base(), client_id: third.clientId, prompt: 'none' }))
    expect(redirectParams(none.headers.location as string).get('error')).toBe('consent_required')
    const page = await browser.get(authorizeUrl({ ...base(), client_id: third.clientId }))
    expect(page.body).toContain('action="consent"')
    const denied = await browser.post('/oauth/consent', { interaction: interactionOf(page.body), decision: 'deny' })
    expect(denied.statusCode).toBe(303)
    expect(redirectParams(denied.headers.location as string).get('error')).toBe('access_denied')
    expect(redirectParams(denied.headers.location as string).get('iss')).toBe('http://tollgate.test')
    // The consent form of one sign-in cannot be replayed by another browser.
    expect((await new Browser(t.app).post('/oauth/consent', { interaction: interactionOf(page.body), decision: 'allow' })).statusCode).toBe(403)
  })

  it('the sign-in is a session like any other: listed in /v1/auth/sessions', async () => {
    const fresh = await register(t.app)
    const result = await signInFor(new Browser(t.app), client, fresh, { scope: 'openid' })
    expect((await redeem(t.app, client, result.code!, result.verifier)).statusCode).toBe(200)
    const login = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: fresh.email, password: fresh.password } })
    const sessions = await t.app.inject({ url: '/v1/auth/sessions', headers: { authorization: `Bearer ${login.json().access_token}` } })
    // The API login, the sign-in at the authorization endpoint, and the code redemption's session.
    expect(sessions.json().sessions).toHaveLength(3)
  })
})
