import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { claimsOf, refresh, registerAndLogin, timeTravel } from '../../helpers/accounts.js'

// Real concurrent requests through the app's connection pool: on PostgreSQL they race for the
// row locks; on the embedded PGlite they are serialized, and the outcome must be the same.
let t: TestApp
let clock: ReturnType<typeof timeTravel>
beforeAll(async () => {
  t = await buildTestApp()
  clock = timeTravel(t.app)
})
afterAll(async () => t?.close())

const PARALLEL = 20
const ROUNDS = 5

describe('concurrent refreshes of one token', () => {
  it(`all ${PARALLEL} succeed with the same successor and a valid access token, round after round, leaving one live token`, async () => {
    const session = await registerAndLogin(t.app)
    let token = session.refreshToken
    for (let round = 1; round <= ROUNDS; round++) {
      const responses = await Promise.all(Array.from({ length: PARALLEL }, () => refresh(t.app, token)))
      expect(responses.map((r) => r.statusCode), `round ${round}`).toEqual(Array(PARALLEL).fill(200))
      const bodies = responses.map((r) => r.json<{ refresh_token: string; access_token: string }>())
      const successors = new Set(bodies.map((b) => b.refresh_token))
      expect(successors.size, `round ${round}: one successor`).toBe(1)
      const [successor] = successors
      expect(successor).not.toBe(token)

      for (const body of bodies) expect(claimsOf(body.access_token).sid).toBe(session.sessionId)
      const checks = await Promise.all(
        bodies.slice(0, 3).map((b) => t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${b.access_token}` } })),
      )
      expect(checks.map((c) => c.statusCode)).toEqual([200, 200, 200])

      const rows = await t.app.db.prisma.refreshToken.findMany({ where: { sessionId: session.sessionId } })
      expect(rows, `round ${round}: one row per rotation`).toHaveLength(round + 1)
      expect(rows.filter((r) => r.rotatedAt === null), `round ${round}: one live token`).toHaveLength(1)
      token = successor!
    }
    const reused = await t.app.db.prisma.securityEvent.count({ where: { sessionId: session.sessionId, type: 'refresh_token_reused' } })
    expect(reused).toBe((PARALLEL - 1) * ROUNDS)
    expect(await t.app.db.prisma.session.count({ where: { id: session.sessionId, revokedAt: null } })).toBe(1)
  })

  it('after the window, a reuse revokes the family, once, however many arrive together', async () => {
    const session = await registerAndLogin(t.app)
    const successor = (await refresh(t.app, session.refreshToken)).json().refresh_token
    clock.advance(11)
    try {
      const responses = await Promise.all(Array.from({ length: PARALLEL }, () => refresh(t.app, session.refreshToken)))
      for (const response of responses) {
        expect(response.statusCode).toBe(401)
        expect(response.json().code).toBe('invalid_grant')
      }
      expect((await refresh(t.app, successor)).statusCode).toBe(401)
    } finally {
      clock.reset()
    }
    const events = await t.app.db.prisma.securityEvent.findMany({ where: { sessionId: session.sessionId } })
    expect(events.filter((e) => e.type === 'refresh_token_reused')).toHaveLength(1)
    expect(events.filter((e) => e.type === 'session_revoked')).toHaveLength(1)
    expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(false)
  })

  it('a race of fresh refreshes and a stale reuse never leaves the family alive', async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const session = await registerAndLogin(t.app)
      const t1 = (await refresh(t.app, session.refreshToken)).json().refresh_token
      clock.advance(11)
      try {
        const responses = await Promise.all([
          ...Array.from({ length: 5 }, () => refresh(t.app, t1)),
          refresh(t.app, session.refreshToken),
          ...Array.from({ length: 5 }, () => refresh(t.app, t1)),
        ])
        expect(responses[5]!.statusCode).toBe(401)
        expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(false)
        const live = responses.filter((r) => r.statusCode === 200).map((r) => r.json().refresh_token as string)
        for (const token of new Set(live)) expect((await refresh(t.app, token)).statusCode).toBe(401)
      } finally {
        clock.reset()
      }
    }
  })
})

describe('concurrent logins', () => {
  it('never share a session or a token', async () => {
    const first = await registerAndLogin(t.app)
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: first.email, password: first.password } })),
    )
    const bodies = responses.map((r) => r.json())
    const tokens = [first.refreshToken, ...bodies.map((b) => b.refresh_token)]
    const sids = [first.sessionId, ...bodies.map((b) => claimsOf(b.access_token).sid)]
    expect(new Set(tokens).size).toBe(9)
    expect(new Set(sids).size).toBe(9)
  })
})
