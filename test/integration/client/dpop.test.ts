import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../../../src/app.js'
import { createDpop, createTollgateClient, FORM_ENCODED, generateDpopKeyPair, type Dpop } from '../../../src/client/index.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { register } from '../../helpers/accounts.js'
import { claimsOf, createClient } from '../oauth/helpers.js'
import { freePort } from '../oidc/over-http.js'

// The typed client's DPoP helper against the real app: its fetch is app.inject (every answer checked
// against openapi.yaml), at the test ISSUER, since proofs name the URL they are for.
const ISSUER = 'http://tollgate.test'

interface Sent {
  method: string
  path: string
  status: number
  dpop: string | null
  authorization: string | null
}

/** A fetch that hands each request to app.inject, and the list of what it sent. */
function injectFetch(app: App) {
  const sent: Sent[] = []
  async function fetch(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const payload = request.body ? Buffer.from(await request.arrayBuffer()) : undefined
    const res = await app.inject({ method: request.method as 'GET', url: url.pathname + url.search, headers: Object.fromEntries(request.headers), ...(payload ? { payload } : {}) })
    sent.push({ method: request.method, path: url.pathname, status: res.statusCode, dpop: request.headers.get('dpop'), authorization: request.headers.get('authorization') })
    const headers = new Headers()
    for (const [name, value] of Object.entries(res.headers)) {
      for (const one of [value].flat()) if (one !== undefined) headers.append(name, String(one))
    }
    return new Response(res.statusCode === 204 || res.statusCode === 304 ? null : res.rawPayload, { status: res.statusCode, headers })
  }
  return { fetch, sent }
}

function clientFor(app: App, dpop: Dpop) {
  const transport = injectFetch(app)
  let accessToken: string | undefined
  const tollgate = createTollgateClient(ISSUER, { fetch: transport.fetch, dpop, accessToken: () => accessToken })
  return {
    tollgate,
    sent: transport.sent,
    use(token: string | undefined) {
      accessToken = token
    },
  }
}

const jwtHeaderOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>

describe('the typed client with DPoP', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp()
  })
  afterAll(async () => t?.close())

  it('keeps a non-extractable key: the private key signs but cannot be exported', async () => {
    const dpop = createDpop()
    const { privateKey, publicKey } = await dpop.keyPair()
    expect(privateKey.extractable).toBe(false)
    await expect(globalThis.crypto.subtle.exportKey('jwk', privateKey as never)).rejects.toThrow()
    expect(publicKey.type).toBe('public')
    expect(await dpop.thumbprint()).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const proof = await dpop.proof({ method: 'get', url: `${ISSUER}/v1/cart/items?page=2#top` })
    expect(claimsOf(proof)).toEqual({ jti: expect.any(String), htm: 'GET', htu: `${ISSUER}/v1/cart/items`, iat: expect.any(Number) })
  })

  it('logs in bound to its key, uses the access token as DPoP with a proof (ath), and rotates the bound refresh token', async () => {
    const dpop = createDpop()
    const { tollgate, sent, use } = clientFor(t.app, dpop)
    const { email, password } = await register(t.app)

    const loggedIn = await tollgate.POST('/v1/auth/login', { body: { email, password } })
    expect(loggedIn.response.status).toBe(200)
    expect(loggedIn.data!.token_type).toBe('DPoP')
    expect(claimsOf(loggedIn.data!.access_token).cnf).toEqual({ jkt: await dpop.thumbprint() })
    const proof = sent.at(-1)!.dpop!
    expect(jwtHeaderOf(proof)).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256' } })
    expect(jwtHeaderOf(proof).jwk).not.toHaveProperty('d')
    expect(claimsOf(proof)).toMatchObject({ htm: 'POST', htu: `${ISSUER}/v1/auth/login` })
    expect(claimsOf(proof).ath).toBeUndefined()
    use(loggedIn.data!.access_token)

    const sessions = await tollgate.GET('/v1/auth/sessions')
    expect(sessions.response.status).toBe(200)
    expect(sessions.data!.sessions).toEqual([expect.objectContaining({ current: true, bound: true })])
    const resource = sent.at(-1)!
    expect(resource.authorization).toBe(`DPoP ${loggedIn.data!.access_token}`)
    expect(claimsOf(resource.dpop!)).toMatchObject({ htm: 'GET', htu: `${ISSUER}/v1/auth/sessions`, ath: expect.any(String) })

    const added = await tollgate.POST('/v1/cart/items', { body: { sku: 'TEA-SENCHA-100G', quantity: 1 } })
    expect(added.response.status).toBe(201)

    const refreshed = await tollgate.POST('/v1/auth/refresh', { body: { refresh_token: loggedIn.data!.refresh_token } })
    expect(refreshed.response.status).toBe(200)
    expect(refreshed.data!.token_type).toBe('DPoP')
    expect(sent.at(-1)!.authorization).toBeNull()

    // The same refresh token through a client with another key: refused, as a thief would be.
    const thief = clientFor(t.app, createDpop())
    const stolen = await thief.tollgate.POST('/v1/auth/refresh', { body: { refresh_token: refreshed.data!.refresh_token } })
    expect(stolen.response.status).toBe(401)
    expect(stolen.error?.code).toBe('invalid_grant')
    // And the access token sent as Bearer by a client without the key.
    const bearer = createTollgateClient(ISSUER, { fetch: injectFetch(t.app).fetch, accessToken: refreshed.data!.access_token })
    const me = await bearer.GET('/v1/me')
    expect(me.response.status).toBe(401)
    expect(me.response.headers.get('www-authenticate')).toMatch(/^DPoP /)
  })

  it('signs client_credentials token requests with Basic client authentication, and accepts a key pair of its own', async () => {
    const keyPair = await generateDpopKeyPair()
    const dpop = createDpop({ keyPair })
    const { tollgate, sent } = clientFor(t.app, dpop)
    const client = await createClient(t.app)
    const issued = await tollgate.POST('/oauth/token', { body: { grant_type: 'client_credentials' }, headers: { ...FORM_ENCODED, authorization: client.authorization } })
    expect(issued.response.status).toBe(200)
    expect(issued.data!.token_type).toBe('DPoP')
    expect(claimsOf(issued.data!.access_token).cnf).toEqual({ jkt: await dpop.thumbprint() })
    expect(sent.at(-1)!.authorization).toBe(client.authorization)
    expect((await dpop.keyPair()).privateKey).toBe(keyPair.privateKey)
  })
})

describe('the typed client with server nonces (DPOP_NONCE_REQUIRED=true)', () => {
  let n: TestApp
  beforeAll(async () => {
    n = await buildTestApp({ DPOP_NONCE_REQUIRED: 'true' })
  })
  afterAll(async () => n?.close())

  it('retries once on use_dpop_nonce (a 401 at login and at a protected route, a 400 at /oauth/token) and keeps the nonce of every answer', async () => {
    const dpop = createDpop()
    const { tollgate, sent, use } = clientFor(n.app, dpop)
    const { email, password } = await register(n.app)

    const loggedIn = await tollgate.POST('/v1/auth/login', { body: { email, password } })
    expect(loggedIn.response.status).toBe(200)
    expect(loggedIn.data!.token_type).toBe('DPoP')
    expect(sent.map(({ path, status }) => [path, status])).toEqual([
      ['/v1/auth/login', 401],
      ['/v1/auth/login', 200],
    ])
    expect(claimsOf(sent[1]!.dpop!).nonce).toEqual(expect.any(String))
    expect(dpop.nonce).toBe(loggedIn.response.headers.get('dpop-nonce'))
    use(loggedIn.data!.access_token)

    // The nonce of the last answer is in the next proof: no second round trip.
    const me = await tollgate.GET('/v1/me')
    expect(me.response.status).toBe(200)
    expect(sent).toHaveLength(3)

    // A nonce the server no longer accepts: 401 use_dpop_nonce at the resource, then one retry.
    dpop.nonce = 'stale'
    const again = await tollgate.GET('/v1/cart/items')
    expect(again.response.status).toBe(200)
    expect(sent.slice(3).map(({ status }) => status)).toEqual([401, 200])

    // A client that knows no nonce yet at /oauth/token: 400 use_dpop_nonce, then one retry with a body sent again.
    const other = clientFor(n.app, createDpop())
    const client = await createClient(n.app)
    const issued = await other.tollgate.POST('/oauth/token', { body: { grant_type: 'client_credentials' }, headers: { ...FORM_ENCODED, authorization: client.authorization } })
    expect(issued.response.status).toBe(200)
    expect(issued.data!.token_type).toBe('DPoP')
    expect(other.sent.map(({ status }) => status)).toEqual([400, 200])
  })

  it('retries only once: a second use_dpop_nonce is the answer', async () => {
    const dpop = createDpop()
    const { tollgate, sent } = clientFor(n.app, dpop)
    // A proof() that never puts the nonce in: the server keeps asking.
    const proof = dpop.proof.bind(dpop)
    dpop.proof = async (request) => {
      dpop.nonce = undefined
      return proof(request)
    }
    const { email, password } = await register(n.app)
    const refused = await tollgate.POST('/v1/auth/login', { body: { email, password } })
    expect(refused.response.status).toBe(401)
    expect(refused.error?.code).toBe('use_dpop_nonce')
    expect(sent).toHaveLength(2)
  })
})

describe('the typed client with DPoP over real HTTP (the platform fetch), nonces required', () => {
  let h: TestApp
  let issuer: string
  beforeAll(async () => {
    const port = await freePort()
    issuer = `http://127.0.0.1:${port}`
    h = await buildTestApp({ ISSUER: issuer, DPOP_NONCE_REQUIRED: 'true' })
    await h.app.listen({ port, host: '127.0.0.1' })
  })
  afterAll(async () => h?.close())

  it('logs in (the refused first attempt sent again, body and all), calls a protected route and refreshes', async () => {
    const dpop = createDpop()
    let accessToken: string | undefined = undefined
    const statuses: number[] = []
    const fetchAndCount = async (request: Request) => {
      const response = await fetch(request)
      statuses.push(response.status)
      return response
    }
    const tollgate = createTollgateClient(issuer, { dpop, accessToken: () => accessToken, fetch: fetchAndCount })
    const { email, password } = await register(h.app)
    const loggedIn = await tollgate.POST('/v1/auth/login', { body: { email, password } })
    expect(loggedIn.response.status).toBe(200)
    expect(loggedIn.data!.token_type).toBe('DPoP')
    accessToken = loggedIn.data!.access_token
    const me = await tollgate.GET('/v1/me')
    expect(me.data?.email).toBe(email)
    const refreshed = await tollgate.POST('/v1/auth/refresh', { body: { refresh_token: loggedIn.data!.refresh_token } })
    expect(refreshed.data?.token_type).toBe('DPoP')
    expect(statuses).toEqual([401, 200, 200, 200])
  })
})
