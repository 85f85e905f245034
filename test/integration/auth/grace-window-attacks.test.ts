import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { refresh, registerAndLogin, timeTravel } from '../../helpers/accounts.js'

// Issue #14, item 2: a stolen refresh token replayed inside the grace window. The window serves
// only the client that rotated (same user agent, same /24 or /64), and never hands out a token
// newer than the presented token's own successor; anything else is reuse and ends the session.
const apps: Partial<Record<'flag' | 'strict', TestApp>> = {}
let clock: ReturnType<typeof timeTravel>
beforeAll(async () => {
  const [flag, strict] = await Promise.all([buildTestApp(), buildTestApp({ SESSION_BINDING: 'strict' })])
  Object.assign(apps, { flag, strict })
  clock = timeTravel(flag.app)
})
afterAll(async () => {
  await Promise.all(Object.values(apps).map((t) => t.close()))
})

const VICTIM = { ip: '192.0.2.10', userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0' }

async function reuseEvents(t: TestApp, sessionId: string) {
  const events = await t.app.db.prisma.securityEvent.findMany({ where: { sessionId, type: 'refresh_token_reused' }, orderBy: { at: 'asc' } })
  return events.map((event) => event.details as Record<string, unknown>)
}

async function liveTokens(t: TestApp, sessionId: string) {
  return t.app.db.prisma.refreshToken.count({ where: { sessionId, rotatedAt: null, session: { revokedAt: null } } })
}

describe('a replay inside the grace window from anyone but the client that rotated is reuse', () => {
  it.each([
    ['another address and user agent', { ip: '198.51.100.20', userAgent: 'curl/8.5.0' }],
    ['the victim\'s user agent copied, from another network', { ip: '198.51.100.20', userAgent: VICTIM.userAgent }],
    ['another user agent from the victim\'s very address', { ip: VICTIM.ip, userAgent: 'curl/8.5.0' }],
    ['another IPv6 /64', { ip: '2001:db8:1:2::1', userAgent: VICTIM.userAgent }],
  ])('%s: 401 invalid_grant, the session revoked, the victim\'s successor dead', async (_name, thief) => {
    const t = apps.flag!
    const session = await registerAndLogin(t.app, VICTIM)
    const rotated = await refresh(t.app, session.refreshToken, VICTIM)
    expect(rotated.statusCode).toBe(200)
    const successor = rotated.json().refresh_token as string
    clock.advance(3)
    try {
      const stolen = await refresh(t.app, session.refreshToken, thief)
      expect(stolen.statusCode).toBe(401)
      expect(stolen.json().code).toBe('invalid_grant')
      expect(stolen.body).not.toContain(successor)
    } finally {
      clock.reset()
    }
    expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(false)
    expect((await refresh(t.app, successor, VICTIM)).statusCode).toBe(401)
    expect(await reuseEvents(t, session.sessionId)).toEqual([expect.objectContaining({ kind: 'replay_within_grace', reason: 'other_client', revoked: 'session' })])
  })

  it('the same user agent from the same /24 (another host of the network) gets the same successor', async () => {
    const t = apps.flag!
    const session = await registerAndLogin(t.app, VICTIM)
    const successor = (await refresh(t.app, session.refreshToken, VICTIM)).json().refresh_token
    const replay = await refresh(t.app, session.refreshToken, { ...VICTIM, ip: '192.0.2.77' })
    expect(replay.statusCode).toBe(200)
    expect(replay.json().refresh_token).toBe(successor)
    expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(true)
  })

  it('the same user agent from the same IPv6 /64 gets the same successor', async () => {
    const t = apps.flag!
    const home = { ...VICTIM, ip: '2001:db8:1:1::10' }
    const session = await registerAndLogin(t.app, home)
    const successor = (await refresh(t.app, session.refreshToken, home)).json().refresh_token
    const replay = await refresh(t.app, session.refreshToken, { ...home, ip: '2001:db8:1:1:ffff::2' })
    expect(replay.statusCode).toBe(200)
    expect(replay.json().refresh_token).toBe(successor)
  })

  it('a token rotated two generations ago is reuse even from the same client: no newer token, the family revoked', async () => {
    const t = apps.flag!
    const session = await registerAndLogin(t.app, VICTIM)
    const t1 = (await refresh(t.app, session.refreshToken, VICTIM)).json().refresh_token as string
    const t2 = (await refresh(t.app, t1, VICTIM)).json().refresh_token as string
    clock.advance(2)
    try {
      const replay = await refresh(t.app, session.refreshToken, VICTIM)
      expect(replay.statusCode).toBe(401)
      expect(replay.body).not.toContain(t2)
    } finally {
      clock.reset()
    }
    expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(false)
    expect((await refresh(t.app, t2, VICTIM)).statusCode).toBe(401)
    expect(await reuseEvents(t, session.sessionId)).toEqual([expect.objectContaining({ kind: 'replay_within_grace', reason: 'successor_rotated' })])
  })

  it('a thief racing the victim\'s tabs never ends up holding a live token', async () => {
    const t = apps.flag!
    for (let round = 0; round < 3; round++) {
      const session = await registerAndLogin(t.app, VICTIM)
      const thief = { ip: '203.0.113.5', userAgent: VICTIM.userAgent }
      const responses = await Promise.all([
        ...Array.from({ length: 5 }, () => refresh(t.app, session.refreshToken, VICTIM)),
        refresh(t.app, session.refreshToken, thief),
        ...Array.from({ length: 5 }, () => refresh(t.app, session.refreshToken, VICTIM)),
      ])
      // Whoever came first, the other side's replay is reuse: nobody keeps the family.
      expect(responses.some((r) => r.statusCode === 401), `round ${round}`).toBe(true)
      expect(await t.app.sessions.isSessionActive(session.sessionId), `round ${round}`).toBe(false)
      expect(await liveTokens(t, session.sessionId)).toBe(0)
    }
  })
})

describe('strict binding cannot be bypassed by copying the user agent', () => {
  it('a refresh from another network with the victim\'s user agent revokes the session', async () => {
    const t = apps.strict!
    const session = await registerAndLogin(t.app, VICTIM)
    const stolen = await refresh(t.app, session.refreshToken, { ip: '198.51.100.20', userAgent: VICTIM.userAgent })
    expect(stolen.statusCode).toBe(401)
    expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(false)
  })

  it('a refresh with another user agent from the same address revokes the session', async () => {
    const t = apps.strict!
    const session = await registerAndLogin(t.app, VICTIM)
    const stolen = await refresh(t.app, session.refreshToken, { ip: VICTIM.ip, userAgent: 'python-requests/2.32' })
    expect(stolen.statusCode).toBe(401)
    expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(false)
  })

  it('another host of the same /24 with the same user agent keeps refreshing', async () => {
    const t = apps.strict!
    const session = await registerAndLogin(t.app, VICTIM)
    expect((await refresh(t.app, session.refreshToken, { ...VICTIM, ip: '192.0.2.200' })).statusCode).toBe(200)
  })
})
