import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAccessTokenIssuer } from '../../../src/services/access-tokens.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { basicAuth, claimsOf, createClient, loginUser, postForm } from './helpers.js'

describe('POST /oauth/revoke and POST /oauth/introspect', () => {
  let t: TestApp
  let resourceServer: Awaited<ReturnType<typeof createClient>>
  let machine: Awaited<ReturnType<typeof createClient>>
  let ordersApi: Awaited<ReturnType<typeof createClient>>

  beforeAll(async () => {
    t = await buildTestApp()
    // The resource server of first-party tokens (their audience): introspection answers it only for
    // tokens meant for it (see introspection-audience.test.ts).
    resourceServer = await createClient(t.app, { name: 'cart api', scopes: ['introspect'], audience: t.config.ACCESS_TOKEN_AUDIENCE })
    ordersApi = await createClient(t.app, { name: 'orders api', scopes: ['introspect'], audience: 'orders-api' })
    machine = await createClient(t.app, { name: 'batch job', scopes: ['orders:read'], audience: 'orders-api' })
  })
  afterAll(async () => t?.close())

  const introspect = (token: string, authorization = resourceServer.authorization) =>
    postForm(t.app, '/oauth/introspect', { token }, { authorization })
  const revokeAsFirstParty = (token: string, hint?: string) =>
    postForm(t.app, '/oauth/revoke', { token, client_id: t.config.FIRST_PARTY_CLIENT_ID, ...(hint ? { token_type_hint: hint } : {}) })
  const machineToken = async (client = machine) =>
    (await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: client.authorization })).json().access_token as string

  describe('introspection', () => {
    it('describes a user access token', async () => {
      const user = await loginUser(t.app)
      const claims = claimsOf(user.accessToken)
      const res = await introspect(user.accessToken)
      expect(res.statusCode).toBe(200)
      expect(res.headers['cache-control']).toBe('no-store')
      expect(res.json()).toEqual({
        active: true,
        token_type: 'Bearer',
        sub: user.userId,
        client_id: t.config.FIRST_PARTY_CLIENT_ID,
        scope: 'cart',
        exp: claims.exp,
        iat: claims.iat,
        iss: t.config.ISSUER,
        aud: t.config.ACCESS_TOKEN_AUDIENCE,
        jti: claims.jti,
        sid: claims.sid,
      })
    })

    it('describes a client_credentials token to a client of its audience, without sid', async () => {
      const body = (await introspect(await machineToken(), ordersApi.authorization)).json()
      expect(body).toMatchObject({ active: true, token_type: 'Bearer', sub: machine.clientId, client_id: machine.clientId, scope: 'orders:read', aud: 'orders-api' })
      expect(body).not.toHaveProperty('sid')
    })

    it('describes a refresh token to no client but its own (so never a first-party one), and knows its fields', async () => {
      const user = await loginUser(t.app)
      expect((await introspect(user.refreshToken)).json()).toEqual({ active: false })
      const body = await t.app.sessions.introspectRefreshToken(user.refreshToken)
      expect(body).toMatchObject({
        sub: user.userId,
        client_id: t.config.FIRST_PARTY_CLIENT_ID,
        scope: 'cart',
        iss: t.config.ISSUER,
        sid: claimsOf(user.accessToken).sid,
      })
      expect(body!.exp).toBeGreaterThan(Date.now() / 1000)
    })

    describe('says only {active: false} for anything not good now', () => {
      it.each<[string, () => Promise<string>]>([
        ['garbage', async () => 'garbage'],
        ['an unknown refresh token', async () => 'A'.repeat(43)],
        ['a JWT-shaped string', async () => 'aaa.bbb.ccc'],
        [
          'a tampered token',
          async () => {
            const [header, payload, signature] = (await machineToken()).split('.')
            const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString())
            const forged = Buffer.from(JSON.stringify({ ...claims, scope: 'admin' })).toString('base64url')
            return `${header}.${forged}.${signature}`
          },
        ],
        [
          'an expired token',
          async () => {
            const past = createAccessTokenIssuer({ keys: t.app.keys, config: t.config, clock: () => new Date(Date.now() - 3600_000) })
            return (await past.issue({ subject: machine.clientId, clientId: machine.clientId, scopes: ['orders:read'] })).token
          },
        ],
        [
          'a token of another issuer',
          async () => {
            const other = createAccessTokenIssuer({ keys: t.app.keys, config: { ...t.config, ISSUER: 'https://evil.example' } })
            return (await other.issue({ subject: machine.clientId, clientId: machine.clientId, scopes: ['orders:read'] })).token
          },
        ],
        [
          'a token of a deleted client',
          async () => {
            const doomed = await createClient(t.app)
            const token = await machineToken(doomed)
            await t.app.oauth.clients.delete(doomed.clientId)
            return token
          },
        ],
        [
          'a rotated refresh token',
          async () => {
            const user = await loginUser(t.app)
            await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: user.refreshToken, client_id: t.config.FIRST_PARTY_CLIENT_ID })
            t.app.clock = () => new Date(Date.now() + (t.config.REFRESH_GRACE_SECONDS + 1) * 1000)
            return user.refreshToken
          },
        ],
      ])('%s', async (_case, tokenOf) => {
        try {
          const res = await introspect(await tokenOf())
          expect(res.statusCode).toBe(200)
          expect(res.json()).toEqual({ active: false })
        } finally {
          t.app.clock = () => new Date()
        }
      })
    })

    describe('requires a confidential client', () => {
      it.each<[string, () => { headers?: Record<string, string>; fields?: Record<string, string> }]>([
        ['no client authentication', () => ({})],
        ['the public first-party client_id alone', () => ({ fields: { client_id: t.config.FIRST_PARTY_CLIENT_ID } })],
        ['a wrong secret over Basic', () => ({ headers: { authorization: basicAuth(resourceServer.clientId, 'wrong') } })],
        ['a wrong secret in the body', () => ({ fields: { client_id: resourceServer.clientId, client_secret: 'wrong' } })],
      ])('%s is 401 invalid_client, with a Basic challenge', async (_case, request) => {
        const { headers = {}, fields = {} } = request()
        const res = await postForm(t.app, '/oauth/introspect', { token: await machineToken(), ...fields }, headers)
        expect(res.statusCode).toBe(401)
        expect(res.json()).toMatchObject({ error: 'invalid_client' })
        expect(res.headers['www-authenticate']).toBe('Basic realm="tollgate"')
      })

      it('accepts client_secret_post', async () => {
        const res = await postForm(t.app, '/oauth/introspect', { token: await machineToken(), client_id: ordersApi.clientId, client_secret: ordersApi.clientSecret })
        expect(res.json().active).toBe(true)
      })
    })

    it.each([
      ['a JSON body', { 'content-type': 'application/json' }, '{"token":"x"}'],
      ['no token', { 'content-type': 'application/x-www-form-urlencoded' }, 'token_type_hint=access_token'],
    ])('refuses %s with 400 invalid_request', async (_case, headers, payload) => {
      const res = await t.app.inject({ method: 'POST', url: '/oauth/introspect', headers: { ...headers, authorization: resourceServer.authorization }, payload })
      expect(res.statusCode).toBe(400)
      expect(res.json().error).toBe('invalid_request')
    })
  })

  describe('revocation', () => {
    it('revoking an access token makes introspection report it inactive, and nothing else', async () => {
      const user = await loginUser(t.app)
      const res = await revokeAsFirstParty(user.accessToken, 'access_token')
      expect(res.statusCode).toBe(200)
      expect(res.body).toBe('')
      expect(res.headers['cache-control']).toBe('no-store')
      expect((await introspect(user.accessToken)).json()).toEqual({ active: false })
      expect(await t.app.revocations.isAccessTokenRevoked(claimsOf(user.accessToken).jti as string)).toBe(true)
      expect(await t.app.sessions.isSessionActive(claimsOf(user.accessToken).sid as string)).toBe(true)
      const me = await t.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${user.accessToken}` } })
      expect(me.statusCode).toBe(401)
    })

    it('revoking a refresh token revokes its session: its tokens stop working', async () => {
      const user = await loginUser(t.app)
      const res = await revokeAsFirstParty(user.refreshToken)
      expect(res.statusCode).toBe(200)
      expect(res.body).toBe('')
      expect(await t.app.sessions.isSessionActive(claimsOf(user.accessToken).sid as string)).toBe(false)
      expect((await introspect(user.refreshToken)).json()).toEqual({ active: false })
      expect((await introspect(user.accessToken)).json()).toEqual({ active: false })
      const refreshed = await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: user.refreshToken, client_id: t.config.FIRST_PARTY_CLIENT_ID })
      expect(refreshed.json().error).toBe('invalid_grant')
    })

    it('lets a confidential client revoke its own client_credentials token', async () => {
      const token = await machineToken()
      const res = await postForm(t.app, '/oauth/revoke', { token }, { authorization: machine.authorization })
      expect(res.statusCode).toBe(200)
      expect((await introspect(token, machine.authorization)).json()).toEqual({ active: false })
    })

    describe('answers 200 and does nothing for', () => {
      it.each<[string, () => Promise<{ token: string; by: Record<string, string>; stillActive?: () => Promise<boolean> }>]>([
        ['an unknown refresh token', async () => ({ token: 'A'.repeat(43), by: { client_id: 'tollgate-web' } })],
        ['garbage', async () => ({ token: 'garbage', by: { client_id: 'tollgate-web' } })],
        ['a tampered JWT', async () => ({ token: `${(await machineToken()).slice(0, -4)}AAAA`, by: { authorization: machine.authorization } })],
        ['another client\'s access token', async () => {
          const token = await machineToken()
          return { token, by: { client_id: 'tollgate-web' }, stillActive: async () => (await introspect(token, machine.authorization)).json().active }
        }],
        ['a user\'s access token, by a machine client', async () => {
          const token = (await loginUser(t.app)).accessToken
          return { token, by: { authorization: machine.authorization }, stillActive: async () => (await introspect(token)).json().active }
        }],
        ['a user\'s refresh token, by a machine client', async () => {
          const user = await loginUser(t.app)
          return { token: user.refreshToken, by: { authorization: machine.authorization }, stillActive: () => t.app.sessions.isSessionActive(claimsOf(user.accessToken).sid as string) }
        }],
      ])('%s', async (_case, setup) => {
        const { token, by, stillActive } = await setup()
        const { authorization, ...fields } = by
        const res = await postForm(t.app, '/oauth/revoke', { token, ...fields }, authorization ? { authorization } : {})
        expect(res.statusCode).toBe(200)
        expect(res.body).toBe('')
        if (stillActive) expect(await stillActive()).toBe(true)
      })
    })

    it.each<[string, () => Record<string, string>, Record<string, string>, number, string]>([
      ['no client at all', () => ({}), {}, 400, 'invalid_request'],
      ['an unknown public client', () => ({}), { client_id: 'someone' }, 401, 'invalid_client'],
      ['a wrong secret', () => ({ authorization: basicAuth(machine.clientId, 'wrong') }), {}, 401, 'invalid_client'],
    ])('refuses %s', async (_case, headers, fields, status, error) => {
      const res = await postForm(t.app, '/oauth/revoke', { token: 'A'.repeat(43), ...fields }, headers())
      expect(res.statusCode).toBe(status)
      expect(res.json().error).toBe(error)
    })

    it('refuses a JSON body with 400 invalid_request', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/oauth/revoke', headers: { 'content-type': 'application/json' }, payload: { token: 'x', client_id: 'tollgate-web' } })
      expect(res.statusCode).toBe(400)
      expect(res.json().error).toBe('invalid_request')
    })
  })
})
