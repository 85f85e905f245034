import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { refresh, registerAndLogin } from '../../helpers/accounts.js'

const apps: Partial<Record<'off' | 'flag' | 'strict', TestApp>> = {}
beforeAll(async () => {
  const [off, flag, strict] = await Promise.all([
    buildTestApp({ SESSION_BINDING: 'off' }),
    buildTestApp(),
    buildTestApp({ SESSION_BINDING: 'strict' }),
  ])
  Object.assign(apps, { off, flag, strict })
})
afterAll(async () => {
  await Promise.all(Object.values(apps).map((t) => t.close()))
})

const HOME = { ip: '192.0.2.10', userAgent: 'Firefox/140' }
const ELSEWHERE = { ip: '198.51.100.20', userAgent: 'curl/8.5' }

async function listSessions(t: TestApp, authorization: string) {
  const response = await t.app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: { authorization } })
  return response.json<{ sessions: { id: string; flagged: boolean; ip: string; userAgent: string }[] }>().sessions
}

describe('session binding', () => {
  it('records the last-seen IP and user agent on the session', async () => {
    const t = apps.flag!
    const session = await registerAndLogin(t.app, HOME)
    const [listed] = await listSessions(t, session.authorization)
    expect(listed).toMatchObject({ ip: HOME.ip, userAgent: HOME.userAgent, flagged: false })
  })

  it('flag: another host of the same /24 with the same user agent is the same client', async () => {
    const t = apps.flag!
    const session = await registerAndLogin(t.app, HOME)
    expect((await refresh(t.app, session.refreshToken, { ...HOME, ip: '192.0.2.99' })).statusCode).toBe(200)
    const [listed] = await listSessions(t, session.authorization)
    expect(listed).toMatchObject({ flagged: false, ip: '192.0.2.99' })
  })

  it.each([
    ['another network only', { ...HOME, ip: ELSEWHERE.ip }],
    ['another user agent only', { ...HOME, userAgent: ELSEWHERE.userAgent }],
  ])('flag: %s refreshes, but flags the session', async (_name, from) => {
    const t = apps.flag!
    const session = await registerAndLogin(t.app, HOME)
    expect((await refresh(t.app, session.refreshToken, from)).statusCode).toBe(200)
    const [listed] = await listSessions(t, session.authorization)
    expect(listed!.flagged).toBe(true)
  })

  it('flag: another network and user agent refreshes, but flags the session and records an event', async () => {
    const t = apps.flag!
    const session = await registerAndLogin(t.app, HOME)
    const response = await refresh(t.app, session.refreshToken, ELSEWHERE)
    expect(response.statusCode).toBe(200)
    const [listed] = await listSessions(t, session.authorization)
    expect(listed).toMatchObject({ id: session.sessionId, flagged: true, ip: ELSEWHERE.ip, userAgent: ELSEWHERE.userAgent })
    const events = await t.app.inject({ method: 'GET', url: '/v1/auth/events', headers: { authorization: session.authorization } })
    expect(events.json().events[0]).toMatchObject({ type: 'session_flagged', sessionId: session.sessionId, ip: ELSEWHERE.ip })
    expect((await refresh(t.app, response.json().refresh_token, ELSEWHERE)).statusCode).toBe(200)
  })

  it('strict: another network and user agent revokes the session and answers 401 invalid_grant', async () => {
    const t = apps.strict!
    const session = await registerAndLogin(t.app, HOME)
    const response = await refresh(t.app, session.refreshToken, ELSEWHERE)
    expect(response.statusCode).toBe(401)
    expect(response.json().code).toBe('invalid_grant')
    expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(false)
    expect((await refresh(t.app, session.refreshToken, HOME)).statusCode).toBe(401)
    const events = await t.app.db.prisma.securityEvent.findMany({ where: { sessionId: session.sessionId }, orderBy: { at: 'asc' } })
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['session_flagged', 'session_revoked']))
    expect(events.find((e) => e.type === 'session_revoked')?.details).toMatchObject({ reason: 'binding_mismatch' })
  })

  it('strict: the same client keeps refreshing', async () => {
    const t = apps.strict!
    const session = await registerAndLogin(t.app, HOME)
    expect((await refresh(t.app, session.refreshToken, HOME)).statusCode).toBe(200)
  })

  it('off: anything goes, nothing is flagged', async () => {
    const t = apps.off!
    const session = await registerAndLogin(t.app, HOME)
    expect((await refresh(t.app, session.refreshToken, ELSEWHERE)).statusCode).toBe(200)
    const [listed] = await listSessions(t, session.authorization)
    expect(listed!.flagged).toBe(false)
  })
})
