import Fastify, { type FastifyInstance } from 'fastify'
import { createLocalJWKSet } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tollgateAuth } from '../src/fastify.js'
import { createVerifier } from '../src/index.js'
import { AUDIENCE, claims, ISSUER, signToken, testKey, type TestKey } from './fixtures.js'

let key: TestKey
let app: FastifyInstance
let unavailable: FastifyInstance

beforeAll(async () => {
  key = await testKey()
  app = Fastify()
  await app.register(tollgateAuth, {
    verifierOptions: { issuer: ISSUER, audience: AUDIENCE, keySet: createLocalJWKSet({ keys: [key.publicJwk] }) },
  })
  app.get('/whoami', { preHandler: app.tollgate.authenticate }, async (request) => request.auth)
  app.get('/cart', { preHandler: app.tollgate.requireScope('cart') }, async (request) => ({ sub: request.auth!.subject }))
  app.get('/admin', { preHandler: app.tollgate.requireScope('admin') }, async () => ({ ok: true }))

  unavailable = Fastify({ logger: false })
  await unavailable.register(tollgateAuth, {
    verifier: createVerifier({ issuer: ISSUER, audience: AUDIENCE, keySet: async () => Promise.reject(new Error('ECONNREFUSED')) }),
  })
  unavailable.get('/whoami', { preHandler: unavailable.tollgate.authenticate }, async () => ({}))
})

afterAll(async () => {
  await app.close()
  await unavailable.close()
})

describe('the tollgateAuth Fastify plugin', () => {
  it('decorates the request with the verified identity', async () => {
    const payload = claims({ scope: 'cart profile' })
    const response = await app.inject({ url: '/whoami', headers: { authorization: `Bearer ${await signToken(key, payload)}` } })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({ subject: 'user-1', clientId: 'tollgate-web', scopes: ['cart', 'profile'], sessionId: payload.sid })
  })

  it.each([
    { name: 'no Authorization header', headers: {} },
    { name: 'a Basic header', headers: { authorization: 'Basic dXNlcjpwYXNz' } },
    { name: 'a garbage token', headers: { authorization: 'Bearer not.a.token' } },
  ])('answers 401 invalid_token to $name, with an RFC 6750 challenge', async ({ headers }) => {
    const response = await app.inject({ url: '/cart', headers })
    expect(response.statusCode).toBe(401)
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(response.json().code).toBe('invalid_token')
    expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="tollgate"/)
  })

  it('names the error in the challenge when a token was presented', async () => {
    const expired = await signToken(key, claims({ exp: Math.floor(Date.now() / 1000) - 100 }))
    const response = await app.inject({ url: '/cart', headers: { authorization: `Bearer ${expired}` } })
    expect(response.statusCode).toBe(401)
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"')
  })

  it('guards scopes: 200 with the scope, 403 insufficient_scope without', async () => {
    const authorization = `Bearer ${await signToken(key)}`
    expect((await app.inject({ url: '/cart', headers: { authorization } })).statusCode).toBe(200)
    const denied = await app.inject({ url: '/admin', headers: { authorization } })
    expect(denied.statusCode).toBe(403)
    expect(denied.json().code).toBe('insufficient_scope')
    expect(denied.headers['www-authenticate']).toContain('error="insufficient_scope"')
    expect(denied.headers['www-authenticate']).toContain('scope="admin"')
  })

  it('answers 503 when the keys cannot be fetched: the token is not at fault', async () => {
    const response = await unavailable.inject({ url: '/whoami', headers: { authorization: `Bearer ${await signToken(key)}` } })
    expect(response.statusCode).toBe(503)
    expect(response.json().code).toBe('service_unavailable')
  })
})
