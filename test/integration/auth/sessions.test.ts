import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { login, refresh, registerAndLogin, timeTravel } from '../../helpers/accounts.js'
import { userWithAccessToken } from '../../helpers/tokens.js'
import type { SessionListItem } from '../../../src/services/sessions/index.js'

let t: TestApp
let clock: ReturnType<typeof timeTravel>
beforeAll(async () => {
  t = await buildTestApp()
  clock = timeTravel(t.app)
})
afterAll(async () => t?.close())

type ListedSession = SessionListItem

async function list(authorization: string) {
  const response = await t.app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: { authorization } })
  expect(response.statusCode).toBe(200)
  return response.json<{ sessions: ListedSession[] }>().sessions
}

const remove = (authorization: string, id?: string) =>
  t.app.inject({ method: 'DELETE', url: id === undefined ? '/v1/auth/sessions' : `/v1/auth/sessions/${id}`, headers: { authorization } })

describe('GET /v1/auth/sessions', () => {
  it('lists the live sessions, newest first, marking the current one', async () => {
    const first = await registerAndLogin(t.app, { userAgent: 'Phone/1' })
    clock.advance(1)
    const second = await login(t.app, first, { userAgent: 'Laptop/2' })
    clock.reset()
    const sessions = await list(second.authorization)
    expect(sessions.map((s) => s.id)).toEqual([second.sessionId, first.sessionId])
    expect(sessions.map((s) => s.current)).toEqual([true, false])
    expect(sessions.map((s) => s.userAgent)).toEqual(['Laptop/2', 'Phone/1'])
    const [current] = sessions
    expect(Object.keys(current!).sort()).toEqual(['bound', 'createdAt', 'current', 'expiresAt', 'flagged', 'id', 'ip', 'lastUsedAt', 'userAgent'])
    expect(current!.ip).toBe('127.0.0.1')
    expect(current!.flagged).toBe(false)
    expect(current!.bound).toBe(false)
    const days = (Date.parse(current!.expiresAt) - Date.parse(current!.createdAt)) / 86_400_000
    expect(days).toBeCloseTo(7, 3)
    expect((await list(first.authorization)).map((s) => s.current)).toEqual([false, true])
  })

  it('updates lastUsedAt and expiresAt on refresh, and drops expired and revoked sessions', async () => {
    const session = await registerAndLogin(t.app)
    const [before] = await list(session.authorization)
    clock.advance(3600)
    await refresh(t.app, session.refreshToken)
    const [after] = await list(session.authorization)
    expect(Date.parse(after!.lastUsedAt) - Date.parse(before!.lastUsedAt)).toBeGreaterThanOrEqual(3600_000)
    expect(Date.parse(after!.expiresAt) - Date.parse(before!.expiresAt)).toBeGreaterThanOrEqual(3600_000)
    clock.reset()

    const other = await registerAndLogin(t.app)
    await login(t.app, other)
    clock.advance(8 * 24 * 3600)
    const fresh = await login(t.app, other)
    expect((await list(fresh.authorization)).map((s) => s.id)).toEqual([fresh.sessionId])
    clock.reset()
  })

  it('answers 401 invalid_token without a bearer token, with a bad one, and for a session that has ended', async () => {
    const missing = await t.app.inject({ method: 'GET', url: '/v1/auth/sessions' })
    expect(missing.statusCode).toBe(401)
    expect(missing.headers['www-authenticate']).toMatch(/error="invalid_token"/)
    const bad = await t.app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: { authorization: 'Bearer nope' } })
    expect(bad.statusCode).toBe(401)

    const session = await registerAndLogin(t.app)
    await t.app.inject({ method: 'POST', url: '/v1/auth/logout', payload: { refresh_token: session.refreshToken } })
    const ended = await t.app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: { authorization: session.authorization } })
    expect(ended.statusCode).toBe(401)
    expect(ended.json().code).toBe('invalid_token')
    expect(ended.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/)
  })

  it('refuses a token that belongs to no session', async () => {
    const { authorization } = await userWithAccessToken(t.app)
    const response = await t.app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: { authorization } })
    expect(response.statusCode).toBe(401)
  })
})

describe('DELETE /v1/auth/sessions/{id}', () => {
  it('revokes one of the owner\'s sessions: its refresh token stops working', async () => {
    const a = await registerAndLogin(t.app)
    const b = await login(t.app, a)
    const response = await remove(a.authorization, b.sessionId)
    expect(response.statusCode).toBe(204)
    expect(response.body).toBe('')
    expect((await refresh(t.app, b.refreshToken)).statusCode).toBe(401)
    expect((await list(a.authorization)).map((s) => s.id)).toEqual([a.sessionId])
    const row = await t.app.db.prisma.session.findUniqueOrThrow({ where: { id: b.sessionId } })
    expect(row.revokedReason).toBe('revoked_by_user')
  })

  it('answers 404 for another user\'s session and leaves it alone', async () => {
    const mine = await registerAndLogin(t.app)
    const theirs = await registerAndLogin(t.app)
    const response = await remove(mine.authorization, theirs.sessionId)
    expect(response.statusCode).toBe(404)
    expect(response.json().code).toBe('not_found')
    expect(await t.app.sessions.isSessionActive(theirs.sessionId)).toBe(true)
  })

  it.each([
    ['an unknown id', randomUUID()],
    ['an id that is not a UUID', 'not-a-uuid'],
    ['a number', '42'],
  ])('answers 404 for %s', async (_name, id) => {
    const session = await registerAndLogin(t.app)
    const response = await remove(session.authorization, id)
    expect(response.statusCode).toBe(404)
    expect(response.json().code).toBe('not_found')
  })

  it('answers 404 for a session already revoked', async () => {
    const a = await registerAndLogin(t.app)
    const b = await login(t.app, a)
    expect((await remove(a.authorization, b.sessionId)).statusCode).toBe(204)
    expect((await remove(a.authorization, b.sessionId)).statusCode).toBe(404)
  })
})

describe('DELETE /v1/auth/sessions', () => {
  it('revokes every session of the user but the current one, and no one else\'s', async () => {
    const a = await registerAndLogin(t.app)
    const b = await login(t.app, a)
    const c = await login(t.app, a)
    const stranger = await registerAndLogin(t.app)
    const response = await remove(b.authorization)
    expect(response.statusCode).toBe(204)
    expect((await list(b.authorization)).map((s) => s.id)).toEqual([b.sessionId])
    expect((await refresh(t.app, a.refreshToken)).statusCode).toBe(401)
    expect((await refresh(t.app, c.refreshToken)).statusCode).toBe(401)
    expect((await refresh(t.app, b.refreshToken)).statusCode).toBe(200)
    expect(await t.app.sessions.isSessionActive(stranger.sessionId)).toBe(true)
  })
})
