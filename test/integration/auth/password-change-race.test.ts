import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAccountStore } from '../../../src/repositories/account-store.js'
import { createAccountService } from '../../../src/services/accounts.js'
import { argon2Parameters, createPasswordHasher, type PasswordHasher } from '../../../src/services/password-hasher.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { registerAndLogin } from '../../helpers/accounts.js'

// Issue #14, item 3: a login that verified the old password must not outlive the change of that
// password, however its steps interleave with the change.
let t: TestApp
beforeAll(async () => {
  // Room for every racing login, so that eviction cannot hide a session that should be revoked.
  t = await buildTestApp({ MAX_SESSIONS_PER_USER: '100' })
})
afterAll(async () => t?.close())

const NEW_PASSWORD = 'a brand new passphrase'

async function liveSessions(userId: string) {
  const now = new Date()
  const rows = await t.app.db.prisma.session.findMany({ where: { userId, revokedAt: null, idleExpiresAt: { gt: now }, absoluteExpiresAt: { gt: now } } })
  return rows.map((row) => row.id)
}

const loginStatus = async (email: string, password: string) =>
  (await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } })).statusCode

/** A hasher whose verify, once it has answered, waits until the test lets it go on. */
function pausingHasher(real: PasswordHasher) {
  let pause: { reached: () => void; release: Promise<void> } | undefined
  const hasher: PasswordHasher = {
    ...real,
    async verify(digest, password) {
      const ok = await real.verify(digest, password)
      const current = pause
      pause = undefined
      if (current) {
        current.reached()
        await current.release
      }
      return ok
    },
  }
  return {
    hasher,
    /** Arms the pause for the next verify; resolves `reached` when a verify waits in it. */
    arm() {
      let release!: () => void
      let reached!: () => void
      const reachedPromise = new Promise<void>((resolve) => (reached = resolve))
      pause = { reached, release: new Promise<void>((resolve) => (release = resolve)) }
      return { reached: reachedPromise, release }
    },
  }
}

function accountsWith(hasher: PasswordHasher) {
  return createAccountService({
    store: createAccountStore(t.app.db.prisma, t.app.db.sql),
    hasher,
    sessions: t.app.sessions,
    events: t.app.securityEvents,
    clock: () => t.app.clock(),
    attempts: t.app.accountAttempts,
  })
}

describe('a login in flight when the password changes', () => {
  it('verified the old password before the change committed, starts after it: refused, no session', async () => {
    const victim = await registerAndLogin(t.app)
    const pausing = pausingHasher(createPasswordHasher(argon2Parameters(t.config)))
    const gate = pausing.arm()
    const attacker = accountsWith(pausing.hasher).login({ email: victim.email, password: victim.password, ip: '203.0.113.9', userAgent: 'thief/1' })
    const outcome = attacker.then(
      () => 'logged in',
      (error: { code?: string }) => error.code,
    )
    await gate.reached
    const change = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/password',
      headers: { authorization: victim.authorization },
      payload: { currentPassword: victim.password, newPassword: NEW_PASSWORD },
    })
    expect(change.statusCode).toBe(204)
    gate.release()
    expect(await outcome).toBe('invalid_credentials')
    expect(await liveSessions(victim.userId)).toEqual([victim.sessionId])
  })

  it('a rehash at login never writes the old password back over a new one', async () => {
    // An account hashed with other argon2 parameters than the configured ones: its next login rehashes.
    const stale = createPasswordHasher({ ...argon2Parameters(t.config), timeCost: argon2Parameters(t.config).timeCost + 1 })
    const victim = await registerAndLogin(t.app)
    await t.app.db.prisma.user.update({ where: { id: victim.userId }, data: { passwordHash: await stale.hash(victim.password) } })

    const pausing = pausingHasher(createPasswordHasher(argon2Parameters(t.config)))
    const gate = pausing.arm()
    const racing = accountsWith(pausing.hasher)
      .login({ email: victim.email, password: victim.password, ip: null, userAgent: null })
      .catch(() => undefined)
    await gate.reached
    await t.app.accounts.changePassword({
      userId: victim.userId,
      sessionId: victim.sessionId,
      currentPassword: victim.password,
      newPassword: NEW_PASSWORD,
      ip: null,
      userAgent: null,
    })
    gate.release()
    await racing
    expect(await loginStatus(victim.email, NEW_PASSWORD)).toBe(200)
    expect(await loginStatus(victim.email, victim.password)).toBe(401)
  })

  it('two changes racing with the same current password: only one of them wins', async () => {
    const victim = await registerAndLogin(t.app)
    const pausing = pausingHasher(createPasswordHasher(argon2Parameters(t.config)))
    const gate = pausing.arm()
    const first = accountsWith(pausing.hasher)
      .changePassword({ userId: victim.userId, sessionId: undefined, currentPassword: victim.password, newPassword: 'the attacker chose this one', ip: null, userAgent: null })
      .then(
        () => 'changed',
        (error: { code?: string }) => error.code,
      )
    await gate.reached
    await t.app.accounts.changePassword({
      userId: victim.userId,
      sessionId: victim.sessionId,
      currentPassword: victim.password,
      newPassword: NEW_PASSWORD,
      ip: null,
      userAgent: null,
    })
    gate.release()
    expect(await first).toBe('invalid_credentials')
    expect(await loginStatus(victim.email, NEW_PASSWORD)).toBe(200)
  })

  it('20 concurrent logins with the old password racing the change, round after round: none keeps a session', async () => {
    for (let round = 0; round < 5; round++) {
      const victim = await registerAndLogin(t.app)
      const logins = Array.from({ length: 20 }, (_, i) =>
        t.app.inject({
          method: 'POST',
          url: '/v1/auth/login',
          payload: { email: victim.email, password: victim.password },
          headers: { 'user-agent': `attacker/${i}` },
        }),
      )
      const change = t.app.inject({
        method: 'POST',
        url: '/v1/auth/password',
        headers: { authorization: victim.authorization },
        payload: { currentPassword: victim.password, newPassword: NEW_PASSWORD },
      })
      const [changed, ...answers] = await Promise.all([change, ...logins])
      expect(changed!.statusCode, `round ${round}`).toBe(204)
      for (const answer of answers) expect([200, 401], `round ${round}`).toContain(answer.statusCode)
      expect(await liveSessions(victim.userId), `round ${round}`).toEqual([victim.sessionId])
    }
  })
})
