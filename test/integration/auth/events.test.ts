import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { login, refresh, registerAndLogin, timeTravel } from '../../helpers/accounts.js'

let t: TestApp
let clock: ReturnType<typeof timeTravel>
beforeAll(async () => {
  t = await buildTestApp()
  clock = timeTravel(t.app)
})
afterAll(async () => t?.close())

interface ListedEvent {
  type: string
  at: string
  ip: string | null
  userAgent: string | null
  sessionId: string | null
}

async function events(authorization: string) {
  const response = await t.app.inject({ method: 'GET', url: '/v1/auth/events', headers: { authorization } })
  expect(response.statusCode).toBe(200)
  return response.json<{ events: ListedEvent[] }>().events
}

describe('GET /v1/auth/events', () => {
  it('lists the user\'s own events, newest first, with the contract\'s fields', async () => {
    const first = await registerAndLogin(t.app, { userAgent: 'Phone/1' })
    clock.advance(1)
    await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: first.email, password: 'wrong password!' } })
    clock.advance(1)
    const reused = (await refresh(t.app, first.refreshToken, { userAgent: 'Phone/1' })).json().refresh_token as string
    clock.advance(60)
    await refresh(t.app, first.refreshToken, { userAgent: 'Phone/1' })
    clock.advance(1)
    const second = await login(t.app, first, { userAgent: 'Laptop/2' })
    clock.reset()
    expect(reused).toBeTruthy()

    const listed = await events(second.authorization)
    const types = listed.map((e) => e.type)
    expect(types).toHaveLength(5)
    expect(types[0]).toBe('login_succeeded')
    // One transaction wrote these two at the same instant.
    expect(types.slice(1, 3).sort()).toEqual(['refresh_token_reused', 'session_revoked'])
    expect(types.slice(3)).toEqual(['login_failed', 'login_succeeded'])
    expect(Object.keys(listed[0]!).sort()).toEqual(['at', 'ip', 'sessionId', 'type', 'userAgent'])
    expect(listed[0]).toMatchObject({ sessionId: second.sessionId, userAgent: 'Laptop/2', ip: '127.0.0.1' })
    expect(listed.at(-1)).toMatchObject({ type: 'login_succeeded', sessionId: first.sessionId, userAgent: 'Phone/1' })
    const times = listed.map((e) => Date.parse(e.at))
    expect([...times].sort((a, b) => b - a)).toEqual(times)

    const stranger = await registerAndLogin(t.app)
    expect((await events(stranger.authorization)).map((e) => e.type)).toEqual(['login_succeeded'])
  })

  it('caps the list at the latest 100', async () => {
    const session = await registerAndLogin(t.app)
    await t.app.db.prisma.securityEvent.createMany({
      data: Array.from({ length: 120 }, (_, i) => ({ userId: session.userId, type: 'login_failed', at: new Date(Date.now() - (i + 1) * 1000) })),
    })
    const listed = await events(session.authorization)
    expect(listed).toHaveLength(100)
    expect(listed[0]!.type).toBe('login_succeeded')
  })

  it('counts events in tollgate_security_events_total', async () => {
    await registerAndLogin(t.app)
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' })
    expect(metrics.body).toMatch(/^tollgate_security_events_total\{type="login_succeeded"\} \d+/m)
    expect(metrics.body).toMatch(/^tollgate_security_events_total\{type="refresh_token_reused"\} \d+/m)
  })

  it('needs a bearer token', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/v1/auth/events' })
    expect(response.statusCode).toBe(401)
  })
})
