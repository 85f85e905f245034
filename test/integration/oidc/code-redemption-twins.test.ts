import { createHash, randomBytes } from 'node:crypto'
import pg from 'pg'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashRefreshToken } from '../../../src/domain/tokens/refresh-token.js'
import { Prisma } from '../../../src/generated/prisma/client.js'
import { createAccountStore, type AccountStore } from '../../../src/repositories/account-store.js'
import { createUsersRepository } from '../../../src/repositories/users.js'
import { createSecurityEvents } from '../../../src/services/security-events.js'
import { createSessionService } from '../../../src/services/sessions/index.js'
import { uniqueEmail } from '../../helpers/accounts.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'

// Every redemption case runs twice: through the one-statement redemption (with the locked
// transaction as its fallback) and through the transaction alone. Both must answer the same and
// leave the same rows (sessions, refresh tokens, the code, security events).
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => t?.close())

const BASE = Date.UTC(2031, 0, 1)
const A = { ip: '192.0.2.1', userAgent: 'agent-x/1.0' }
const CLIENT = 'code-client'
const REDIRECT = 'https://app.example/callback'
const VERIFIER = randomBytes(32).toString('base64url')
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url')

function services() {
  let now = BASE
  const hits = { redeem: 0 }
  const real = createAccountStore(t.app.db.prisma, t.app.db.sql)
  const counting: AccountStore = {
    ...real,
    codeRedemption: {
      redeem: async (input) => {
        const result = await real.codeRedemption.redeem(input)
        if (result) hits.redeem++
        return result
      },
    },
  }
  const lockedOnly: AccountStore = { ...real, codeRedemption: { redeem: async () => null } }
  const clock = () => new Date(now)
  const events = createSecurityEvents({ store: real, registry: new Registry(), clock })
  const make = (store: AccountStore) =>
    createSessionService({ store, events, accessTokens: t.app.accessTokens, rotationSecret: t.app.secret('refresh-token-rotation'), clock, config: t.config })
  return {
    fast: make(counting),
    locked: make(lockedOnly),
    hits,
    at(seconds: number) {
      now = BASE + seconds * 1000
    },
  }
}

type Run = ReturnType<typeof services>
type Service = Run['fast']

async function newUser() {
  return createUsersRepository(t.app.db.prisma).create({ email: uniqueEmail('code-twin'), name: 'Ada', passwordHash: 'not-a-hash', now: new Date(BASE) })
}

/** A sign-in at time 0 and a code of it, as the authorization endpoint leaves them. */
async function signedInWithCode(run: Run, service: Service, userId: string) {
  run.at(0)
  const signIn = await service.startSignIn({ userId, credentialsVersion: 0, ...A })
  const code = randomBytes(32).toString('base64url')
  await t.app.db.prisma.authorizationCode.create({
    data: {
      codeHash: hashRefreshToken(code),
      clientId: CLIENT,
      userId,
      signInSessionId: signIn.id,
      redirectUri: REDIRECT,
      codeChallenge: CHALLENGE,
      scope: 'openid offline_access',
      nonce: 'n',
      authTime: signIn.createdAt,
      createdAt: new Date(BASE),
      expiresAt: new Date(BASE + 60_000),
    },
  })
  return { signIn, code }
}

/** The user's rows, without the ids that differ between two users (sessions by creation order). */
async function rowsOf(userId: string) {
  const sessions = await t.app.db.prisma.session.findMany({ where: { userId }, orderBy: [{ createdAt: 'asc' }, { kind: 'asc' }, { id: 'asc' }], include: { refreshTokens: true } })
  const index = (id: string | null) => (id === null ? null : sessions.findIndex((session) => session.id === id))
  const codes = await t.app.db.prisma.authorizationCode.findMany({ where: { userId } })
  const events = await t.app.db.prisma.securityEvent.findMany({ where: { userId }, orderBy: [{ at: 'asc' }, { type: 'asc' }] })
  return {
    sessions: sessions.map(({ id: _id, userId: _user, signInSessionId, refreshTokens, ...session }) => ({
      ...session,
      signIn: index(signInSessionId),
      refreshTokens: refreshTokens.map((token) => ({ createdAt: token.createdAt, rotatedAt: token.rotatedAt })),
    })),
    codes: codes.map(({ codeHash: _hash, userId: _user, signInSessionId, sessionId, ...code }) => ({ ...code, signIn: index(signInSessionId), session: index(sessionId) })),
    events: events.map((event) => ({ type: event.type, at: event.at, ip: event.ip, userAgent: event.userAgent, details: event.details, session: index(event.sessionId) })),
  }
}

interface RedemptionCase {
  name: string
  /** Changes rows after the sign-in and the code, at time 0. */
  setup?: (ids: { userId: string; signInId: string }) => Promise<void>
  /** When the redemption happens, in seconds after the sign-in. */
  at?: number
  /** Redeems the code once before the redemption under test. */
  redeemedBefore?: boolean
  clientId?: string
  redirectUri?: string | undefined
  codeVerifier?: string | undefined
  dpopJkt?: string
  bindRefreshToken?: boolean
  fastPath: boolean
}

const extraSessions = (count: number) => async ({ userId }: { userId: string }) => {
  await t.app.db.prisma.session.createMany({
    data: Array.from({ length: count }, (_, i) => ({
      userId,
      clientId: 'tollgate-web',
      scope: 'cart',
      createdAt: new Date(BASE + i + 1),
      lastUsedAt: new Date(BASE),
      idleExpiresAt: new Date(BASE + 3600_000),
      absoluteExpiresAt: new Date(BASE + 7200_000),
    })),
  })
}

const CASES: RedemptionCase[] = [
  { name: 'a first redemption', fastPath: true },
  { name: 'a first redemption bound to a DPoP key (a public client)', dpopJkt: 'jkt-1', bindRefreshToken: true, fastPath: true },
  { name: 'a first redemption with a DPoP proof, unbound refresh token (a confidential client)', dpopJkt: 'jkt-1', fastPath: true },
  { name: 'with 7 other live sessions', setup: extraSessions(7), fastPath: true },
  { name: 'with 8 other live sessions (the headroom)', setup: extraSessions(8), fastPath: false },
  { name: 'with 9 other live sessions: the oldest is evicted', setup: extraSessions(9), fastPath: false },
  { name: 'a replay: refused, and the first redemption is revoked', redeemedBefore: true, fastPath: false },
  { name: 'by another client', clientId: 'someone-else', fastPath: false },
  { name: 'with another redirect_uri', redirectUri: 'https://app.example/other', fastPath: false },
  { name: 'without redirect_uri', redirectUri: undefined, fastPath: false },
  { name: 'with another code_verifier', codeVerifier: randomBytes(32).toString('base64url'), fastPath: false },
  { name: 'with a malformed code_verifier', codeVerifier: 'short', fastPath: false },
  { name: 'without code_verifier', codeVerifier: undefined, fastPath: false },
  { name: 'at its expiry', at: 60, fastPath: false },
  { name: 'just before its expiry', at: 59.999, fastPath: true },
  {
    name: 'after the sign-in was revoked',
    setup: ({ signInId }) => t.app.db.prisma.session.update({ where: { id: signInId }, data: { revokedAt: new Date(BASE), revokedReason: 'logout' } }).then(() => undefined),
    fastPath: false,
  },
  {
    name: 'after the sign-in expired',
    setup: ({ signInId }) => t.app.db.prisma.session.update({ where: { id: signInId }, data: { absoluteExpiresAt: new Date(BASE + 10_000) } }).then(() => undefined),
    at: 10,
    fastPath: false,
  },
  {
    name: 'for a disabled user',
    setup: ({ userId }) => t.app.db.prisma.user.update({ where: { id: userId }, data: { disabledAt: new Date(BASE) } }).then(() => undefined),
    fastPath: false,
  },
]

async function redemptionRun(run: Run, path: 'fast' | 'locked', c: RedemptionCase) {
  const user = await newUser()
  const service = run[path]
  const { signIn, code } = await signedInWithCode(run, service, user.id)
  await c.setup?.({ userId: user.id, signInId: signIn.id })
  const input = {
    code,
    clientId: c.clientId ?? CLIENT,
    redirectUri: 'redirectUri' in c ? c.redirectUri : REDIRECT,
    codeVerifier: 'codeVerifier' in c ? c.codeVerifier : VERIFIER,
    audience: 'orders',
    dpopJkt: c.dpopJkt,
    bindRefreshToken: c.bindRefreshToken,
    ...A,
  }
  if (c.redeemedBefore) {
    run.at(1)
    await run.locked.startFromCode(input)
  }
  run.at(c.at ?? 2)
  const before = run.hits.redeem
  const outcome = await service.startFromCode(input).then(
    ({ grant, code: redeemed, user: redeemedBy }) => ({
      ok: true,
      scope: grant.scope,
      tokenType: grant.tokenType,
      expires: grant.sessionExpiresAt,
      code: { scope: redeemed.scope, nonce: redeemed.nonce, authTime: redeemed.authTime, userId: redeemed.userId === user.id },
      // The one-statement path hands the account's fields over; the transaction leaves them to be read.
      user: redeemedBy === undefined ? undefined : { ...redeemedBy, id: redeemedBy.id === user.id },
    }),
    (error: { error?: string; description?: string }) => ({ ok: false, error: error.error, description: error.description }),
  )
  return { outcome, rows: await rowsOf(user.id), fastPathTaken: run.hits.redeem > before }
}

describe('the one-statement code redemption is a twin of the locked transaction', () => {
  it.each(CASES)('$name', async (c) => {
    const run = services()
    const fast = await redemptionRun(run, 'fast', c)
    const locked = await redemptionRun(run, 'locked', c)
    expect(fast.fastPathTaken).toBe(c.fastPath)
    expect(locked.fastPathTaken).toBe(false)
    if (c.fastPath) {
      expect(fast.outcome).toMatchObject({ ok: true, user: { id: true, email: expect.any(String), name: 'Ada', createdAt: new Date(BASE) } })
      delete (fast.outcome as { user?: unknown }).user
    }
    expect(fast.outcome).toEqual(locked.outcome)
    expect(fast.rows).toEqual(locked.rows)
  })
})

describe('the one-statement redemption never waits', () => {
  // Needs a second backend holding the lock: the embedded PGlite serves every connection from one session.
  it.skipIf(!process.env.DATABASE_URL)('a code whose user is locked (a password change in flight) is left to the transaction, which waits for it', async () => {
    const run = services()
    const user = await newUser()
    const { code } = await signedInWithCode(run, run.fast, user.id)
    const other = new pg.Client({ connectionString: t.database.url })
    await other.connect()
    try {
      await other.query('BEGIN')
      await other.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [user.id])
      run.at(2)
      const redemption = run.fast.startFromCode({ code, clientId: CLIENT, redirectUri: REDIRECT, codeVerifier: VERIFIER, audience: null, ...A })
      await new Promise((resolve) => setTimeout(resolve, 300))
      await other.query('COMMIT')
      const { grant } = await redemption
      expect(grant.scope).toBe('openid offline_access')
      expect(run.hits.redeem).toBe(0)
    } finally {
      await other.end()
    }
  })

  it('two redemptions of one code at once: one gets tokens, the other invalid_grant, and the session is revoked', async () => {
    const run = services()
    const user = await newUser()
    const { code } = await signedInWithCode(run, run.fast, user.id)
    run.at(2)
    const input = { code, clientId: CLIENT, redirectUri: REDIRECT, codeVerifier: VERIFIER, audience: null, ...A }
    const results = await Promise.allSettled([run.fast.startFromCode(input), run.fast.startFromCode(input)])
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    const rows = await rowsOf(user.id)
    const started = rows.sessions.filter((s) => s.kind === 'tokens')
    expect(started).toHaveLength(1)
    expect(started[0]).toMatchObject({ revokedReason: 'authorization_code_reused' })
  })
})

describe('the one-statement redemption returns whole records', () => {
  it('its session and code are exactly as Prisma reads them', async () => {
    const run = services()
    const user = await newUser()
    const { code } = await signedInWithCode(run, run.fast, user.id)
    const store = createAccountStore(t.app.db.prisma, t.app.db.sql)
    const redeemed = await store.codeRedemption.redeem({
      codeHash: hashRefreshToken(code),
      clientId: CLIENT,
      redirectUri: REDIRECT,
      codeChallenge: CHALLENGE,
      audience: 'orders',
      now: new Date(BASE + 1000),
      idleExpiresAt: new Date(BASE + 3600_000),
      absoluteExpiresAt: new Date(BASE + 7200_000),
      ...A,
      dpopJkt: null,
      tokenHash: hashRefreshToken('y'.repeat(43)),
      maxLiveBefore: 8,
    })
    expect(redeemed!.session).toStrictEqual(await t.app.db.prisma.session.findUniqueOrThrow({ where: { id: redeemed!.session.id } }))
    // As locked: consumed by this very statement, which the record does not show.
    expect({ ...redeemed!.code, consumedAt: new Date(BASE + 1000), sessionId: redeemed!.session.id }).toStrictEqual(
      await t.app.db.prisma.authorizationCode.findUniqueOrThrow({ where: { codeHash: hashRefreshToken(code) } }),
    )
    expect(Object.keys(redeemed!.code).sort()).toEqual(Object.keys(Prisma.AuthorizationCodeScalarFieldEnum).sort())
  })
})
