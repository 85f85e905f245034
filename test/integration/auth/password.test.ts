import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { login, refresh, registerAndLogin } from '../../helpers/accounts.js'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => t?.close())

const NEW_PASSWORD = 'a brand new passphrase'

const changePassword = (authorization: string, payload: Record<string, unknown>) =>
  t.app.inject({ method: 'POST', url: '/v1/auth/password', headers: { authorization }, payload })

const loginStatus = async (email: string, password: string) =>
  (await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } })).statusCode

describe('POST /v1/auth/password', () => {
  it('changes the password and revokes every other session, keeping the current one', async () => {
    const current = await registerAndLogin(t.app)
    const other = await login(t.app, current)
    const response = await changePassword(current.authorization, { currentPassword: current.password, newPassword: NEW_PASSWORD })
    expect(response.statusCode).toBe(204)

    expect(await t.app.sessions.isSessionActive(current.sessionId)).toBe(true)
    expect(await t.app.sessions.isSessionActive(other.sessionId)).toBe(false)
    expect((await refresh(t.app, other.refreshToken)).statusCode).toBe(401)
    expect((await refresh(t.app, current.refreshToken)).statusCode).toBe(200)

    expect(await loginStatus(current.email, current.password)).toBe(401)
    expect(await loginStatus(current.email, NEW_PASSWORD)).toBe(200)

    const events = await t.app.db.prisma.securityEvent.findMany({ where: { userId: current.userId } })
    expect(events.find((e) => e.type === 'password_changed')?.sessionId).toBe(current.sessionId)
    expect(events.find((e) => e.type === 'session_revoked' && e.sessionId === other.sessionId)?.details).toMatchObject({ reason: 'password_changed' })
  })

  it('answers 401 invalid_credentials for a wrong current password and changes nothing', async () => {
    const current = await registerAndLogin(t.app)
    const other = await login(t.app, current)
    const response = await changePassword(current.authorization, { currentPassword: 'not my password', newPassword: NEW_PASSWORD })
    expect(response.statusCode).toBe(401)
    expect(response.json().code).toBe('invalid_credentials')
    expect(await t.app.sessions.isSessionActive(other.sessionId)).toBe(true)
    expect(await loginStatus(current.email, current.password)).toBe(200)
  })

  it.each([
    ['too short', 'short1!', 'weak_password'],
    ['common', 'trustno1', 'weak_password'],
    ['too long', 'z9'.repeat(129), 'validation_failed'],
  ])('refuses a new password that is %s, and changes nothing', async (_name, newPassword, code) => {
    const current = await registerAndLogin(t.app)
    const response = await changePassword(current.authorization, { currentPassword: current.password, newPassword })
    expect(response.statusCode).toBe(400)
    expect(response.json().code).toBe(code)
    expect(await loginStatus(current.email, current.password)).toBe(200)
  })

  it.each([
    ['no body fields', {}],
    ['no new password', { currentPassword: 'x' }],
    ['a number', { currentPassword: 'x', newPassword: 123456789 }],
  ])('answers 400 validation_failed for %s', async (_name, payload) => {
    const current = await registerAndLogin(t.app)
    const response = await changePassword(current.authorization, payload)
    expect(response.statusCode).toBe(400)
    expect(response.json().code).toBe('validation_failed')
  })

  it('needs a bearer token', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/v1/auth/password', payload: { currentPassword: 'x', newPassword: NEW_PASSWORD } })
    expect(response.statusCode).toBe(401)
    expect(response.json().code).toBe('invalid_token')
  })
})
