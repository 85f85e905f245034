import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { basicAuth, claimsOf, createClient, FORM, headerOf, postForm } from './helpers.js'

describe('POST /oauth/token grant_type=client_credentials', () => {
  let t: TestApp
  let client: Awaited<ReturnType<typeof createClient>>

  beforeAll(async () => {
    t = await buildTestApp()
    client = await createClient(t.app, { scopes: ['orders:read', 'orders:write'], audience: 'orders-api' })
  })
  afterAll(async () => t?.close())

  it.each([
    ['HTTP Basic', () => postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: client.authorization })],
    [
      'client_secret_post',
      () => postForm(t.app, '/oauth/token', { grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret }),
    ],
  ])('issues an access token for the client via %s', async (_method, send) => {
    const res = await send()
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.headers.pragma).toBe('no-cache')
    const body = res.json()
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: t.config.ACCESS_TOKEN_TTL_SECONDS, scope: 'orders:read orders:write' })
    expect(body).not.toHaveProperty('refresh_token')
  })

  it('puts the client in the token: sub = client id, client_id, scope, aud, typ at+jwt, and no sid', async () => {
    const res = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials', scope: 'orders:read' }, { authorization: client.authorization })
    expect(res.statusCode).toBe(200)
    const { access_token: token, scope } = res.json()
    expect(scope).toBe('orders:read')
    expect(headerOf(token)).toMatchObject({ typ: 'at+jwt', alg: t.config.SIGNING_ALGORITHMS[0], kid: expect.any(String) })
    const claims = claimsOf(token)
    expect(claims).toMatchObject({ iss: t.config.ISSUER, sub: client.clientId, client_id: client.clientId, scope: 'orders:read', aud: 'orders-api' })
    expect(claims).not.toHaveProperty('sid')
    expect(claims.exp).toBe((claims.iat as number) + t.config.ACCESS_TOKEN_TTL_SECONDS)
  })

  it('uses the configured audience for a client without one', async () => {
    const plain = await createClient(t.app, { scopes: ['cart'] })
    const res = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: plain.authorization })
    expect(claimsOf(res.json().access_token).aud).toBe(t.config.ACCESS_TOKEN_AUDIENCE)
  })

  it('refuses a scope beyond the client\'s with 400 invalid_scope', async () => {
    const res = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials', scope: 'orders:read admin' }, { authorization: client.authorization })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual({ error: 'invalid_scope', error_description: expect.any(String) })
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.headers.pragma).toBe('no-cache')
  })

  describe('a bad client is 401 invalid_client', () => {
    type Case = [string, () => { headers?: Record<string, string>; fields?: Record<string, string> }]
    it.each<Case>([
      ['a wrong secret over Basic', () => ({ headers: { authorization: basicAuth(client.clientId, 'wrong') } })],
      ['an unknown client over Basic', () => ({ headers: { authorization: basicAuth('no-such-client', client.clientSecret) } })],
      ['a malformed Basic header', () => ({ headers: { authorization: 'Basic %%%' } })],
      ['a Bearer header', () => ({ headers: { authorization: 'Bearer abc' } })],
      ['the first-party client with a secret', () => ({ headers: { authorization: basicAuth(t.config.FIRST_PARTY_CLIENT_ID, 'x') } })],
      ['a wrong secret in the body', () => ({ fields: { client_id: client.clientId, client_secret: 'wrong' } })],
      ['an unknown client in the body', () => ({ fields: { client_id: 'no-such-client', client_secret: 'x' } })],
      ['no client authentication', () => ({})],
      ['client_id without a secret', () => ({ fields: { client_id: client.clientId } })],
      ['the public first-party client', () => ({ fields: { client_id: t.config.FIRST_PARTY_CLIENT_ID } })],
    ])('%s (with a Basic challenge, however the client tried)', async (_case, request) => {
      const { headers = {}, fields = {} } = request()
      const res = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials', ...fields }, headers)
      expect(res.statusCode).toBe(401)
      expect(res.json()).toMatchObject({ error: 'invalid_client' })
      expect(res.headers['www-authenticate']).toBe('Basic realm="tollgate"')
      expect(res.headers['cache-control']).toBe('no-store')
    })
  })

  it('refuses a client not allowed the grant with 400 unauthorized_client', async () => {
    const refreshOnly = await createClient(t.app, { grantTypes: ['refresh_token'] })
    const res = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: refreshOnly.authorization })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toBe('unauthorized_client')
  })

  it('refuses a deleted client', async () => {
    const doomed = await createClient(t.app)
    expect(await t.app.oauth.clients.delete(doomed.clientId)).toBe(true)
    const res = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: doomed.authorization })
    expect(res.statusCode).toBe(401)
    expect(res.json().error).toBe('invalid_client')
  })

  describe('malformed requests are 400 invalid_request', () => {
    it.each([
      ['a JSON body', { 'content-type': 'application/json' }, JSON.stringify({ grant_type: 'client_credentials' })],
      ['a text body', { 'content-type': 'text/plain' }, 'grant_type=client_credentials'],
      ['no content type', {}, ''],
      ['no grant_type', FORM, 'scope=orders:read'],
      ['a repeated parameter', FORM, 'grant_type=client_credentials&grant_type=client_credentials'],
      ['Basic and client_secret_post at once', FORM, 'grant_type=client_credentials&client_secret=x'],
    ])('%s', async (_case, headers: Record<string, string>, payload) => {
      const res = await t.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...headers, authorization: client.authorization }, payload })
      expect(res.statusCode).toBe(400)
      expect(res.headers['content-type']).toMatch(/^application\/json/)
      expect(res.json()).toMatchObject({ error: 'invalid_request' })
      expect(res.headers['cache-control']).toBe('no-store')
    })
  })

  it.each(['password', 'implicit', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'nonsense'])(
    'grant_type=%s is 400 unsupported_grant_type',
    async (grantType) => {
      const res = await postForm(t.app, '/oauth/token', { grant_type: grantType, username: 'a@b.c', password: 'x' }, { authorization: client.authorization })
      expect(res.statusCode).toBe(400)
      expect(res.json()).toMatchObject({ error: 'unsupported_grant_type' })
    },
  )

  it('counts issued tokens and refusals in /metrics', async () => {
    const metrics = (await t.app.inject('/metrics')).body
    expect(metrics).toMatch(/oauth_tokens_issued_total\{grant_type="client_credentials"\} \d+/)
    expect(metrics).toMatch(/oauth_token_errors_total\{grant_type="client_credentials",error="invalid_client"\} \d+/)
    expect(metrics).toMatch(/oauth_token_errors_total\{grant_type="other",error="unsupported_grant_type"\} \d+/)
  })
})
