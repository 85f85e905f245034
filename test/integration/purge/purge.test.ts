import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createPurgeRepository } from '../../../src/repositories/purge.js'
import { createPurgeService, endedSessionRetentionSeconds } from '../../../src/services/purge.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { refresh, register, timeTravel } from '../../helpers/accounts.js'

const DAY = 24 * 3600

describe('the purge job', () => {
  let t: TestApp
  let clock: ReturnType<typeof timeTravel>
  beforeAll(async () => {
    t = await buildTestApp({
      PURGE_INTERVAL_SECONDS: '0',
      SESSION_IDLE_TTL_SECONDS: String(2 * DAY),
      SESSION_ABSOLUTE_TTL_SECONDS: String(4 * DAY),
      SECURITY_EVENT_RETENTION_DAYS: '1',
      MAX_SESSIONS_PER_USER: '50',
    })
    clock = timeTravel(t.app)
  })
  afterAll(async () => t?.close())

  const start = async (userId: string) => t.app.sessions.start({ userId, credentialsVersion: 0, ip: '127.0.0.1', userAgent: 'test-agent/1.0' })
  async function rotate(token: string, times: number): Promise<string[]> {
    const chain = [token]
    for (let i = 0; i < times; i++) {
      const response = await refresh(t.app, chain.at(-1)!)
      expect(response.statusCode).toBe(200)
      chain.push(response.json<{ refresh_token: string }>().refresh_token)
    }
    return chain
  }
  const rowsOf = (sessionId: string) => t.app.db.prisma.refreshToken.count({ where: { sessionId } })

  it('leaves only what a request can still need, and reuse detection keeps working for live sessions', async () => {
    const { user } = await register(t.app)
    const live = await start(user.id)
    const loggedOut = await start(user.id)
    const reused = await start(user.id)
    await start(user.id) // left idle: it expires after two days

    const liveChain = await rotate(live.refreshToken, 10)
    await rotate(loggedOut.refreshToken, 5).then(async (chain) => {
      const response = await t.app.inject({ method: 'POST', url: '/v1/auth/logout', payload: { refresh_token: chain.at(-1) } })
      expect(response.statusCode).toBe(204)
    })
    await rotate(reused.refreshToken, 3)
    clock.advance(t.config.REFRESH_GRACE_SECONDS + 1)
    expect((await refresh(t.app, reused.refreshToken)).statusCode).toBe(401)

    // A day and a half later the live session is used again; the idle one is not.
    clock.advance(1.5 * DAY)
    liveChain.push(...(await rotate(liveChain.at(-1)!, 10)).slice(1))
    clock.advance(DAY)
    const recentlyRevoked = await start(user.id)
    expect(await t.app.sessions.revokeSession(recentlyRevoked.sessionId, 'logout')).toBe(true)
    // Still inside one access-token lifetime of that revocation: the revocations feed lists it.
    clock.advance(60)

    const result = await t.app.purge.run()
    expect(result).toMatchObject({ ran: true, sessions: 3 })
    expect(result.refreshTokens).toBe(6 + 4 + 1)

    const sessions = await t.app.db.prisma.session.findMany({ where: { userId: user.id }, select: { id: true } })
    expect(sessions.map((s) => s.id).sort()).toEqual([live.sessionId, recentlyRevoked.sessionId].sort())
    expect(await rowsOf(live.sessionId)).toBe(liveChain.length)
    expect(await rowsOf(recentlyRevoked.sessionId)).toBe(1)

    const eventsBefore = clock.now().getTime() - DAY * 1000
    const events = await t.app.db.prisma.securityEvent.findMany({ where: { userId: user.id } })
    expect(events.length).toBeGreaterThan(0)
    expect(events.every((event) => event.at.getTime() >= eventsBefore)).toBe(true)
    expect(result.securityEvents).toBeGreaterThan(0)

    // Nothing more to do: a second run deletes nothing.
    expect(await t.app.purge.run()).toMatchObject({ ran: true, sessions: 0, refreshTokens: 0, securityEvents: 0 })

    // A stale token of the live session is still recognised as one: the whole family is revoked.
    const stale = await refresh(t.app, liveChain[5]!)
    expect(stale.statusCode).toBe(401)
    expect(stale.json().code).toBe('invalid_grant')
    expect(await t.app.sessions.isSessionActive(live.sessionId)).toBe(false)
    expect((await refresh(t.app, liveChain.at(-1)!)).statusCode).toBe(401)
    const reuse = await t.app.db.prisma.securityEvent.findFirst({ where: { sessionId: live.sessionId, type: 'refresh_token_reused' } })
    expect(reuse?.details).toMatchObject({ kind: 'stale' })
    clock.reset()
  })

  it('keeps the rows of a session ended less than one access-token lifetime (and margins) ago', async () => {
    const { user } = await register(t.app)
    const session = await start(user.id)
    await rotate(session.refreshToken, 2)
    expect(await t.app.sessions.revokeSession(session.sessionId, 'logout')).toBe(true)
    clock.advance(endedSessionRetentionSeconds(t.config) - 5)
    await t.app.purge.run()
    expect(await rowsOf(session.sessionId)).toBe(3)
    clock.advance(10)
    await t.app.purge.run()
    expect(await rowsOf(session.sessionId)).toBe(0)
    expect(await t.app.db.prisma.session.count({ where: { id: session.sessionId } })).toBe(0)
    clock.reset()
  })

  it('deletes in batches until everything ended is gone', async () => {
    const { user } = await register(t.app)
    const ended = await Promise.all(Array.from({ length: 7 }, () => start(user.id)))
    await t.app.sessions.revokeOthers(user.id, undefined, 'logout', { ip: null, userAgent: null })
    clock.advance(endedSessionRetentionSeconds(t.config) + 1)
    const small = createPurgeService({ repository: createPurgeRepository(t.app.db.prisma), clock: () => t.app.clock(), config: t.config, batchSize: 3 })
    const result = await small.run()
    expect(result.sessions).toBeGreaterThanOrEqual(ended.length)
    expect(result.batches).toBeGreaterThanOrEqual(3)
    expect(await t.app.db.prisma.session.count({ where: { userId: user.id } })).toBe(0)
    clock.reset()
  })

  it('runs on one instance at a time: while another holds the lock, it deletes nothing', async ({ skip }) => {
    // The embedded PGlite is one session, where advisory locks are re-entrant: nothing to exclude.
    if (!t.database.real) skip()
    const { user } = await register(t.app)
    const session = await start(user.id)
    expect(await t.app.sessions.revokeSession(session.sessionId, 'logout')).toBe(true)
    clock.advance(endedSessionRetentionSeconds(t.config) + 1)

    const other = new pg.Client({ connectionString: t.database.url })
    await other.connect()
    try {
      await other.query('BEGIN')
      await other.query("SELECT pg_advisory_xact_lock(hashtext('tollgate.purge'))")
      expect(await t.app.purge.run()).toMatchObject({ ran: false, sessions: 0 })
      expect(await rowsOf(session.sessionId)).toBe(1)
      await other.query('COMMIT')
    } finally {
      await other.end()
    }
    expect(await t.app.purge.run()).toMatchObject({ ran: true, sessions: 1 })
    clock.reset()
  })
})

describe('PURGE_INTERVAL_SECONDS', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ PURGE_INTERVAL_SECONDS: '1', ACCESS_TOKEN_TTL_SECONDS: '60' })
  })
  afterAll(async () => t?.close())

  it('purges on its own every PURGE_INTERVAL_SECONDS', async () => {
    const { user } = await register(t.app)
    const session = await t.app.sessions.start({ userId: user.id, credentialsVersion: 0 })
    await t.app.sessions.revokeSession(session.sessionId, 'logout')
    timeTravel(t.app).advance(3600)
    await vi.waitFor(async () => expect(await t.app.db.prisma.session.count({ where: { id: session.sessionId } })).toBe(0), { timeout: 10_000, interval: 200 })
  })
})
