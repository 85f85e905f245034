import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { dpopKey, dpopProof, type DpopKey } from '../../helpers/dpop.js'
import { register } from '../../helpers/accounts.js'
import { claimsOf, createClient, postForm } from '../oauth/helpers.js'

const ISSUER = 'http://tollgate.test'
const TOKEN = `${ISSUER}/oauth/token`

let t: TestApp
let key: DpopKey
let thief: DpopKey
beforeAll(async () => {
  t = await buildTestApp()
  key = await dpopKey()
  thief = await dpopKey('ES256')
})
afterAll(async () => t?.close())

const proof = (k: DpopKey, path: string, options: { method?: string; nonce?: string } = {}) => dpopProof(k, { url: `${ISSUER}${path}`, ...options })

async function login(k?: DpopKey) {
  const { email, password } = await register(t.app)
  const headers = k ? { dpop: await proof(k, '/v1/auth/login') } : undefined
  return t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, ...(headers ? { headers } : {}) })
}

const refresh = async (refreshToken: string, k?: DpopKey) =>
  t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: refreshToken }, ...(k ? { headers: { dpop: await proof(k, '/v1/auth/refresh') } } : {}) })

describe('issuing DPoP-bound tokens', () => {
  it('client_credentials with a proof: token_type DPoP and cnf.jkt; without one: Bearer, no cnf', async () => {
    const client = await createClient(t.app)
    const bound = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: client.authorization, dpop: await proof(key, '/oauth/token') })
    expect(bound.statusCode).toBe(200)
    expect(bound.json().token_type).toBe('DPoP')
    expect(claimsOf(bound.json().access_token).cnf).toEqual({ jkt: key.jkt })
    const plain = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: client.authorization })
    expect(plain.json().token_type).toBe('Bearer')
    expect(claimsOf(plain.json().access_token).cnf).toBeUndefined()
  })

  it('a bad proof at the token endpoint is 400 invalid_dpop_proof (another URL, a replay)', async () => {
    const client = await createClient(t.app)
    const wrongUrl = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: client.authorization, dpop: await proof(key, '/oauth/revoke') })
    expect(wrongUrl.statusCode).toBe(400)
    expect(wrongUrl.json().error).toBe('invalid_dpop_proof')
    const once = await proof(key, '/oauth/token')
    expect((await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: client.authorization, dpop: once })).statusCode).toBe(200)
    const replayed = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: client.authorization, dpop: once })
    expect(replayed.statusCode).toBe(400)
    expect(replayed.json().error).toBe('invalid_dpop_proof')
  })

  it('a client registered as requiring DPoP is refused a token request without a proof', async () => {
    const client = await createClient(t.app, { dpop: true })
    const refused = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: client.authorization })
    expect(refused.statusCode).toBe(400)
    expect(refused.json().error).toBe('invalid_dpop_proof')
    const bound = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: client.authorization, dpop: await proof(key, '/oauth/token') })
    expect(bound.json().token_type).toBe('DPoP')
  })

  it('a login with a proof binds the session: refresh needs a proof from the same key', async () => {
    const res = await login(key)
    expect(res.statusCode).toBe(200)
    expect(res.json().token_type).toBe('DPoP')
    expect(claimsOf(res.json().access_token).cnf).toEqual({ jkt: key.jkt })
    const sessionId = claimsOf(res.json().access_token).sid as string
    expect((await t.app.db.prisma.session.findUnique({ where: { id: sessionId } }))?.dpopJkt).toBe(key.jkt)

    // A thief with the refresh token alone, or with a key of their own: 401 invalid_grant, recorded.
    const stolen = res.json().refresh_token as string
    const bare = await refresh(stolen)
    expect(bare.statusCode).toBe(401)
    expect(bare.json().code).toBe('invalid_grant')
    const otherKey = await refresh(stolen, thief)
    expect(otherKey.statusCode).toBe(401)
    const events = await t.app.db.prisma.securityEvent.findMany({ where: { sessionId, type: 'dpop_key_mismatch' } })
    expect(events).toHaveLength(2)

    // The owner still rotates (the session was not handed over, nor ended).
    const owner = await refresh(stolen, key)
    expect(owner.statusCode).toBe(200)
    expect(owner.json().token_type).toBe('DPoP')
    expect(claimsOf(owner.json().access_token).cnf).toEqual({ jkt: key.jkt })

    // The same through /oauth/token with the first-party client id.
    const next = owner.json().refresh_token as string
    const viaOauth = await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: next, client_id: t.config.FIRST_PARTY_CLIENT_ID })
    expect(viaOauth.statusCode).toBe(400)
    expect(viaOauth.json().error).toBe('invalid_grant')
    const withKey = await postForm(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: next, client_id: t.config.FIRST_PARTY_CLIENT_ID }, { dpop: await proof(key, '/oauth/token') })
    expect(withKey.statusCode).toBe(200)
    expect(withKey.json().token_type).toBe('DPoP')
  })

  it('a login without a proof is unbound, as before', async () => {
    const res = await login()
    expect(res.json().token_type).toBe('Bearer')
    expect((await refresh(res.json().refresh_token)).statusCode).toBe(200)
  })

  it('metadata lists dpop_signing_alg_values_supported', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })
    expect(res.json().dpop_signing_alg_values_supported).toContain('ES256')
  })
})

describe('server nonces (DPOP_NONCE_REQUIRED=true)', () => {
  let n: TestApp
  beforeAll(async () => {
    n = await buildTestApp({ DPOP_NONCE_REQUIRED: 'true' })
  })
  afterAll(async () => n?.close())

  it('a proof without the nonce gets use_dpop_nonce and a DPoP-Nonce; the retry with it succeeds', async () => {
    const client = await createClient(n.app)
    const first = await postForm(n.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: client.authorization, dpop: await dpopProof(key, { url: TOKEN }) })
    expect(first.statusCode).toBe(400)
    expect(first.json().error).toBe('use_dpop_nonce')
    const nonce = first.headers['dpop-nonce'] as string
    expect(nonce).toBeTruthy()
    const retry = await postForm(n.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: client.authorization, dpop: await dpopProof(key, { url: TOKEN, nonce }) })
    expect(retry.statusCode).toBe(200)
    expect(retry.json().token_type).toBe('DPoP')
  })

  it('successful answers to a request with a proof carry a current DPoP-Nonce too (RFC 9449 §8.2), tokens and protected routes alike', async () => {
    const first = await postForm(n.app, '/oauth/token', { grant_type: 'client_credentials' }, { authorization: (await createClient(n.app)).authorization, dpop: await dpopProof(key, { url: TOKEN }) })
    const nonce = first.headers['dpop-nonce'] as string
    const { email, password } = await register(n.app)
    const loggedIn = await n.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, headers: { dpop: await dpopProof(key, { url: `${ISSUER}/v1/auth/login`, nonce }) } })
    expect(loggedIn.statusCode).toBe(200)
    expect(loggedIn.headers['dpop-nonce']).toEqual(expect.any(String))
    const token = loggedIn.json().access_token as string
    const me = await n.app.inject({
      method: 'GET',
      url: '/v1/me',
      headers: { authorization: `DPoP ${token}`, dpop: await dpopProof(key, { method: 'GET', url: `${ISSUER}/v1/me`, accessToken: token, nonce: loggedIn.headers['dpop-nonce'] as string }) },
    })
    expect(me.statusCode).toBe(200)
    expect(me.headers['dpop-nonce']).toEqual(expect.any(String))
    // A request without a proof gets no nonce: it has no use for one.
    expect((await n.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } })).headers['dpop-nonce']).toBeUndefined()
  })
})

describe('without DPOP_NONCE_REQUIRED', () => {
  it('no answer carries a DPoP-Nonce', async () => {
    const res = await login(key)
    expect(res.statusCode).toBe(200)
    expect(res.headers['dpop-nonce']).toBeUndefined()
  })
})
