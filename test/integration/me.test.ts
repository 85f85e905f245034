import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/app.js'
import { register, login } from '../helpers/accounts.js'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => t?.close())

describe('GET /v1/me', () => {
  it('answers the account of the token\'s user', async () => {
    const { email, password, user } = await register(t.app, { name: 'Grace Hopper' })
    const session = await login(t.app, { email, password })
    const response = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: session.authorization } })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual(user)
    expect(response.json()).toMatchObject({ email, name: 'Grace Hopper' })
  })

  it.each([
    ['no token', {}],
    ['a malformed token', { authorization: 'Bearer abc' }],
    ['another scheme', { authorization: 'Basic YTpi' }],
  ])('answers 401 invalid_token with %s', async (_name, headers) => {
    const response = await t.app.inject({ method: 'GET', url: '/v1/me', headers })
    expect(response.statusCode).toBe(401)
    expect(response.json().code).toBe('invalid_token')
    expect(response.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/)
  })

  it('answers 401 once the token\'s session is revoked', async () => {
    const { email, password } = await register(t.app)
    const session = await login(t.app, { email, password })
    await t.app.sessions.revokeSession(session.sessionId, 'test')
    const response = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: session.authorization } })
    expect(response.statusCode).toBe(401)
  })
})
