import Fastify, { type FastifyInstance } from 'fastify'
import { createLocalJWKSet } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tollgateAuth } from '../src/fastify.js'
import { createVerifier } from '../src/index.js'
import { AUDIENCE, claims, dpopKey, dpopProof, ISSUER, signToken, testKey, type DpopKey, type TestKey } from './fixtures.js'

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

  it('offers both schemes when no token was presented (RFC 9449 §7.1)', async () => {
    const response = await app.inject({ url: '/cart' })
    expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="tollgate", DPoP realm="tollgate", algs="ES256 [^"]*"$/)
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

describe('the tollgateAuth Fastify plugin with DPoP (RFC 9449)', () => {
  const PUBLIC_URL = 'https://orders.example.test/api'
  let dpopApp: FastifyInstance
  let client: DpopKey
  let thief: DpopKey
  let bound: string

  beforeAll(async () => {
    client = await dpopKey()
    thief = await dpopKey()
    bound = await signToken(key, claims({ cnf: { jkt: client.jkt } }))
    dpopApp = Fastify()
    await dpopApp.register(tollgateAuth, {
      verifierOptions: { issuer: ISSUER, audience: AUDIENCE, keySet: createLocalJWKSet({ keys: [key.publicJwk] }), dpop: { algorithms: ['ES256', 'EdDSA'] } },
      publicUrl: `${PUBLIC_URL}/`,
    })
    dpopApp.get('/cart', { preHandler: dpopApp.tollgate.requireScope('cart') }, async (request) => ({ sub: request.auth!.subject, scheme: request.auth!.scheme }))
    dpopApp.get('/admin', { preHandler: dpopApp.tollgate.requireScope('admin') }, async () => ({ ok: true }))
  })
  afterAll(async () => dpopApp.close())

  const cart = async (authorization: string, dpop?: string, url = '/cart?page=1') => dpopApp.inject({ url, headers: { authorization, ...(dpop ? { dpop } : {}) } })
  const proofBy = (by: DpopKey, url = `${PUBLIC_URL}/cart`) => dpopProof(by, { method: 'GET', url, accessToken: bound })

  it('accepts a bound token as DPoP with a proof for the public URL', async () => {
    const response = await cart(`DPoP ${bound}`, await proofBy(client))
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ sub: 'user-1', scheme: 'dpop' })
  })

  it('accepts a proof for the request\'s own URL when no publicUrl is set', async () => {
    const token = await signToken(key, claims({ cnf: { jkt: client.jkt } }))
    const response = await app.inject({ url: '/whoami', headers: { authorization: `DPoP ${token}`, dpop: await dpopProof(client, { method: 'GET', url: 'http://localhost/whoami', accessToken: token }) } })
    expect(response.statusCode).toBe(200)
    expect(response.json().scheme).toBe('dpop')
  })

  it.each([
    { name: 'a bound token as Bearer', authorization: () => `Bearer ${bound}`, proof: async () => undefined, code: 'invalid_token' },
    { name: 'a proof from another key', authorization: () => `DPoP ${bound}`, proof: async () => proofBy(thief), code: 'invalid_token' },
    { name: 'no proof', authorization: () => `DPoP ${bound}`, proof: async () => undefined, code: 'invalid_dpop_proof' },
    { name: 'a proof for another URL', authorization: () => `DPoP ${bound}`, proof: async () => proofBy(client, 'https://orders.example.test/cart'), code: 'invalid_dpop_proof' },
  ])('answers $name with 401 $code and a DPoP challenge naming the algs', async ({ authorization, proof, code }) => {
    const response = await cart(authorization(), await proof())
    expect(response.statusCode).toBe(401)
    expect(response.json().code).toBe(code)
    expect(response.headers['www-authenticate']).toMatch(new RegExp(`^DPoP realm="tollgate", error="${code}", error_description="[^"]*", algs="ES256 EdDSA"$`))
  })

  it('checks htu against publicUrl, whatever Host the request names', async () => {
    const forged = await dpopApp.inject({
      url: '/cart',
      headers: { host: 'other.example.test', authorization: `DPoP ${bound}`, dpop: await proofBy(client, 'http://other.example.test/cart') },
    })
    expect(forged.statusCode).toBe(401)
    expect(forged.json().code).toBe('invalid_dpop_proof')
  })

  it('refuses a replayed proof', async () => {
    const proof = await proofBy(client)
    expect((await cart(`DPoP ${bound}`, proof)).statusCode).toBe(200)
    const replayed = await cart(`DPoP ${bound}`, proof)
    expect(replayed.statusCode).toBe(401)
    expect(replayed.json().code).toBe('invalid_dpop_proof')
  })

  it('answers a missing scope with a DPoP challenge to a DPoP request', async () => {
    const response = await cart(`DPoP ${bound}`, await proofBy(client, `${PUBLIC_URL}/admin`), '/admin')
    expect(response.statusCode).toBe(403)
    expect(response.headers['www-authenticate']).toMatch(/^DPoP realm="tollgate", error="insufficient_scope", .*scope="admin", algs="ES256 EdDSA"$/)
  })
})
