import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { register } from '../../helpers/accounts.js'
import { dpopKey, dpopProof, type DpopKey } from '../../helpers/dpop.js'

const ISSUER = 'http://tollgate.test'
let t: TestApp
let key: DpopKey
let thief: DpopKey
let token: string
beforeAll(async () => {
  t = await buildTestApp()
  key = await dpopKey()
  thief = await dpopKey()
  const { email, password } = await register(t.app)
  const res = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, headers: { dpop: await dpopProof(key, { url: `${ISSUER}/v1/auth/login` }) } })
  token = res.json().access_token
})
afterAll(async () => t?.close())

const me = (authorization: string, proof?: string) => t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization, ...(proof ? { dpop: proof } : {}) } })
const proofFor = (k: DpopKey, accessToken = token) => dpopProof(k, { method: 'GET', url: `${ISSUER}/v1/me`, accessToken })

describe('a DPoP-bound access token at tollgate\'s own routes', () => {
  it('is accepted as DPoP with a proof from its key', async () => {
    expect((await me(`DPoP ${token}`, await proofFor(key))).statusCode).toBe(200)
  })

  it('is refused as Bearer (a stolen token), with a DPoP challenge', async () => {
    const res = await me(`Bearer ${token}`)
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('invalid_token')
    expect(res.headers['www-authenticate']).toMatch(/^DPoP realm="tollgate", error="invalid_token"/)
  })

  it('is refused with a proof signed by another key', async () => {
    const res = await me(`DPoP ${token}`, await proofFor(thief))
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('invalid_token')
  })

  it('answers every refusal of a token presented as DPoP with a DPoP challenge: a missing scope, a bad token', async () => {
    const admin = await t.app.inject({
      method: 'GET',
      url: '/admin/v1/users',
      headers: { authorization: `DPoP ${token}`, dpop: await dpopProof(key, { method: 'GET', url: `${ISSUER}/admin/v1/users`, accessToken: token }) },
    })
    expect(admin.statusCode).toBe(403)
    expect(admin.headers['www-authenticate']).toMatch(/^DPoP realm="tollgate", error="insufficient_scope"/)
    const garbage = await me('DPoP not.a.token', await proofFor(key, 'not.a.token'))
    expect(garbage.statusCode).toBe(401)
    expect(garbage.json().code).toBe('invalid_token')
    expect(garbage.headers['www-authenticate']).toMatch(/^DPoP realm="tollgate", error="invalid_token"/)
    // A bearer token keeps its Bearer challenge.
    expect((await me('Bearer not.a.token')).headers['www-authenticate']).toMatch(/^Bearer realm="tollgate", error="invalid_token"/)
  })

  it('refuses a replayed proof (same jti), and a proof for another URL', async () => {
    const proof = await proofFor(key)
    expect((await me(`DPoP ${token}`, proof)).statusCode).toBe(200)
    const replayed = await me(`DPoP ${token}`, proof)
    expect(replayed.statusCode).toBe(401)
    expect(replayed.json().code).toBe('invalid_dpop_proof')
    const elsewhere = await me(`DPoP ${token}`, await dpopProof(key, { method: 'GET', url: `${ISSUER}/v1/cart/items`, accessToken: token }))
    expect(elsewhere.json().code).toBe('invalid_dpop_proof')
  })
})
