import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SqlRunner } from '../../../src/db/sql.js'
import { successorOf, hashRefreshToken } from '../../../src/domain/tokens/refresh-token.js'
import { Prisma } from '../../../src/generated/prisma/client.js'
import { createAccountStore, type AccountStore } from '../../../src/repositories/account-store.js'
import { SESSION_COLUMNS } from '../../../src/repositories/sessions.js'
import { createSessionService } from '../../../src/services/sessions/index.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { Registry } from 'prom-client'
import { createUsersRepository } from '../../../src/repositories/users.js'
import { createSecurityEvents } from '../../../src/services/security-events.js'
import { uniqueEmail } from '../../helpers/accounts.js'

// Every rotation, binding, expiry and login case runs twice: through the one-statement fast
// paths (with the transaction as their fallback) and through the locked transaction alone. Both
// must answer the same and leave the same rows.
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => t?.close())

const BASE = Date.UTC(2031, 0, 1)
const A = { ip: '192.0.2.1', userAgent: 'agent-x/1.0' }

type Mode = 'off' | 'flag' | 'strict'

/** A session service on the app's database with its own clock; `fast: false` never takes a fast path. */
function services(mode: Mode, reuseRevokes: 'session' | 'user' = 'session') {
  let now = BASE
  const hits = { startSession: 0, rotate: 0 }
  const real = createAccountStore(t.app.db.prisma, t.app.db.sql)
  const counting: AccountStore = {
    ...real,
    fastPaths: {
      startSession: async (input) => {
        const result = await real.fastPaths.startSession(input)
        if (result) hits.startSession++
        return result
      },
      rotate: async (input) => {
        const result = await real.fastPaths.rotate(input)
        if (result) hits.rotate++
        return result
      },
    },
  }
  const lockedOnly: AccountStore = { ...real, fastPaths: { startSession: async () => null, rotate: async () => null } }
  const clock = () => new Date(now)
  const events = createSecurityEvents({ store: real, registry: new Registry(), clock })
  const make = (store: AccountStore) =>
    createSessionService({
      store,
      events,
      accessTokens: t.app.accessTokens,
      rotationSecret: t.app.secret('refresh-token-rotation'),
      clock,
      config: { ...t.config, SESSION_BINDING: mode, REUSE_REVOKES: reuseRevokes },
    })
  return {
    fast: make(counting),
    locked: make(lockedOnly),
    hits,
    events,
    at(seconds: number) {
      now = BASE + seconds * 1000
    },
  }
}

/** A user straight in the database: these cases are about sessions, not passwords. */
async function newUser() {
  return createUsersRepository(t.app.db.prisma).create({ email: uniqueEmail('twin'), name: null, passwordHash: 'not-a-hash', now: new Date(BASE) })
}

/** Rows a user's sessions left, without the ids that differ between two users. */
async function rowsOf(userId: string, tokens: Record<string, string>) {
  const labels = new Map(Object.entries(tokens).map(([label, token]) => [hashRefreshToken(token), label]))
  const sessions = await t.app.db.prisma.session.findMany({ where: { userId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], include: { refreshTokens: true } })
  const events = await t.app.db.prisma.securityEvent.findMany({ where: { userId }, orderBy: [{ at: 'asc' }, { type: 'asc' }] })
  return {
    sessions: sessions.map(({ id: _id, userId: _user, refreshTokens, ...session }) => ({
      ...session,
      refreshTokens: refreshTokens
        .map((token) => ({ token: labels.get(token.tokenHash) ?? 'unknown', createdAt: token.createdAt, rotatedAt: token.rotatedAt }))
        .sort((a, b) => a.token.localeCompare(b.token)),
    })),
    events: events.map((event) => ({
      type: event.type,
      at: event.at,
      ip: event.ip,
      userAgent: event.userAgent,
      details: event.details,
      session: sessions.findIndex((session) => session.id === event.sessionId),
    })),
  }
}

interface RotationCase {
  name: string
  mode?: Mode
  /** Changes the session before the refresh under test, at time 0. */
  setup?: (sessionId: string) => Promise<void>
  /** Rotates the login's token once (or twice: its successor too) at time 0; the refresh under test then presents it again. */
  rotatedBefore?: boolean | 'twice'
  /** When the refresh under test happens, in seconds after the login. */
  at?: number
  client?: { ip: string | null; userAgent: string | null }
  clientId?: string
  reuseRevokes?: 'session' | 'user'
  fastPath: boolean
}

const setSession = (data: Prisma.SessionUpdateInput) => (id: string) => t.app.db.prisma.session.update({ where: { id }, data }).then(() => undefined)

const ROTATION_CASES: RotationCase[] = [
  ...(['off', 'flag', 'strict'] as const).flatMap((mode): RotationCase[] => [
    { name: `${mode}: the same client`, mode, fastPath: true },
    { name: `${mode}: another IP only`, mode, client: { ...A, ip: '198.51.100.7' }, fastPath: false },
    { name: `${mode}: another user agent only`, mode, client: { ...A, userAgent: 'agent-y/2.0' }, fastPath: false },
    { name: `${mode}: another IP and user agent`, mode, client: { ip: '198.51.100.7', userAgent: 'agent-y/2.0' }, fastPath: false },
    { name: `${mode}: a client seen with nothing`, mode, client: { ip: null, userAgent: null }, fastPath: false },
    { name: `${mode}: another host of the same /24`, mode, client: { ...A, ip: '192.0.2.200' }, fastPath: false },
  ]),
  { name: 'an hour later', at: 3600, fastPath: true },
  { name: 'near the absolute expiry: the idle expiry stops at it', setup: setSession({ absoluteExpiresAt: new Date(BASE + 3600_000) }), at: 60, fastPath: true },
  { name: 'idle-expired', at: 7 * 24 * 3600 + 1, fastPath: false },
  { name: 'absolutely expired', setup: setSession({ absoluteExpiresAt: new Date(BASE + 60_000) }), at: 61, fastPath: false },
  { name: 'revoked', setup: setSession({ revokedAt: new Date(BASE), revokedReason: 'logout' }), at: 1, fastPath: false },
  { name: 'a replay inside the grace window', rotatedBefore: true, at: 5, fastPath: false },
  { name: 'a replay from another client inside the window', rotatedBefore: true, at: 5, client: { ip: '198.51.100.7', userAgent: 'agent-y/2.0' }, fastPath: false },
  { name: 'a replay with the user agent copied, from another network', rotatedBefore: true, at: 5, client: { ...A, ip: '198.51.100.7' }, fastPath: false },
  { name: 'a replay from another host of the same /24', rotatedBefore: true, at: 5, client: { ...A, ip: '192.0.2.200' }, fastPath: false },
  { name: 'a replay whose successor was rotated too (an old generation)', rotatedBefore: 'twice', at: 5, fastPath: false },
  { name: 'a replay from another client, with reuse revoking every session of the user', rotatedBefore: true, at: 5, client: { ...A, userAgent: 'agent-y/2.0' }, fastPath: false, reuseRevokes: 'user' },
  { name: 'a replay after the grace window (reuse)', rotatedBefore: true, at: 11, fastPath: false },
  { name: 'for its own client', clientId: 'tollgate-web', fastPath: true },
  { name: 'for another client', clientId: 'someone-else', fastPath: false },
]

async function rotationRun(run: ReturnType<typeof services>, path: 'fast' | 'locked', c: RotationCase) {
  const user = await newUser()
  const service = run[path]
  if (c.reuseRevokes === 'user') {
    run.at(-60)
    await service.start({ userId: user.id, credentialsVersion: 0, ...A })
  }
  run.at(0)
  const login = await service.start({ userId: user.id, credentialsVersion: 0, ...A })
  await c.setup?.(login.sessionId)
  const tokens: Record<string, string> = { presented: login.refreshToken, successor: successorOf(login.refreshToken, t.app.secret('refresh-token-rotation')) }
  if (c.rotatedBefore) await service.refresh({ refreshToken: login.refreshToken, ...A })
  if (c.rotatedBefore === 'twice') await service.refresh({ refreshToken: tokens.successor!, ...A })
  tokens.next = successorOf(tokens.successor!, t.app.secret('refresh-token-rotation'))
  run.at(c.at ?? 1)
  const before = run.hits.rotate
  const outcome = await service
    .refresh({ refreshToken: login.refreshToken, ...(c.client ?? A), ...(c.clientId ? { clientId: c.clientId } : {}) })
    .then(
      (grant) => ({ ok: true, token: Object.entries(tokens).find(([, token]) => token === grant.refreshToken)?.[0], scope: grant.scope, expires: grant.sessionExpiresAt }),
      (error: { code?: string }) => ({ ok: false, code: error.code }),
    )
  return { outcome, rows: await rowsOf(user.id, tokens), fastPathTaken: run.hits.rotate > before }
}

describe('the rotation fast path is a twin of the locked transaction', () => {
  it.each(ROTATION_CASES)('$name', async (c) => {
    const run = services(c.mode ?? 'flag', c.reuseRevokes)
    const fast = await rotationRun(run, 'fast', c)
    const locked = await rotationRun(run, 'locked', c)
    expect(fast.fastPathTaken).toBe(c.fastPath)
    expect(locked.fastPathTaken).toBe(false)
    expect(fast.outcome).toEqual(locked.outcome)
    expect(fast.rows).toEqual(locked.rows)
  })
})

describe('the login fast path is a twin of the locked transaction', () => {
  it.each([
    { name: 'with 0 live sessions', live: 0, fastPath: true },
    { name: 'with 7 live sessions', live: 7, fastPath: true },
    { name: 'with 8 live sessions', live: 8, fastPath: true },
    { name: 'with 9 live sessions', live: 9, fastPath: false },
    { name: 'with 10 live sessions', live: 10, fastPath: false },
    // The password changed between the login's hash check and its session.
    { name: 'after a password change the login did not see', live: 1, credentialsChanged: true, fastPath: false },
    { name: 'for a disabled user', live: 1, disabled: true, fastPath: false },
  ])('$name', async ({ live, fastPath, credentialsChanged, disabled }) => {
    const run = services('flag')
    const results = []
    for (const path of ['fast', 'locked'] as const) {
      const user = await newUser()
      const tokens: Record<string, string> = {}
      for (let i = 0; i < live; i++) {
        run.at(i)
        tokens[`before-${i}`] = (await run.locked.start({ userId: user.id, credentialsVersion: 0, ...A })).refreshToken
      }
      if (credentialsChanged) await t.app.db.prisma.user.update({ where: { id: user.id }, data: { credentialsVersion: 1 } })
      if (disabled) await t.app.db.prisma.user.update({ where: { id: user.id }, data: { disabledAt: new Date(BASE) } })
      run.at(live + 1)
      const before = run.hits.startSession
      const outcome = await run[path].start({ userId: user.id, credentialsVersion: 0, ip: '203.0.113.9', userAgent: 'agent-z/3.0' }).then(
        (grant) => {
          tokens.login = grant.refreshToken
          return { ok: true, scope: grant.scope }
        },
        (error: { code?: string }) => ({ ok: false, code: error.code }),
      )
      results.push({ outcome, rows: await rowsOf(user.id, tokens), fastPathTaken: run.hits.startSession > before })
    }
    const [fast, locked] = results
    expect(fast!.fastPathTaken).toBe(fastPath)
    expect(fast!.outcome).toEqual(locked!.outcome)
    expect(fast!.outcome.ok).toBe(!credentialsChanged && !disabled)
    expect(fast!.rows).toEqual(locked!.rows)
  })
})

describe('the fast paths return whole records', () => {
  it('the session columns the statements select are every field of the Session model', () => {
    expect(Object.keys(SESSION_COLUMNS).sort()).toEqual(Object.keys(Prisma.SessionScalarFieldEnum).sort())
  })

  it('the one-statement login returns the session exactly as Prisma reads it', async () => {
    const user = await newUser()
    const store = createAccountStore(t.app.db.prisma, t.app.db.sql)
    const now = new Date(BASE)
    const started = await store.fastPaths.startSession({
      userId: user.id,
      clientId: 'tollgate-web',
      scope: 'cart',
      now,
      idleExpiresAt: new Date(BASE + 3600_000),
      absoluteExpiresAt: new Date(BASE + 7200_000),
      ...A,
      tokenHash: hashRefreshToken('x'.repeat(43)),
      credentialsVersion: 0,
      maxLiveBefore: 8,
      event: services('flag').events.stage({ type: 'login_succeeded', userId: user.id, ...A, at: now }),
    })
    expect(started).toStrictEqual(await t.app.db.prisma.session.findUniqueOrThrow({ where: { id: started!.id } }))
  })
})

describe('concurrent rotations share one statement', () => {
  /** A store whose statements are counted, and `count` live sessions of one user, each with its login token. */
  async function batchSetup(count: number) {
    const calls: string[] = []
    const sql: SqlRunner = (statement, values) => {
      calls.push(statement.name)
      return t.app.db.sql(statement, values)
    }
    const store = createAccountStore(t.app.db.prisma, sql)
    const run = services('flag')
    const user = await newUser()
    run.at(0)
    const logins = []
    for (let i = 0; i < count; i++) logins.push(await run.locked.start({ userId: user.id, credentialsVersion: 0, ...A }))
    const rotation = (token: string, client: { ip: string | null; userAgent: string | null } = A) => {
      const now = new Date(BASE + 1000)
      return {
        tokenHash: hashRefreshToken(token),
        successorHash: hashRefreshToken(successorOf(token, t.app.secret('refresh-token-rotation'))),
        clientId: null,
        now,
        idleExpiresAt: new Date(now.getTime() + 3600_000),
        ...client,
        dpopJkt: null,
      }
    }
    const liveTokens = () => t.app.db.prisma.refreshToken.count({ where: { session: { userId: user.id }, rotatedAt: null } })
    return { calls, store, logins, rotation, liveTokens }
  }

  it('each rotation of the batch gets its own session, and one that does not qualify gets null without failing the others', async () => {
    const { calls, store, logins, rotation, liveTokens } = await batchSetup(6)
    const results = await Promise.all(
      logins.map((login, i) => store.fastPaths.rotate(rotation(login.refreshToken, i === 3 ? { ...A, ip: '198.51.100.7' } : A))),
    )
    expect(calls).toEqual(['hot_rotate_live_refresh_tokens'])
    expect(results.map((session) => session?.sessionId ?? null)).toEqual(logins.map((login, i) => (i === 3 ? null : login.sessionId)))
    // Five rotated (their successors live), the one from another network untouched (its login token live).
    expect(await liveTokens()).toBe(6)
    const rotated = await t.app.db.prisma.refreshToken.count({ where: { tokenHash: { in: logins.map((l) => hashRefreshToken(l.refreshToken)) }, rotatedAt: { not: null } } })
    expect(rotated).toBe(5)
  })

  it('the same token again while its rotation is in flight: null at once, left to the transaction; nothing fails', async () => {
    const { calls, store, logins, rotation, liveTokens } = await batchSetup(2)
    const twice = rotation(logins[0]!.refreshToken)
    const results = await Promise.all([store.fastPaths.rotate(twice), store.fastPaths.rotate(rotation(logins[1]!.refreshToken)), store.fastPaths.rotate(twice)])
    expect(calls).toEqual(['hot_rotate_live_refresh_tokens'])
    expect(results.map((session) => session?.sessionId ?? null)).toEqual([logins[0]!.sessionId, logins[1]!.sessionId, null])
    expect(await liveTokens()).toBe(2)
  })

  // Needs a second backend holding the lock: the embedded PGlite serves every connection from one session.
  it.skipIf(!process.env.DATABASE_URL)('a session another transaction holds is left to the transaction, and the rest of the batch does not wait for it', async () => {
    const { store, logins, rotation } = await batchSetup(3)
    const other = new pg.Client({ connectionString: t.database.url })
    await other.connect()
    try {
      await other.query('BEGIN')
      await other.query('SELECT id FROM sessions WHERE id = $1 FOR UPDATE', [logins[1]!.sessionId])
      const results = await Promise.all(logins.map((login) => store.fastPaths.rotate(rotation(login.refreshToken))))
      expect(results.map((session) => session?.sessionId ?? null)).toEqual([logins[0]!.sessionId, null, logins[2]!.sessionId])
    } finally {
      await other.query('ROLLBACK')
      await other.end()
    }
  })
})
