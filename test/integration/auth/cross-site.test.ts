import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { GOOD_PASSWORD, refreshCookieOf, register, registerAndLogin } from '../../helpers/accounts.js'

// What an attacker's page can make a victim's browser send: an HTML form posts
// application/x-www-form-urlencoded, multipart/form-data or text/plain without a CORS preflight.
const FORM = 'application/x-www-form-urlencoded'
const EVIL = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp({ ALLOWED_ORIGINS: 'https://app.example' })
})
afterAll(async () => t?.close())

const post = (url: string, headers: Record<string, string>, payload: string | object, cookies: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url, headers, payload, cookies })

describe('a cross-site HTML form', () => {
  it('cannot log the victim in as the attacker (login CSRF): 415, no cookie', async () => {
    const attacker = await register(t.app)
    const body = new URLSearchParams({ email: attacker.email, password: attacker.password }).toString()
    const response = await post('/v1/auth/login', { ...EVIL, 'content-type': FORM }, body)
    expect(response.statusCode).toBe(415)
    expect(response.json().code).toBe('unsupported_media_type')
    expect(response.json().detail).toMatch(/JSON/)
    expect(response.headers['set-cookie']).toBeUndefined()
  })

  it('cannot overwrite the victim\'s cookie with a refresh of the attacker\'s token: 415, no cookie', async () => {
    const attacker = await registerAndLogin(t.app)
    const victim = await registerAndLogin(t.app)
    const body = new URLSearchParams({ refresh_token: attacker.refreshToken }).toString()
    const response = await post('/v1/auth/refresh', { ...EVIL, 'content-type': FORM }, body, { tollgate_refresh: victim.cookie })
    expect(response.statusCode).toBe(415)
    expect(response.headers['set-cookie']).toBeUndefined()
  })

  it('cannot clear the victim\'s cookie with a logout of a junk token: 415, no cookie', async () => {
    const victim = await registerAndLogin(t.app)
    const response = await post('/v1/auth/logout', { ...EVIL, 'content-type': FORM }, 'refresh_token=junk', { tollgate_refresh: victim.cookie })
    expect(response.statusCode).toBe(415)
    expect(response.headers['set-cookie']).toBeUndefined()
    expect(await t.app.sessions.isSessionActive(victim.sessionId)).toBe(true)
  })

  it.each([
    ['text/plain (a form with enctype=text/plain)', 'text/plain', (email: string) => JSON.stringify({ email, password: GOOD_PASSWORD })],
    ['multipart/form-data', 'multipart/form-data; boundary=x', (email: string) => `--x\r\nContent-Disposition: form-data; name="email"\r\n\r\n${email}\r\n--x--\r\n`],
  ])('in %s reaches no /v1 route: 415', async (_name, type, bodyFor) => {
    const attacker = await register(t.app)
    const response = await post('/v1/auth/login', { ...EVIL, 'content-type': type }, bodyFor(attacker.email))
    expect(response.statusCode).toBe(415)
    expect(response.json().code).toBe('unsupported_media_type')
    expect(response.headers['set-cookie']).toBeUndefined()
  })

  it.each([
    ['register', '/v1/auth/register', 'email=a%40example.test&password=correct+horse+battery+staple'],
    ['cart add', '/v1/cart/items', 'sku=a&quantity=1'],
  ])('cannot reach %s either: 415', async (_name, url, body) => {
    const response = await post(url, { 'content-type': FORM }, body)
    expect(response.statusCode).toBe(415)
    expect(response.json().code).toBe('unsupported_media_type')
  })

  it('still reaches /oauth/token, which RFC 6749 makes form-encoded', async () => {
    const session = await registerAndLogin(t.app)
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: session.refreshToken, client_id: t.config.FIRST_PARTY_CLIENT_ID })
    const response = await post('/oauth/token', { 'content-type': FORM }, body.toString())
    expect(response.statusCode).toBe(200)
  })
})

describe('a cross-site JSON request (a CORS-allowed or same-site origin, or fetch metadata)', () => {
  const crossSite: Array<[string, Record<string, string>]> = [
    ['another origin', { origin: 'https://evil.example' }],
    ['a sibling subdomain (same site, other origin)', { origin: 'https://evil.tollgate.test', 'sec-fetch-site': 'same-site' }],
    ['the opaque origin null', { origin: 'null' }],
    ['no Origin but Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['an allowed Origin but Sec-Fetch-Site: cross-site', { origin: 'https://app.example', 'sec-fetch-site': 'cross-site' }],
  ]

  it.each(crossSite)('from %s cannot set the cookie by a login', async (_name, headers) => {
    const attacker = await register(t.app)
    const response = await post('/v1/auth/login', headers, { email: attacker.email, password: attacker.password })
    expect(response.statusCode).toBe(200)
    expect(response.headers['set-cookie']).toBeUndefined()
  })

  it.each(crossSite)('from %s cannot overwrite the cookie by a refresh', async (_name, headers) => {
    const attacker = await registerAndLogin(t.app)
    const victim = await registerAndLogin(t.app)
    const response = await post('/v1/auth/refresh', headers, { refresh_token: attacker.refreshToken }, { tollgate_refresh: victim.cookie })
    expect(response.statusCode).toBe(200)
    expect(response.headers['set-cookie']).toBeUndefined()
  })

  it.each(crossSite)('from %s cannot clear the cookie by a logout', async (_name, headers) => {
    const victim = await registerAndLogin(t.app)
    const response = await post('/v1/auth/logout', headers, { refresh_token: 'junk' }, { tollgate_refresh: victim.cookie })
    expect(response.statusCode).toBe(204)
    expect(response.headers['set-cookie']).toBeUndefined()
    expect(await t.app.sessions.isSessionActive(victim.sessionId)).toBe(true)
  })

  it.each([
    ['no Origin (not a browser)', {}],
    ['the issuer\'s own origin', { origin: 'http://tollgate.test', 'sec-fetch-site': 'same-origin' }],
    ['an allowed origin', { origin: 'https://app.example', 'sec-fetch-site': 'same-site' }],
  ])('from %s sets, rotates and clears the cookie as before', async (_name, headers: Record<string, string>) => {
    const { email, password } = await register(t.app)
    const login = await post('/v1/auth/login', headers, { email, password })
    expect(login.statusCode).toBe(200)
    const cookie = refreshCookieOf(login)!
    expect(cookie).toBe(login.json().refresh_token)
    const refreshed = await post('/v1/auth/refresh', headers, {}, { tollgate_refresh: cookie })
    expect(refreshed.statusCode).toBe(200)
    expect(refreshCookieOf(refreshed)).toBe(refreshed.json().refresh_token)
    const logout = await post('/v1/auth/logout', headers, {}, { tollgate_refresh: refreshCookieOf(refreshed)! })
    expect(logout.statusCode).toBe(204)
    expect(refreshCookieOf(logout)).toBe('')
  })
})
