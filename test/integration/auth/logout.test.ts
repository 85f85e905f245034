import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { refresh, refreshCookieOf, registerAndLogin } from '../../helpers/accounts.js'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => t?.close())

const logout = (request: { payload?: Record<string, unknown>; cookies?: Record<string, string>; headers?: Record<string, string> }) =>
  t.app.inject({ method: 'POST', url: '/v1/auth/logout', ...request })

describe('POST /v1/auth/logout', () => {
  it.each([
    ['the refresh token in the body', (s: { refreshToken: string }) => ({ payload: { refresh_token: s.refreshToken } })],
    ['the refresh cookie', (s: { cookie: string }) => ({ cookies: { tollgate_refresh: s.cookie } })],
    ['the bearer access token', (s: { authorization: string }) => ({ headers: { authorization: s.authorization } })],
  ])('with %s: 204, the session revoked, the cookie cleared', async (_name, requestFor) => {
    const session = await registerAndLogin(t.app)
    const response = await logout(requestFor(session))
    expect(response.statusCode).toBe(204)
    expect(refreshCookieOf(response)).toBe('')
    expect(String(response.headers['set-cookie'])).toContain('Path=/v1/auth')
    expect(String(response.headers['set-cookie'])).toContain('Expires=Thu, 01 Jan 1970 00:00:00 GMT')
    expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(false)
    expect((await refresh(t.app, session.refreshToken)).statusCode).toBe(401)
    const row = await t.app.db.prisma.session.findUniqueOrThrow({ where: { id: session.sessionId } })
    expect(row.revokedReason).toBe('logout')
  })

  it('is idempotent: a second logout, or one with an unknown token, is still 204', async () => {
    const session = await registerAndLogin(t.app)
    expect((await logout({ payload: { refresh_token: session.refreshToken } })).statusCode).toBe(204)
    expect((await logout({ payload: { refresh_token: session.refreshToken } })).statusCode).toBe(204)
    expect((await logout({ payload: { refresh_token: 'A'.repeat(43) } })).statusCode).toBe(204)
  })

  it('leaves the user\'s other sessions alone', async () => {
    const a = await registerAndLogin(t.app)
    const b = await registerAndLogin(t.app)
    await logout({ payload: { refresh_token: a.refreshToken } })
    expect(await t.app.sessions.isSessionActive(b.sessionId)).toBe(true)
  })

  it('refuses a cookie logout from another origin and keeps the session', async () => {
    const session = await registerAndLogin(t.app)
    const response = await logout({ cookies: { tollgate_refresh: session.cookie }, headers: { origin: 'https://evil.example' } })
    expect(response.statusCode).toBe(403)
    expect(response.json().code).toBe('forbidden_origin')
    expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(true)
  })

  it('answers 401 invalid_token with no credential at all', async () => {
    const response = await logout({})
    expect(response.statusCode).toBe(401)
    expect(response.json().code).toBe('invalid_token')
    expect(response.headers['www-authenticate']).toMatch(/^Bearer /)
  })
})
