import { randomUUID } from 'node:crypto'
import { createVerifier } from '@tollgate/verifier'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { login, refresh, register, registerAndLogin, uniqueEmail } from '../../helpers/accounts.js'
import { adminClient, adminRequest } from './helpers.js'

let t: TestApp
let admin: Awaited<ReturnType<typeof adminClient>>
beforeAll(async () => {
  t = await buildTestApp()
  admin = await adminClient(t.app)
})
afterAll(async () => t?.close())

const as = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) => adminRequest(t.app, admin.authorization, method, url, payload)

async function eventsOf(userId: string) {
  return t.app.db.prisma.securityEvent.findMany({ where: { userId }, orderBy: { at: 'desc' } })
}

describe('who may call the admin API', () => {
  const READ = ['GET', '/admin/v1/users'] as const
  const WRITE = ['POST', `/admin/v1/users/${randomUUID()}/disable`] as const

  it('answers 401 invalid_token with no token', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/admin/v1/users' })
    expect(response.statusCode).toBe(401)
    expect(response.json().code).toBe('invalid_token')
    expect(response.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/)
  })

  it.each([
    ['a user\'s own token', READ, async () => (await registerAndLogin(t.app)).authorization],
    [
      'a user token carrying the admin scopes',
      READ,
      async () => {
        const { user } = await register(t.app)
        const issued = await t.app.accessTokens.issue({ subject: user.id, clientId: 'tollgate-web', scopes: ['admin:read', 'admin:write'], sessionId: randomUUID() })
        return `Bearer ${issued.token}`
      },
    ],
    [
      'a token naming an admin client for a user (sub is not the client)',
      READ,
      async () => {
        const { user } = await register(t.app)
        const issued = await t.app.accessTokens.issue({ subject: user.id, clientId: admin.clientId, scopes: ['admin:read', 'admin:write'] })
        return `Bearer ${issued.token}`
      },
    ],
    ['a client without the admin scopes', READ, async () => (await adminClient(t.app, ['orders:read'])).authorization],
    ['a read-only client trying to write', WRITE, async () => (await adminClient(t.app, ['admin:read'])).authorization],
    ['a write-only client trying to read', READ, async () => (await adminClient(t.app, ['admin:write'])).authorization],
  ])('answers 403 insufficient_scope to %s', async (_name, [method, url], authorization) => {
    const response = await adminRequest(t.app, await authorization(), method, url)
    expect(response.statusCode).toBe(403)
    expect(response.json().code).toBe('insufficient_scope')
    expect(response.headers['www-authenticate']).toMatch(/error="insufficient_scope".*scope="admin:(read|write)"/)
  })

  it('answers 401 to the token of a deleted client', async () => {
    const gone = await adminClient(t.app)
    await t.app.oauth.clients.delete(gone.clientId)
    const response = await adminRequest(t.app, gone.authorization, 'GET', '/admin/v1/users')
    expect(response.statusCode).toBe(401)
    expect(response.json().code).toBe('invalid_token')
  })

  it('answers 401 to a client token meant for another audience', async () => {
    const other = await adminClient(t.app, ['admin:read'], { audience: 'https://orders.example' })
    expect((await adminRequest(t.app, other.authorization, 'GET', '/admin/v1/users')).statusCode).toBe(401)
  })
})

describe('GET /admin/v1/users', () => {
  it('finds users by part of their email, case-insensitively, a page at a time', async () => {
    const marker = randomUUID().slice(0, 8)
    const emails: string[] = []
    for (const i of [0, 1, 2, 3, 4]) emails.push((await register(t.app, { email: `p${i}-${marker}@example.test` })).email)
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const query: string = `email=${marker.toUpperCase()}&limit=2${cursor ? `&cursor=${cursor}` : ''}`
      const response = await as('GET', `/admin/v1/users?${query}`)
      expect(response.statusCode).toBe(200)
      expect(response.headers['cache-control']).toBe('no-store')
      const page = response.json<{ users: Array<{ email: string; disabled: boolean }>; nextCursor: string | null }>()
      expect(page.users.length).toBeLessThanOrEqual(2)
      seen.push(...page.users.map((user) => user.email))
      cursor = page.nextCursor
      pages++
    } while (cursor)
    expect(pages).toBe(3)
    expect(seen).toEqual(emails)
    expect(new Set(seen).size).toBe(5)
  })

  it('takes the email text literally: _ and % are not wildcards', async () => {
    const marker = randomUUID().slice(0, 8)
    const { email } = await register(t.app, { email: `under_score-${marker}@example.test` })
    await register(t.app, { email: `underXscore-${marker}@example.test` })
    expect((await as('GET', `/admin/v1/users?email=${encodeURIComponent(`under_score-${marker}`)}`)).json().users.map((u: { email: string }) => u.email)).toEqual([email])
    expect((await as('GET', `/admin/v1/users?email=${encodeURIComponent(`%-${marker}`)}`)).json().users).toEqual([])
  })

  it('finds a user by id, and nothing for an unknown or malformed id', async () => {
    const { user } = await register(t.app)
    const found = await as('GET', `/admin/v1/users?id=${user.id}`)
    expect(found.json()).toEqual({ users: [{ ...user, disabled: false, disabledAt: null }], nextCursor: null })
    expect((await as('GET', `/admin/v1/users?id=${randomUUID()}`)).json().users).toEqual([])
    expect((await as('GET', '/admin/v1/users?id=not-a-uuid')).json().users).toEqual([])
  })

  it.each([
    ['garbage', 'not a cursor!'],
    ['base64 of something else', Buffer.from('hello').toString('base64url')],
    ['a cursor with a bad id', Buffer.from('2025-01-01T00:00:00.000Z|nope').toString('base64url')],
    ['a cursor with a bad time', Buffer.from(`yesterday|${randomUUID()}`).toString('base64url')],
  ])('answers 400 to %s as the cursor', async (_name, cursor) => {
    const response = await as('GET', `/admin/v1/users?cursor=${encodeURIComponent(cursor)}`)
    expect(response.statusCode).toBe(400)
    expect(response.json().code).toBe('validation_failed')
  })

  it('records the search, naming the client', async () => {
    await as('GET', '/admin/v1/users?email=nobody-at-all')
    const event = await t.app.db.prisma.securityEvent.findFirst({ where: { type: 'users_searched' }, orderBy: { at: 'desc' } })
    expect(event?.details).toMatchObject({ actor: { kind: 'client', id: admin.clientId }, filter: 'email', found: 0 })
  })
})

describe('GET /admin/v1/users/{id}', () => {
  it('shows the user, their live sessions and their latest events, and records the reading', async () => {
    const session = await registerAndLogin(t.app, { userAgent: 'Firefox/128.0', ip: '203.0.113.9' })
    const response = await as('GET', `/admin/v1/users/${session.userId}`)
    expect(response.statusCode).toBe(200)
    const body = response.json()
    expect(body.user).toMatchObject({ id: session.userId, email: session.email, disabled: false })
    expect(body.sessions).toEqual([
      expect.objectContaining({ id: session.sessionId, clientId: 'tollgate-web', kind: 'tokens', userAgent: 'Firefox/128.0', ip: '203.0.113.9', flagged: false, bound: false }),
    ])
    expect(body.events.map((event: { type: string }) => event.type)).toEqual(['user_viewed', 'login_succeeded'])
    expect(body.events[0]).toMatchObject({ actor: { kind: 'client', id: admin.clientId }, ip: null })
  })

  it.each([['an unknown id', randomUUID()], ['a malformed id', 'x']])('answers 404 for %s', async (_name, id) => {
    const response = await as('GET', `/admin/v1/users/${id}`)
    expect(response.statusCode).toBe(404)
    expect(response.json().code).toBe('not_found')
  })
})

describe('revoking sessions', () => {
  const cart = (authorization: string) => t.app.inject({ method: 'GET', url: '/v1/cart/items', headers: { authorization } })

  it('DELETE /admin/v1/sessions/{id}: the session ends, its access token is refused at once, its refresh token too', async () => {
    const session = await registerAndLogin(t.app)
    const other = await login(t.app, { email: session.email, password: session.password })
    expect((await cart(session.authorization)).statusCode).toBe(200)

    expect((await as('DELETE', `/admin/v1/sessions/${session.sessionId}`)).statusCode).toBe(204)
    expect((await cart(session.authorization)).statusCode).toBe(401)
    expect((await refresh(t.app, session.refreshToken)).statusCode).toBe(401)
    expect((await cart(other.authorization)).statusCode).toBe(200)
    const feed = await t.app.revocations.feed()
    expect(feed.sids).toContain(session.sessionId)

    const [event] = await t.app.db.prisma.securityEvent.findMany({ where: { sessionId: session.sessionId, type: 'session_revoked' } })
    expect(event?.details).toMatchObject({ reason: 'revoked_by_admin', actor: { kind: 'client', id: admin.clientId } })
    // Already ended: still 204, and nothing more recorded.
    expect((await as('DELETE', `/admin/v1/sessions/${session.sessionId}`)).statusCode).toBe(204)
    expect(await t.app.db.prisma.securityEvent.count({ where: { sessionId: session.sessionId, type: 'session_revoked' } })).toBe(1)
  })

  it('another service, polling the revocations feed, refuses the tokens of a user signed out everywhere within the feed\'s interval', async () => {
    // What examples/microservice does, with its HTTP requests served by this app.
    const viaApp: typeof fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input))
      const headers = Object.fromEntries(new Headers(init?.headers).entries())
      const response = await t.app.inject({ method: 'GET', url: `${url.pathname}${url.search}`, headers })
      const responseHeaders = new Headers()
      for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) responseHeaders.set(name, String(value))
      return new Response(response.statusCode === 304 ? null : response.rawPayload, { status: response.statusCode, headers: responseHeaders })
    }
    const verifier = createVerifier({
      issuer: t.config.ISSUER,
      audience: t.config.ACCESS_TOKEN_AUDIENCE,
      jwksUrl: `${t.config.ISSUER}/.well-known/jwks.json`,
      revocationsUrl: `${t.config.ISSUER}/v1/revocations`,
      revocationsInterval: 1,
      cacheSize: 0,
      fetch: viaApp,
    })
    try {
      const session = await registerAndLogin(t.app)
      await expect(verifier.verify(session.accessToken)).resolves.toMatchObject({ sid: session.sessionId })
      await as('DELETE', `/admin/v1/users/${session.userId}/sessions`)
      const deadline = Date.now() + (t.config.REVOCATIONS_MAX_AGE_SECONDS + 3) * 1000
      let refused = false
      while (!refused && Date.now() < deadline) {
        refused = await verifier.verify(session.accessToken).then(() => false, (error: { code?: string }) => error.code === 'token_revoked')
        if (!refused) await new Promise((resolve) => setTimeout(resolve, 250))
      }
      expect(refused).toBe(true)
    } finally {
      verifier.close()
    }
  })

  it.each([['an unknown id', randomUUID()], ['a malformed id', 'nope']])('DELETE /admin/v1/sessions/{id} answers 404 for %s', async (_name, id) => {
    expect((await as('DELETE', `/admin/v1/sessions/${id}`)).statusCode).toBe(404)
  })

  it('DELETE /admin/v1/users/{id}/sessions signs the user out everywhere, at once', async () => {
    const first = await registerAndLogin(t.app)
    const second = await login(t.app, { email: first.email, password: first.password })
    const bystander = await registerAndLogin(t.app)
    const response = await as('DELETE', `/admin/v1/users/${first.userId}/sessions`)
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ revoked: 2 })
    for (const session of [first, second]) {
      expect((await cart(session.authorization)).statusCode).toBe(401)
      expect((await refresh(t.app, session.refreshToken)).statusCode).toBe(401)
    }
    expect((await cart(bystander.authorization)).statusCode).toBe(200)
    // Signed out, not locked out.
    expect((await login(t.app, { email: first.email, password: first.password })).accessToken).toBeTruthy()
    expect((await as('DELETE', `/admin/v1/users/${randomUUID()}/sessions`)).statusCode).toBe(404)
  })
})

describe('disabling and enabling', () => {
  it('a disabled user is signed out and can neither log in nor refresh; enabling restores login', async () => {
    const session = await registerAndLogin(t.app)
    const credentials = { email: session.email, password: session.password }

    const disabled = await as('POST', `/admin/v1/users/${session.userId}/disable`, { reason: 'ticket 4711' })
    expect(disabled.statusCode).toBe(200)
    expect(disabled.json()).toMatchObject({ id: session.userId, disabled: true })
    expect(await t.app.accounts.isActive(session.userId)).toBe(false)

    expect((await refresh(t.app, session.refreshToken)).statusCode).toBe(401)
    expect((await t.app.inject({ method: 'GET', url: '/v1/cart/items', headers: { authorization: session.authorization } })).statusCode).toBe(401)
    const refused = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: credentials })
    expect(refused.statusCode).toBe(401)
    expect(refused.json().code).toBe('invalid_credentials')
    // Not even a session started directly (the authorization flow's way in).
    await expect(t.app.sessions.start({ userId: session.userId, credentialsVersion: 0 })).rejects.toMatchObject({ code: 'invalid_credentials' })

    const again = await as('POST', `/admin/v1/users/${session.userId}/disable`)
    expect(again.json().disabledAt).toBe(disabled.json().disabledAt)

    const events = await eventsOf(session.userId)
    expect(events.filter((event) => event.type === 'user_disabled')).toHaveLength(1)
    expect(events.find((event) => event.type === 'user_disabled')?.details).toMatchObject({ reason: 'ticket 4711', actor: { kind: 'client', id: admin.clientId } })
    expect(events.find((event) => event.type === 'session_revoked')?.details).toMatchObject({ reason: 'user_disabled' })
    expect(events.find((event) => event.type === 'login_failed')?.details).toMatchObject({ reason: 'user_disabled' })

    const enabled = await as('POST', `/admin/v1/users/${session.userId}/enable`)
    expect(enabled.json()).toMatchObject({ disabled: false, disabledAt: null })
    expect(await t.app.accounts.isActive(session.userId)).toBe(true)
    expect((await login(t.app, credentials)).accessToken).toBeTruthy()
    expect((await eventsOf(session.userId)).some((event) => event.type === 'user_enabled')).toBe(true)
  })

  it('no login racing the disabling leaves a live session behind', async () => {
    const { email, password, user } = await register(t.app)
    const logins = Array.from({ length: 8 }, () => t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } }))
    const disabling = as('POST', `/admin/v1/users/${user.id}/disable`)
    const statuses = (await Promise.all(logins)).map((response) => response.statusCode)
    expect((await disabling).statusCode).toBe(200)
    expect(statuses.every((status) => status === 200 || status === 401)).toBe(true)
    // Whatever won the race, nothing of it is live: sessions started before were revoked with the user.
    expect(await t.app.db.prisma.session.count({ where: { userId: user.id, revokedAt: null } })).toBe(0)
  })

  it('a disabled user\'s login answers exactly as a wrong password does', async () => {
    const email = uniqueEmail()
    const { user, password } = await register(t.app, { email })
    await as('POST', `/admin/v1/users/${user.id}/disable`)
    const disabled = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } })
    const wrong = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: `${password}!` } })
    expect(disabled.statusCode).toBe(wrong.statusCode)
    expect(disabled.json()).toEqual(wrong.json())
  })

  it.each(['disable', 'enable'])('POST /admin/v1/users/{id}/%s answers 404 for an unknown user', async (action) => {
    expect((await as('POST', `/admin/v1/users/${randomUUID()}/${action}`)).statusCode).toBe(404)
  })
})
