import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { claimsOf, login, register } from '../../helpers/accounts.js'
import { dpopKey, dpopProof, type DpopKey } from '../../helpers/dpop.js'
import { adminClient, adminRequest } from '../admin/helpers.js'

const ISSUER = 'http://tollgate.test'
let t: TestApp
let key: DpopKey
beforeAll(async () => {
  t = await buildTestApp()
  key = await dpopKey()
})
afterAll(async () => t?.close())

describe('which sessions are bound to a DPoP key', () => {
  it('the sessions list and the admin view say bound for a login with a proof, not for one without', async () => {
    const account = await register(t.app)
    const plain = await login(t.app, account)
    const boundLogin = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: account.email, password: account.password },
      headers: { dpop: await dpopProof(key, { url: `${ISSUER}/v1/auth/login` }) },
    })
    expect(boundLogin.json().token_type).toBe('DPoP')
    const token = boundLogin.json().access_token as string

    const listed = await t.app.inject({
      method: 'GET',
      url: '/v1/auth/sessions',
      headers: { authorization: `DPoP ${token}`, dpop: await dpopProof(key, { method: 'GET', url: `${ISSUER}/v1/auth/sessions`, accessToken: token }) },
    })
    expect(listed.statusCode).toBe(200)
    const sessions = listed.json<{ sessions: Array<{ id: string; current: boolean; bound: boolean }> }>().sessions
    const boundId = claimsOf(token).sid as string
    const byId = (list: Array<{ id: string; bound: boolean }>) => Object.fromEntries(list.map(({ id, bound }) => [id, bound]))
    expect(byId(sessions)).toEqual({ [boundId]: true, [plain.sessionId]: false })
    expect(sessions.find((session) => session.current)?.id).toBe(boundId)

    const admin = await adminClient(t.app)
    const viewed = await adminRequest(t.app, admin.authorization, 'GET', `/admin/v1/users/${plain.userId}`)
    expect(viewed.statusCode).toBe(200)
    const adminSessions = viewed.json<{ sessions: Array<{ id: string; bound: boolean }> }>().sessions
    expect(byId(adminSessions)).toEqual({ [boundId]: true, [plain.sessionId]: false })
  })
})
