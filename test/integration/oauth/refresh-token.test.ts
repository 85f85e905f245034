import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { claimsOf, createClient, loginUser, postForm } from './helpers.js'

describe('POST /oauth/token grant_type=refresh_token', () => {
  let t: TestApp
  const realClock = () => new Date()

  beforeAll(async () => {
    t = await buildTestApp()
  })
  afterAll(async () => t?.close())
  afterEach(() => {
    t.app.clock = realClock
  })

  const refresh = (refreshToken: string, fields: Record<string, string> = { client_id: t.config.FIRST_PARTY_CLIENT_ID }, headers: Record<string, string> = {}) =>
    postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshToken, ...fields }, headers)

  it('rotates a first-party refresh token for client_id alone (a public client)', async () => {
    const user = await loginUser(t.app)
    const res = await refresh(user.refreshToken)
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.headers.pragma).toBe('no-cache')
    const body = res.json()
    expect(body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: t.config.ACCESS_TOKEN_TTL_SECONDS,
      refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      scope: 'cart',
    })
    expect(body.refresh_token).not.toBe(user.refreshToken)
    const before = claimsOf(user.accessToken)
    expect(claimsOf(body.access_token)).toMatchObject({ sub: user.userId, sid: before.sid, client_id: t.config.FIRST_PARTY_CLIENT_ID, scope: 'cart' })
  })

  it('is idempotent inside the grace window: concurrent refreshes with one token all get the same successor', async () => {
    const user = await loginUser(t.app)
    const responses = await Promise.all(Array.from({ length: 5 }, () => refresh(user.refreshToken)))
    expect(responses.map((res) => res.statusCode)).toEqual([200, 200, 200, 200, 200])
    const successors = new Set(responses.map((res) => res.json().refresh_token))
    expect(successors.size).toBe(1)
    const [successor] = [...successors]
    expect((await refresh(successor!)).statusCode).toBe(200)
  })

  it('answers a reused token after the grace window with 400 invalid_grant and revokes the whole session', async () => {
    const user = await loginUser(t.app)
    const first = await refresh(user.refreshToken)
    const successor = first.json().refresh_token as string
    t.app.clock = () => new Date(Date.now() + (t.config.REFRESH_GRACE_SECONDS + 1) * 1000)

    const reused = await refresh(user.refreshToken)
    expect(reused.statusCode).toBe(400)
    expect(reused.json()).toMatchObject({ error: 'invalid_grant' })
    expect(reused.headers['www-authenticate']).toBeUndefined()
    expect(reused.headers['cache-control']).toBe('no-store')

    const family = await refresh(successor)
    expect(family.statusCode).toBe(400)
    expect(family.json().error).toBe('invalid_grant')
    expect(await t.app.sessions.isSessionActive(claimsOf(user.accessToken).sid as string)).toBe(false)
  })

  it('shares one token family with /v1/auth/refresh', async () => {
    const user = await loginUser(t.app)
    const viaOAuth = (await refresh(user.refreshToken)).json().refresh_token as string
    const viaApi = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: viaOAuth } })
    expect(viaApi.statusCode).toBe(200)
    const next = viaApi.json().refresh_token as string
    expect((await refresh(next)).statusCode).toBe(200)
  })

  it.each([
    ['an unknown token', 'A'.repeat(43)],
    ['a malformed token', 'not a token'],
  ])('refuses %s with 400 invalid_grant', async (_case, token) => {
    const res = await refresh(token)
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toBe('invalid_grant')
  })

  it('refuses a missing client_id with 400 invalid_request', async () => {
    const user = await loginUser(t.app)
    const res = await refresh(user.refreshToken, {})
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toBe('invalid_request')
  })

  it('refuses a missing refresh_token with 400 invalid_request', async () => {
    const res = await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', client_id: t.config.FIRST_PARTY_CLIENT_ID })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toBe('invalid_request')
  })

  it.each([
    ['an unknown public client_id', () => ({ client_id: 'someone-else' }), {}],
    ['a confidential client without its secret', (id: string) => ({ client_id: id }), {}],
  ])('refuses %s with 401 invalid_client', async (_case, fields: (id: string) => Record<string, string>) => {
    const confidential = await createClient(t.app, { grantTypes: ['client_credentials', 'refresh_token'] })
    const user = await loginUser(t.app)
    const res = await refresh(user.refreshToken, fields(confidential.clientId))
    expect(res.statusCode).toBe(401)
    expect(res.json().error).toBe('invalid_client')
  })

  it('refuses a first-party token presented by a confidential client (400 invalid_grant), and leaves it usable', async () => {
    const confidential = await createClient(t.app, { grantTypes: ['client_credentials', 'refresh_token'] })
    const user = await loginUser(t.app)
    const res = await refresh(user.refreshToken, {}, { authorization: confidential.authorization })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toBe('invalid_grant')
    expect((await refresh(user.refreshToken)).statusCode).toBe(200)
  })

  it('refuses a confidential client not allowed the refresh_token grant with 400 unauthorized_client', async () => {
    const machine = await createClient(t.app)
    const user = await loginUser(t.app)
    const res = await refresh(user.refreshToken, {}, { authorization: machine.authorization })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toBe('unauthorized_client')
  })
})
