import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sessionsCommand } from '../../../src/cli/sessions.js'
import { usersCommand } from '../../../src/cli/users.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { login, refresh, register, registerAndLogin } from '../../helpers/accounts.js'

let t: TestApp
// The commands run on the test app's database, as an operator's would beside a running instance.
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => t?.close())

async function run(command: typeof usersCommand, ...args: string[]) {
  let stdout = ''
  let stderr = ''
  const code = await command(args, {
    env: { NODE_ENV: 'test', DATABASE_URL: t.database.url, KEY_ENCRYPTION_KEY: t.config.KEY_ENCRYPTION_KEY, MIGRATE_ON_START: 'false' },
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  })
  return { code, stdout, stderr }
}
const users = (...args: string[]) => run(usersCommand, ...args)
const sessions = (...args: string[]) => run(sessionsCommand, ...args)

describe('tollgate users', () => {
  it('find --json pages through users by email; show --json reads one with sessions and events', async () => {
    const marker = randomUUID().slice(0, 8)
    const a = await register(t.app, { email: `a-${marker}@example.test` })
    await register(t.app, { email: `b-${marker}@example.test` })
    const first = await users('find', '--email', marker, '--limit', '1', '--json')
    expect(first).toMatchObject({ code: 0, stderr: '' })
    const page = JSON.parse(first.stdout)
    expect(page.users.map((u: { email: string }) => u.email)).toEqual([a.email])
    const second = JSON.parse((await users('find', '--email', marker, '--limit', '1', '--cursor', page.nextCursor, '--json')).stdout)
    expect(second).toMatchObject({ users: [{ email: `b-${marker}@example.test` }], nextCursor: null })

    const session = await login(t.app, { email: a.email, password: a.password })
    const shown = await users('show', a.user.id, '--json')
    expect(shown.code).toBe(0)
    const details = JSON.parse(shown.stdout)
    expect(details.sessions.map((s: { id: string }) => s.id)).toEqual([session.sessionId])
    expect(details.events[0]).toMatchObject({ type: 'user_viewed', actor: { kind: 'cli' } })

    const text = await users('show', a.user.id)
    expect(text.stdout).toContain(a.email)
    expect(text.stdout).toContain(session.sessionId)
  })

  it('disable signs the user out and keeps them out; enable lets them back in', async () => {
    const session = await registerAndLogin(t.app)
    const disabled = await users('disable', session.userId, '--reason', 'phished', '--json')
    expect(disabled.code).toBe(0)
    expect(JSON.parse(disabled.stdout)).toMatchObject({ id: session.userId, disabled: true })
    expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(false)
    expect((await refresh(t.app, session.refreshToken)).statusCode).toBe(401)
    expect((await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: session.email, password: session.password } })).statusCode).toBe(401)

    expect((await users('enable', session.userId)).stdout).toContain('active')
    expect((await login(t.app, { email: session.email, password: session.password })).accessToken).toBeTruthy()
  })

  it('erase needs --yes, then leaves nothing of the account', async () => {
    const session = await registerAndLogin(t.app)
    const refused = await users('erase', session.userId)
    expect(refused.code).toBe(2)
    expect(await t.app.db.prisma.user.count({ where: { id: session.userId } })).toBe(1)
    expect(await users('erase', session.userId, '--yes', '--json')).toMatchObject({ code: 0, stdout: `{"erased":"${session.userId}"}\n` })
    expect(await t.app.db.prisma.user.count({ where: { id: session.userId } })).toBe(0)
    expect(await t.app.revocations.isSessionRevoked(session.sessionId)).toBe(true)
  })

  it.each([
    ['show', randomUUID()],
    ['disable', randomUUID()],
    ['erase', randomUUID(), '--yes'],
  ])('%s of an unknown user: one line on stderr, exit 1', async (...args) => {
    const result = await users(...args)
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^tollgate users \w+: No such user\n$/)
  })

  it.each([[[]], [['nope']], [['show']], [['find', '--limit', '0']], [['find', '--bogus']]])('usage errors exit 2: %j', async (args) => {
    expect((await users(...args)).code).toBe(2)
  })
})

describe('tollgate sessions revoke', () => {
  it('--session ends one session; --user ends them all; both recorded with the CLI as actor', async () => {
    const first = await registerAndLogin(t.app)
    const second = await login(t.app, { email: first.email, password: first.password })
    const third = await login(t.app, { email: first.email, password: first.password })
    expect(await sessions('revoke', '--session', first.sessionId)).toMatchObject({ code: 0, stdout: `revoked session ${first.sessionId}\n` })
    expect(await t.app.sessions.isSessionActive(first.sessionId)).toBe(false)
    expect(await t.app.sessions.isSessionActive(second.sessionId)).toBe(true)

    const all = await sessions('revoke', '--user', first.userId, '--json')
    expect(JSON.parse(all.stdout)).toEqual({ user: first.userId, revoked: 2 })
    for (const session of [second, third]) expect(await t.app.sessions.isSessionActive(session.sessionId)).toBe(false)
    const event = await t.app.db.prisma.securityEvent.findFirstOrThrow({ where: { sessionId: third.sessionId, type: 'session_revoked' } })
    expect(event.details).toMatchObject({ reason: 'revoked_by_admin', actor: { kind: 'cli' } })
  })

  it.each([[['revoke']], [['revoke', '--user', 'a', '--session', 'b']], [['list']]])('usage errors exit 2: %j', async (args) => {
    expect((await sessions(...args)).code).toBe(2)
  })

  it('an unknown session is exit 1', async () => {
    expect((await sessions('revoke', '--session', randomUUID())).code).toBe(1)
  })
})
