import argon2 from 'argon2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { GOOD_PASSWORD, claimsOf, register, registerAndLogin, uniqueEmail } from '../../helpers/accounts.js'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp({ MAX_SESSIONS_PER_USER: '3' })
})
afterAll(async () => t?.close())

const loginRequest = (payload: unknown, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: payload as Record<string, unknown>, headers })

describe('POST /v1/auth/login', () => {
  it('answers a token response, no-store, and the refresh cookie', async () => {
    const { email } = await register(t.app)
    const response = await loginRequest({ email: ` ${email.toUpperCase()} `, password: GOOD_PASSWORD })
    expect(response.statusCode).toBe(200)
    expect(response.headers['cache-control']).toBe('no-store')
    expect(response.headers.pragma).toBe('no-cache')
    const body = response.json()
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type'])
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: 'cart' })
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/)

    const claims = claimsOf(body.access_token)
    expect(claims).toMatchObject({ client_id: 'tollgate-web', scope: 'cart', iss: 'http://tollgate.test', aud: 'tollgate' })
    expect(claims.sid).toMatch(/^[0-9a-f-]{36}$/)
    expect(JSON.stringify(claims)).not.toContain(email)

    const setCookie = String(response.headers['set-cookie'])
    expect(setCookie).toContain(`tollgate_refresh=${body.refresh_token}`)
    expect(setCookie).toMatch(/HttpOnly/i)
    expect(setCookie).toMatch(/SameSite=Strict/i)
    expect(setCookie).toContain('Path=/v1/auth')
    const maxAge = Number(/Max-Age=(\d+)/.exec(setCookie)?.[1])
    expect(maxAge).toBeGreaterThan(30 * 24 * 3600 - 60)
    expect(maxAge).toBeLessThanOrEqual(30 * 24 * 3600)
  })

  it('stores only the SHA-256 of the refresh token', async () => {
    const session = await registerAndLogin(t.app)
    const rows = await t.app.db.prisma.refreshToken.findMany({ where: { sessionId: session.sessionId } })
    expect(rows).toHaveLength(1)
    expect(rows[0]!.tokenHash).not.toBe(session.refreshToken)
    expect(rows[0]!.tokenHash).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('gives an unknown email and a wrong password the same 401 invalid_credentials', async () => {
    const { email } = await register(t.app)
    const wrongPassword = await loginRequest({ email, password: 'not the password at all' })
    const unknownEmail = await loginRequest({ email: uniqueEmail('nobody'), password: 'not the password at all' })
    const malformedEmail = await loginRequest({ email: 'not an email', password: 'not the password at all' })
    for (const response of [wrongPassword, unknownEmail, malformedEmail]) {
      expect(response.statusCode).toBe(401)
      expect(response.json().code).toBe('invalid_credentials')
      expect(response.headers['www-authenticate']).toMatch(/^Bearer /)
      expect(response.headers['set-cookie']).toBeUndefined()
    }
    expect(unknownEmail.body).toBe(wrongPassword.body)
    expect(malformedEmail.body).toBe(wrongPassword.body)
  })

  it('records failed and successful logins as security events', async () => {
    const { email, user } = await register(t.app)
    await loginRequest({ email, password: 'not the password at all' })
    await loginRequest({ email, password: GOOD_PASSWORD })
    const events = await t.app.db.prisma.securityEvent.findMany({ where: { userId: user.id }, orderBy: { at: 'asc' } })
    expect(events.map((e) => e.type)).toEqual(['login_failed', 'login_succeeded'])
    expect(events[1]!.sessionId).toMatch(/^[0-9a-f-]{36}$/)
  })

  it.each([
    ['no password', { email: 'a@example.com' }],
    ['an empty password', { email: 'a@example.com', password: '' }],
    ['a password that is not a string', { email: 'a@example.com', password: ['x'] }],
    ['no email', { password: GOOD_PASSWORD }],
  ])('answers 400 validation_failed for %s', async (_name, payload) => {
    const response = await loginRequest(payload)
    expect(response.statusCode).toBe(400)
    expect(response.json().code).toBe('validation_failed')
  })

  it('rehashes a password hashed with other parameters on the next login', async () => {
    const email = uniqueEmail('rehash')
    const oldHash = await argon2.hash(GOOD_PASSWORD, { type: argon2.argon2id, memoryCost: 19456, timeCost: 3, parallelism: 1 })
    await t.app.db.prisma.user.create({ data: { email, passwordHash: oldHash } })
    expect((await loginRequest({ email, password: GOOD_PASSWORD })).statusCode).toBe(200)
    const { passwordHash } = await t.app.db.prisma.user.findUniqueOrThrow({ where: { email } })
    expect(passwordHash).not.toBe(oldHash)
    expect(passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/)
    expect((await loginRequest({ email, password: GOOD_PASSWORD })).statusCode).toBe(200)
  })

  it('never gives two logins the same tokens or session', async () => {
    const { email, password } = await register(t.app)
    const responses = await Promise.all(Array.from({ length: 6 }, () => loginRequest({ email, password })))
    expect(responses.map((r) => r.statusCode)).toEqual(Array(6).fill(200))
    const bodies = responses.map((r) => r.json())
    expect(new Set(bodies.map((b) => b.refresh_token)).size).toBe(6)
    expect(new Set(bodies.map((b) => claimsOf(b.access_token).sid)).size).toBe(6)
  })

  it('records the session, its refresh token and the event, and counts it, also while another transaction holds the user', async () => {
    const loginsCounted = async () =>
      Number(/^tollgate_security_events_total\{type="login_succeeded"\} (\d+)/m.exec((await t.app.inject({ method: 'GET', url: '/metrics' })).body)?.[1] ?? 0)
    const { email, password, userId } = await registerAndLogin(t.app)
    const counted = await loginsCounted()
    const headers = { 'user-agent': 'login-test/1.0' }

    const free = await loginRequest({ email, password }, headers)
    expect(free.statusCode).toBe(200)

    // A password change or another login of the same user holds its row: the login waits its turn.
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    let locked!: () => void
    const isLocked = new Promise<void>((resolve) => (locked = resolve))
    const holder = t.app.db.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM users WHERE id = ${userId}::uuid FOR UPDATE`
      locked()
      await held
    })
    await isLocked
    let settled = false
    const waiting = loginRequest({ email, password }, headers).finally(() => (settled = true))
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(settled, 'the login went around the held row').toBe(false)
    release()
    await holder
    const contended = await waiting
    expect(contended.statusCode).toBe(200)

    for (const response of [free, contended]) {
      const sid = claimsOf(response.json().access_token).sid as string
      const session = await t.app.db.prisma.session.findUniqueOrThrow({ where: { id: sid }, include: { refreshTokens: true } })
      expect(session).toMatchObject({ userId, clientId: 'tollgate-web', scope: 'cart', userAgent: 'login-test/1.0', revokedAt: null })
      expect(session.refreshTokens).toHaveLength(1)
      const events = await t.app.db.prisma.securityEvent.findMany({ where: { sessionId: sid } })
      expect(events).toMatchObject([{ type: 'login_succeeded', userId, userAgent: 'login-test/1.0', details: null }])
    }
    expect(await loginsCounted()).toBe(counted + 2)
  })

  it('keeps at most MAX_SESSIONS_PER_USER live sessions, evicting the oldest, also under concurrent logins', async () => {
    const first = await registerAndLogin(t.app)
    const credentials = { email: first.email, password: first.password }
    const second = await loginRequest(credentials)
    const third = await loginRequest(credentials)
    expect(await t.app.sessions.isSessionActive(first.sessionId)).toBe(true)

    const fourth = await loginRequest(credentials)
    expect(fourth.statusCode).toBe(200)
    expect(await t.app.sessions.isSessionActive(first.sessionId)).toBe(false)
    for (const response of [second, third, fourth]) {
      expect(await t.app.sessions.isSessionActive(claimsOf(response.json().access_token).sid as string)).toBe(true)
    }
    const evicted = await t.app.db.prisma.session.findUniqueOrThrow({ where: { id: first.sessionId } })
    expect(evicted.revokedReason).toBe('evicted')
    const refreshEvicted = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: first.refreshToken } })
    expect(refreshEvicted.statusCode).toBe(401)

    await Promise.all(Array.from({ length: 8 }, () => loginRequest(credentials)))
    expect(await t.app.db.prisma.session.count({ where: { userId: first.userId, revokedAt: null } })).toBe(3)
  })
})
