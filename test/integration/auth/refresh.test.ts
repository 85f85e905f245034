import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { claimsOf, refresh, refreshCookieOf, registerAndLogin, timeTravel } from '../../helpers/accounts.js'

let t: TestApp
let clock: ReturnType<typeof timeTravel>
beforeAll(async () => {
  t = await buildTestApp({ ALLOWED_ORIGINS: 'https://app.example' })
  clock = timeTravel(t.app)
})
afterAll(async () => t?.close())

const DAY = 24 * 3600

async function eventsOf(userId: string) {
  return t.app.db.prisma.securityEvent.findMany({ where: { userId }, orderBy: { at: 'asc' } })
}

describe('POST /v1/auth/refresh', () => {
  it('rotates: a new refresh token of the same session, a new cookie, a valid access token', async () => {
    const session = await registerAndLogin(t.app)
    const response = await refresh(t.app, session.refreshToken)
    expect(response.statusCode).toBe(200)
    expect(response.headers['cache-control']).toBe('no-store')
    const body = response.json()
    expect(body.token_type).toBe('Bearer')
    expect(body.refresh_token).not.toBe(session.refreshToken)
    expect(refreshCookieOf(response)).toBe(body.refresh_token)
    expect(claimsOf(body.access_token).sid).toBe(session.sessionId)
    const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${body.access_token}` } })
    expect(me.statusCode).toBe(200)
  })

  it('answers a replay inside the grace window with the same successor, recorded as replay_within_grace', async () => {
    const session = await registerAndLogin(t.app)
    const first = (await refresh(t.app, session.refreshToken)).json()
    clock.advance(9)
    const replay = await refresh(t.app, session.refreshToken)
    clock.reset()
    expect(replay.statusCode).toBe(200)
    expect(replay.json().refresh_token).toBe(first.refresh_token)
    expect(replay.json().access_token).not.toBe(first.access_token)
    const reused = (await eventsOf(session.userId)).filter((e) => e.type === 'refresh_token_reused')
    expect(reused.map((e) => (e.details as { kind: string }).kind)).toEqual(['replay_within_grace'])
    expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(true)
  })

  it('detects a reuse after the window: 401 invalid_grant, the session revoked, events say stale', async () => {
    const session = await registerAndLogin(t.app)
    const successor = (await refresh(t.app, session.refreshToken)).json().refresh_token
    clock.advance(10)
    const reuse = await refresh(t.app, session.refreshToken)
    expect(reuse.statusCode).toBe(401)
    expect(reuse.json().code).toBe('invalid_grant')
    expect(reuse.headers['www-authenticate']).toMatch(/^Bearer /)
    clock.reset()

    expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(false)
    const afterwards = await refresh(t.app, successor)
    expect(afterwards.statusCode).toBe(401)
    expect(afterwards.json().code).toBe('invalid_grant')

    const events = await eventsOf(session.userId)
    const reused = events.find((e) => e.type === 'refresh_token_reused')
    expect(reused?.details).toMatchObject({ kind: 'stale' })
    expect(reused?.sessionId).toBe(session.sessionId)
    const revoked = events.find((e) => e.type === 'session_revoked')
    expect(revoked?.details).toMatchObject({ reason: 'refresh_token_reused' })
    const row = await t.app.db.prisma.session.findUniqueOrThrow({ where: { id: session.sessionId } })
    expect(row.revokedReason).toBe('refresh_token_reused')
  })

  it('revokes only the reused session by default: the user\'s other sessions stay', async () => {
    const a = await registerAndLogin(t.app)
    const b = await registerAndLogin(t.app, { email: a.email, password: a.password }).catch(() => null)
    expect(b).toBeNull() // same email cannot register twice; log in again instead
    const other = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: a.email, password: a.password } })
    const otherSid = claimsOf(other.json().access_token).sid as string
    await refresh(t.app, a.refreshToken)
    clock.advance(60)
    expect((await refresh(t.app, a.refreshToken)).statusCode).toBe(401)
    clock.reset()
    expect(await t.app.sessions.isSessionActive(a.sessionId)).toBe(false)
    expect(await t.app.sessions.isSessionActive(otherSid)).toBe(true)
  })

  it('pushes the idle expiry forward on every refresh, and refuses after idle expiry', async () => {
    const session = await registerAndLogin(t.app)
    let token = session.refreshToken
    for (let i = 0; i < 3; i++) {
      clock.advance(6 * DAY)
      const response = await refresh(t.app, token)
      expect(response.statusCode).toBe(200)
      token = response.json().refresh_token
    }
    clock.advance(7 * DAY)
    const expired = await refresh(t.app, token)
    clock.reset()
    expect(expired.statusCode).toBe(401)
    expect(expired.json().code).toBe('invalid_grant')
  })

  it('refuses after the absolute expiry however active the session was', async () => {
    const session = await registerAndLogin(t.app)
    let token = session.refreshToken
    for (let day = 5; day < 30; day += 5) {
      clock.advance(5 * DAY)
      const response = await refresh(t.app, token)
      expect(response.statusCode, `day ${day}`).toBe(200)
      token = response.json().refresh_token
      const setCookie = String(response.headers['set-cookie'])
      expect(Number(/Max-Age=(\d+)/.exec(setCookie)?.[1])).toBeLessThanOrEqual((30 - day) * DAY)
    }
    clock.advance(5 * DAY)
    const expired = await refresh(t.app, token)
    clock.reset()
    expect(expired.statusCode).toBe(401)
    expect(expired.json().code).toBe('invalid_grant')
  })

  it.each([
    ['garbage', 'not-a-token'],
    ['a well-formed unknown token', 'A'.repeat(43)],
    ['an access token', 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln'],
  ])('answers 401 invalid_grant to %s', async (_name, token) => {
    const response = await refresh(t.app, token)
    expect(response.statusCode).toBe(401)
    expect(response.json().code).toBe('invalid_grant')
  })

  it('answers 401 invalid_grant with neither a body token nor a cookie', async () => {
    for (const request of [{}, { payload: {} }]) {
      const response = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', ...request })
      expect(response.statusCode).toBe(401)
      expect(response.json().code).toBe('invalid_grant')
    }
  })

  it('answers 400 validation_failed to a refresh_token that is not a string', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: 42 } })
    expect(response.statusCode).toBe(400)
    expect(response.json().code).toBe('validation_failed')
  })
})

describe('the refresh cookie', () => {
  const cookieRefresh = (cookie: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/refresh', cookies: { tollgate_refresh: cookie }, headers })

  it('works alone, with no body, again and again', async () => {
    const session = await registerAndLogin(t.app)
    let cookie = session.cookie
    expect(cookie).toBe(session.refreshToken)
    for (let i = 0; i < 3; i++) {
      const response = await cookieRefresh(cookie)
      expect(response.statusCode).toBe(200)
      cookie = refreshCookieOf(response)!
      expect(cookie).toBe(response.json().refresh_token)
    }
  })

  it.each([
    ['no Origin header', 200, {}],
    ['the issuer\'s own origin', 200, { origin: 'http://tollgate.test' }],
    ['an allowed origin', 200, { origin: 'https://app.example' }],
    ['same-origin fetch metadata', 200, { 'sec-fetch-site': 'same-origin' }],
    ['another origin', 403, { origin: 'https://evil.example' }],
    ['an allowed host on another scheme', 403, { origin: 'http://app.example' }],
    ['the opaque origin null', 403, { origin: 'null' }],
    ['no Origin but cross-site fetch metadata', 403, { 'sec-fetch-site': 'cross-site' }],
  ])('with %s answers %i', async (_name, status, headers: Record<string, string>) => {
    const session = await registerAndLogin(t.app)
    const response = await cookieRefresh(session.cookie, headers)
    expect(response.statusCode).toBe(status)
    if (status === 403) {
      expect(response.json().code).toBe('forbidden_origin')
      expect((await refresh(t.app, session.refreshToken)).statusCode).toBe(200)
    }
  })

  it('does not apply the origin check to a token sent in the body', async () => {
    const session = await registerAndLogin(t.app)
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/refresh',
      payload: { refresh_token: session.refreshToken },
      headers: { origin: 'https://evil.example' },
    })
    expect(response.statusCode).toBe(200)
  })

  it('is marked Secure unless COOKIE_SECURE is off', async () => {
    const secure = await buildTestApp({ COOKIE_SECURE: 'true' })
    try {
      const session = await registerAndLogin(secure.app)
      const response = await refresh(secure.app, session.refreshToken)
      expect(String(response.headers['set-cookie'])).toMatch(/; Secure/)
    } finally {
      await secure.close()
    }
    const session = await registerAndLogin(t.app)
    expect(String((await refresh(t.app, session.refreshToken)).headers['set-cookie'])).not.toMatch(/Secure/)
  })
})
