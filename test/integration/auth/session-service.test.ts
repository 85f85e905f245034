import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ProblemError } from '../../../src/errors.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { refresh, registerAndLogin, timeTravel } from '../../helpers/accounts.js'

// app.sessions is what the OAuth endpoints build on: /oauth/token, /oauth/revoke, /oauth/introspect.
let t: TestApp
let clock: ReturnType<typeof timeTravel>
beforeAll(async () => {
  t = await buildTestApp()
  clock = timeTravel(t.app)
})
afterAll(async () => t?.close())

async function invalidGrantOf(promise: Promise<unknown>) {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ProblemError)
  return (error as ProblemError).code
}

describe('app.sessions', () => {
  it('refresh() rotates for the session\'s own client and refuses any other', async () => {
    const session = await registerAndLogin(t.app)
    expect(await invalidGrantOf(t.app.sessions.refresh({ refreshToken: session.refreshToken, clientId: 'someone-else' }))).toBe('invalid_grant')
    const grant = await t.app.sessions.refresh({ refreshToken: session.refreshToken, clientId: 'tollgate-web', ip: '192.0.2.1', userAgent: undefined })
    expect(grant).toMatchObject({ expiresIn: 600, scope: 'cart', sessionId: session.sessionId })
    expect(grant.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(grant.accessToken.split('.')).toHaveLength(3)
    expect(await invalidGrantOf(t.app.sessions.refresh({ refreshToken: 'garbage' }))).toBe('invalid_grant')
  })

  it('introspectRefreshToken() describes a usable token and nothing else', async () => {
    const session = await registerAndLogin(t.app)
    const info = await t.app.sessions.introspectRefreshToken(session.refreshToken)
    expect(info).toMatchObject({ sub: session.userId, client_id: 'tollgate-web', scope: 'cart', sid: session.sessionId, iss: 'http://tollgate.test' })
    expect(info!.exp - info!.iat).toBeGreaterThan(7 * 24 * 3600 - 60)

    const successor = (await refresh(t.app, session.refreshToken)).json().refresh_token
    expect(await t.app.sessions.introspectRefreshToken(session.refreshToken)).not.toBeNull()
    clock.advance(11)
    expect(await t.app.sessions.introspectRefreshToken(session.refreshToken)).toBeNull()
    expect(await t.app.sessions.introspectRefreshToken(successor)).not.toBeNull()
    clock.reset()
    // Introspection is no reuse: the session survives.
    expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(true)

    for (const token of ['garbage', 'A'.repeat(43)]) expect(await t.app.sessions.introspectRefreshToken(token)).toBeNull()
    await t.app.sessions.revokeSession(session.sessionId, 'test')
    expect(await t.app.sessions.introspectRefreshToken(successor)).toBeNull()
  })

  it('revokeByRefreshToken() revokes the session of any of its tokens; false for unknown tokens', async () => {
    const session = await registerAndLogin(t.app)
    expect(await t.app.sessions.revokeByRefreshToken('A'.repeat(43), 'oauth_revoke')).toBe(false)
    expect(await t.app.sessions.revokeByRefreshToken('not a token', 'oauth_revoke')).toBe(false)
    expect(await t.app.sessions.revokeByRefreshToken(session.refreshToken, 'oauth_revoke')).toBe(true)
    expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(false)
    const row = await t.app.db.prisma.session.findUniqueOrThrow({ where: { id: session.sessionId } })
    expect(row.revokedReason).toBe('oauth_revoke')
  })

  it('revokeSession() and isSessionActive()', async () => {
    const session = await registerAndLogin(t.app)
    expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(true)
    expect(await t.app.sessions.isSessionActive(randomUUID())).toBe(false)
    expect(await t.app.sessions.isSessionActive('nope')).toBe(false)
    expect(await t.app.sessions.revokeSession(session.sessionId, 'test')).toBe(true)
    expect(await t.app.sessions.revokeSession(session.sessionId, 'test')).toBe(false)
    expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(false)
  })
})
