import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { basicAuth, createClient, form, FORM, loginUser, postForm } from './helpers.js'

// Issue #14, item 6: a confidential client may introspect only tokens meant for it (RFC 7662 §4):
// its `aud` names the client or the client's audience, or the client obtained it. Anything else
// is `{active: false}`, exactly as an invalid token.
let t: TestApp
let orders: Awaited<ReturnType<typeof createClient>>
let billing: Awaited<ReturnType<typeof createClient>>
let tollgateApi: Awaited<ReturnType<typeof createClient>>
let batch: Awaited<ReturnType<typeof createClient>>
beforeAll(async () => {
  t = await buildTestApp()
  ;[orders, billing, tollgateApi, batch] = await Promise.all([
    createClient(t.app, { name: 'orders api', audience: 'orders-api' }),
    createClient(t.app, { name: 'billing api', audience: 'billing-api' }),
    createClient(t.app, { name: 'a resource server of first-party tokens', audience: t.config.ACCESS_TOKEN_AUDIENCE }),
    createClient(t.app, { name: 'batch job', scopes: ['orders:read'], audience: 'orders-api' }),
  ])
})
afterAll(async () => t?.close())

const introspect = async (token: string, client: { authorization: string }) =>
  (await postForm(t.app, '/oauth/introspect', { token }, { authorization: client.authorization })).json()
const machineToken = async (client: { authorization: string }) =>
  (await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: client.authorization })).json().access_token as string

describe('introspection answers only for tokens meant for the asking client', () => {
  it('a token for the orders API: active to the orders API and to the client that obtained it, inactive to billing', async () => {
    const token = await machineToken(batch)
    expect(await introspect(token, orders)).toMatchObject({ active: true, aud: 'orders-api', client_id: batch.clientId })
    expect(await introspect(token, batch)).toMatchObject({ active: true })
    expect(await introspect(token, billing)).toEqual({ active: false })
    expect(await introspect(token, tollgateApi)).toEqual({ active: false })
  })

  it('a token whose aud is the asking client\'s id', async () => {
    const addressedToOrders = await createClient(t.app, { name: 'calls the orders api by id', audience: orders.clientId })
    const token = await machineToken(addressedToOrders)
    expect(await introspect(token, orders)).toMatchObject({ active: true, aud: orders.clientId })
    expect(await introspect(token, billing)).toEqual({ active: false })
  })

  it('a user\'s access token: active only to a client of its audience', async () => {
    const user = await loginUser(t.app)
    expect(await introspect(user.accessToken, tollgateApi)).toMatchObject({ active: true, sub: user.userId })
    expect(await introspect(user.accessToken, orders)).toEqual({ active: false })
    expect(await introspect(user.accessToken, batch)).toEqual({ active: false })
  })

  it('a user\'s refresh token: no other client may introspect it', async () => {
    const user = await loginUser(t.app)
    for (const client of [orders, billing, tollgateApi, batch]) expect(await introspect(user.refreshToken, client)).toEqual({ active: false })
  })
})

describe('every 401 invalid_client carries a Basic challenge', () => {
  it.each([
    ['a wrong secret in the body (client_secret_post)', '/oauth/token', () => ({ grant_type: 'client_credentials', client_id: batch.clientId, client_secret: 'wrong' }), {}],
    ['an unknown client in the body', '/oauth/token', () => ({ grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x' }), {}],
    ['a wrong secret by Basic', '/oauth/token', () => ({ grant_type: 'client_credentials' }), { authorization: basicAuth('nobody', 'x') }],
    ['introspection with a wrong secret in the body', '/oauth/introspect', () => ({ token: 'x', client_id: orders.clientId, client_secret: 'wrong' }), {}],
    ['revocation by an unknown public client', '/oauth/revoke', () => ({ token: 'x', client_id: 'nobody' }), {}],
  ])('%s', async (_name, url, fields, headers: Record<string, string>) => {
    const res = await t.app.inject({ method: 'POST', url, headers: { ...FORM, ...headers }, payload: form(fields()) })
    expect(res.statusCode).toBe(401)
    expect(res.json().error).toBe('invalid_client')
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm="[^"]+"/)
  })
})

describe('/oauth/token refresh_token', () => {
  it('longer than 4096 characters: 400 invalid_request', async () => {
    const res = await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', client_id: t.config.FIRST_PARTY_CLIENT_ID, refresh_token: 'a'.repeat(4097) })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toBe('invalid_request')
  })

  it('any shorter non-token: 400 invalid_grant', async () => {
    const res = await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', client_id: t.config.FIRST_PARTY_CLIENT_ID, refresh_token: 'a'.repeat(4096) })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toBe('invalid_grant')
  })
})
