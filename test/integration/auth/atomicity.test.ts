import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAccountStore } from '../../../src/repositories/account-store.js'
import type { SecurityEventWriter } from '../../../src/services/security-events.js'
import { createSessionService } from '../../../src/services/sessions/index.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { login, refresh, registerAndLogin, timeTravel } from '../../helpers/accounts.js'

let t: TestApp
let clock: ReturnType<typeof timeTravel>
beforeAll(async () => {
  t = await buildTestApp({ REUSE_REVOKES: 'user' })
  clock = timeTravel(t.app)
})
afterAll(async () => t?.close())

/** The app's session service, except that writing the reuse event (after the revocation) fails. */
function sessionsWithFailingReuseEvent() {
  const failing: SecurityEventWriter = {
    async record(tx, event) {
      if (event.type === 'refresh_token_reused') throw new Error('injected failure')
      return t.app.securityEvents.record(tx, event)
    },
    stage: (event) => t.app.securityEvents.stage(event),
  }
  return createSessionService({
    store: createAccountStore(t.app.db.prisma, t.app.db.sql),
    events: failing,
    accessTokens: t.app.accessTokens,
    rotationSecret: t.app.secret('refresh-token-rotation'),
    clock: () => t.app.clock(),
    config: t.config,
  })
}

describe('reuse detection is one transaction', () => {
  it('a failure after the revocation leaves every session live and nothing recorded; the next reuse revokes', async () => {
    const a = await registerAndLogin(t.app)
    const b = await login(t.app, { email: a.email, password: a.password })
    const successor = (await refresh(t.app, a.refreshToken)).json().refresh_token
    const sessionsBefore = await t.app.db.prisma.session.findMany({ where: { userId: a.userId }, orderBy: { id: 'asc' } })
    const eventsBefore = await t.app.db.prisma.securityEvent.count({ where: { userId: a.userId } })

    clock.advance(11)
    try {
      await expect(sessionsWithFailingReuseEvent().refresh({ refreshToken: a.refreshToken, ip: null, userAgent: null })).rejects.toThrow('injected failure')

      expect(await t.app.db.prisma.session.findMany({ where: { userId: a.userId }, orderBy: { id: 'asc' } })).toEqual(sessionsBefore)
      expect(await t.app.db.prisma.securityEvent.count({ where: { userId: a.userId } })).toBe(eventsBefore)
      expect(await t.app.sessions.isSessionActive(a.sessionId)).toBe(true)
      expect(await t.app.sessions.isSessionActive(b.sessionId)).toBe(true)

      const reuse = await refresh(t.app, a.refreshToken)
      expect(reuse.statusCode).toBe(401)
      expect(reuse.json().code).toBe('invalid_grant')
    } finally {
      clock.reset()
    }
    // REUSE_REVOKES=user: every session of the user goes.
    expect(await t.app.sessions.isSessionActive(a.sessionId)).toBe(false)
    expect(await t.app.sessions.isSessionActive(b.sessionId)).toBe(false)
    expect((await refresh(t.app, successor)).statusCode).toBe(401)
    expect((await refresh(t.app, b.refreshToken)).statusCode).toBe(401)
    const events = await t.app.db.prisma.securityEvent.findMany({ where: { userId: a.userId, type: { in: ['refresh_token_reused', 'session_revoked'] } } })
    expect(events.filter((e) => e.type === 'session_revoked').map((e) => e.sessionId).sort()).toEqual([a.sessionId, b.sessionId].sort())
    expect(events.filter((e) => e.type === 'refresh_token_reused').map((e) => e.details)).toEqual([
      expect.objectContaining({ kind: 'stale', revoked: 'user' }),
    ])
  })

  it('a failing rotation leaves the presented token usable', async () => {
    const session = await registerAndLogin(t.app)
    const broken = createSessionService({
      store: createAccountStore(t.app.db.prisma, t.app.db.sql),
      events: t.app.securityEvents,
      accessTokens: {
        issue: () => Promise.reject(new Error('signing failed')),
      } as unknown as typeof t.app.accessTokens,
      rotationSecret: t.app.secret('refresh-token-rotation'),
      clock: () => t.app.clock(),
      config: t.config,
    })
    // From the client the test's requests come from: a retry must come from the client that rotated.
    await expect(broken.refresh({ refreshToken: session.refreshToken, ip: '127.0.0.1', userAgent: 'test-agent/1.0' })).rejects.toThrow('signing failed')
    // The rotation committed before signing failed: a retry inside the window gets the same successor.
    const retry = await refresh(t.app, session.refreshToken)
    expect(retry.statusCode).toBe(200)
  })
})
