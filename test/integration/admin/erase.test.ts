import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { login, refresh, registerAndLogin } from '../../helpers/accounts.js'
import { adminClient, adminRequest } from './helpers.js'

let t: TestApp
let admin: Awaited<ReturnType<typeof adminClient>>
beforeAll(async () => {
  t = await buildTestApp()
  admin = await adminClient(t.app)
})
afterAll(async () => t?.close())

const erase = (userId: string, authorization = admin.authorization) => adminRequest(t.app, authorization, 'DELETE', `/admin/v1/users/${userId}`)

/** Every row of every table of the database whose JSON form mentions `needle`, as `table` names. */
async function rowsMentioning(needle: string): Promise<string[]> {
  const tables = await t.app.db.prisma.$queryRaw<Array<{ table_name: string }>>`
    SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`
  const found: string[] = []
  for (const { table_name: table } of tables) {
    const rows = await t.app.db.prisma.$queryRawUnsafe<Array<{ row: string }>>(
      `SELECT row_to_json(t)::text AS row FROM "${table}" t WHERE row_to_json(t)::text ILIKE '%' || $1 || '%'`,
      needle,
    )
    found.push(...rows.map(() => table))
  }
  return found
}

/** A user with a bit of everything: two sessions (one logged out), a cart with a keyed add, events, a consent. */
async function busyUser() {
  const first = await registerAndLogin(t.app, { userAgent: 'Firefox/128.0', ip: '203.0.113.50' })
  const second = await login(t.app, { email: first.email, password: first.password })
  const add = await t.app.inject({
    method: 'POST',
    url: '/v1/cart/items',
    headers: { authorization: first.authorization, 'idempotency-key': randomUUID() },
    payload: { sku: 'BOOK-1', quantity: 2 },
  })
  expect(add.statusCode).toBe(201)
  await t.app.inject({ method: 'POST', url: '/v1/auth/logout', payload: { refresh_token: second.refreshToken } })
  await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: first.email, password: 'wrong password!' } })
  await t.app.db.prisma.oAuthConsent.create({ data: { userId: first.userId, clientId: admin.clientId, scopes: ['openid'] } })
  return { first, second }
}

describe('DELETE /admin/v1/users/{id}', () => {
  it('leaves no row of the user but the session ids the revocations feed needs and the audit event', async () => {
    const { first, second } = await busyUser()
    expect(await rowsMentioning(first.userId)).not.toHaveLength(0)

    const response = await erase(first.userId)
    expect(response.statusCode).toBe(204)

    // The id survives only in the audit event; the email and the address nowhere.
    expect(await rowsMentioning(first.userId)).toEqual(['security_events'])
    expect(await rowsMentioning(first.email)).toEqual([])
    expect(await rowsMentioning('203.0.113.50')).toEqual([])
    const audit = await t.app.db.prisma.securityEvent.findFirstOrThrow({ where: { type: 'user_erased', details: { path: ['erasedUserId'], equals: first.userId } } })
    expect(audit).toMatchObject({ userId: null, sessionId: null, ip: null })
    expect(audit.details).toMatchObject({ sessions: 2, actor: { kind: 'client', id: admin.clientId } })
    // The sessions' ids, nothing else, in the table the feed reads.
    expect(await rowsMentioning(first.sessionId)).toEqual(['erased_sessions'])
    expect(await rowsMentioning(second.sessionId)).toEqual(['erased_sessions'])
  })

  it('refuses the erased user\'s access tokens at once on tollgate and in the revocations feed; the refresh token is gone', async () => {
    const { first } = await busyUser()
    await erase(first.userId)
    const cart = await t.app.inject({ method: 'GET', url: '/v1/cart/items', headers: { authorization: first.authorization } })
    expect(cart.statusCode).toBe(401)
    expect((await refresh(t.app, first.refreshToken)).statusCode).toBe(401)
    expect((await t.app.revocations.feed()).sids).toContain(first.sessionId)
    expect(await t.app.revocations.isSessionRevoked(first.sessionId)).toBe(true)
    const introspection = await t.app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { authorization: admin.basic, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${first.accessToken}`,
    })
    expect(introspection.json()).toEqual({ active: false })
  })

  it('the email can register again, as a new account', async () => {
    const { first } = await busyUser()
    await erase(first.userId)
    const again = await t.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: first.email, password: first.password } })
    expect(again.statusCode).toBe(201)
    expect(again.json().id).not.toBe(first.userId)
  })

  it('answers 404 for an unknown or already erased user, and 403 to a read-only client', async () => {
    const { first } = await busyUser()
    const reader = await adminClient(t.app, ['admin:read'])
    expect((await erase(first.userId, reader.authorization)).statusCode).toBe(403)
    expect((await erase(first.userId)).statusCode).toBe(204)
    expect((await erase(first.userId)).statusCode).toBe(404)
    expect((await erase(randomUUID())).statusCode).toBe(404)
    expect((await erase('not-an-id')).statusCode).toBe(404)
  })

  it('the purge drops the kept session ids once their access tokens have expired', async () => {
    const { first } = await busyUser()
    await erase(first.userId)
    const yesterday = new Date(Date.now() - 24 * 3600 * 1000)
    await t.app.db.prisma.erasedSession.updateMany({ where: { id: first.sessionId }, data: { revokedAt: yesterday } })
    await t.app.purge.run()
    expect(await t.app.db.prisma.erasedSession.count({ where: { id: first.sessionId } })).toBe(0)
  })
})
