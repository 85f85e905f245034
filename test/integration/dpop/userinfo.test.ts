import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { register } from '../../helpers/accounts.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { dpopKey, dpopProof, type DpopKey } from '../../helpers/dpop.js'
import { claimsOf } from '../oauth/helpers.js'
import { Browser, createOidcClient, redeem, signInFor } from '../oidc/helpers.js'

const ISSUER = 'http://tollgate.test'
const USERINFO = `${ISSUER}/oauth/userinfo`
let t: TestApp
let key: DpopKey
let thief: DpopKey
let token: string
beforeAll(async () => {
  t = await buildTestApp()
  key = await dpopKey()
  thief = await dpopKey()
  const client = await createOidcClient(t.app)
  const user = await register(t.app, { name: 'Grace Hopper' })
  const signedIn = await signInFor(new Browser(t.app), client, user, { scope: 'openid profile' })
  const redeemed = await redeem(t.app, client, signedIn.code!, signedIn.verifier, {}, { dpop: await dpopProof(key, { url: `${ISSUER}/oauth/token` }) })
  expect(redeemed.json().token_type).toBe('DPoP')
  token = redeemed.json().access_token
  expect(claimsOf(token).cnf).toEqual({ jkt: key.jkt })
})
afterAll(async () => t?.close())

const userinfo = async (authorization: string, proof?: string) =>
  t.app.inject({ method: 'GET', url: '/oauth/userinfo', headers: { authorization, ...(proof ? { dpop: proof } : {}) } })

describe('userinfo with a DPoP-bound access token', () => {
  it('answers the claims to DPoP with a proof from the token\'s key', async () => {
    const res = await userinfo(`DPoP ${token}`, await dpopProof(key, { method: 'GET', url: USERINFO, accessToken: token }))
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ name: 'Grace Hopper' })
  })

  it('refuses it as Bearer (a copied token) and with another key\'s proof: 401 invalid_token with a DPoP challenge', async () => {
    for (const res of [await userinfo(`Bearer ${token}`), await userinfo(`DPoP ${token}`, await dpopProof(thief, { method: 'GET', url: USERINFO, accessToken: token }))]) {
      expect(res.statusCode).toBe(401)
      expect(res.json().error).toBe('invalid_token')
      expect(res.headers['www-authenticate']).toMatch(/^DPoP realm="tollgate", error="invalid_token"/)
    }
  })

  it('answers a bad proof as a protected resource does: 401 invalid_dpop_proof with a DPoP challenge, not the token endpoint\'s 400', async () => {
    const res = await userinfo(`DPoP ${token}`, await dpopProof(key, { method: 'POST', url: USERINFO, accessToken: token }))
    expect(res.statusCode).toBe(401)
    expect(res.json().error).toBe('invalid_dpop_proof')
    expect(res.headers['www-authenticate']).toMatch(/^DPoP realm="tollgate", error="invalid_dpop_proof"/)
  })
})
