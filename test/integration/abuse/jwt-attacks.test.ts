import { createPublicKey } from 'node:crypto'
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { login, register } from '../../helpers/accounts.js'

/** Protected routes a stolen or forged token would be used against. */
const TARGETS = [
  ['GET', '/v1/me'],
  ['GET', '/v1/cart/items'],
] as const

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const partsOf = (token: string) => {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()) as JWTPayload,
    raw: { header, payload, signature },
  }
}

describe('forged and broken bearer tokens', () => {
  let t: TestApp
  let genuine: string

  beforeAll(async () => {
    t = await buildTestApp()
    const account = await register(t.app)
    genuine = (await login(t.app, account)).accessToken
  })
  afterAll(async () => t?.close())

  const now = () => Math.floor(Date.now() / 1000)

  async function forgeries(): Promise<Array<[string, string | undefined]>> {
    const real = partsOf(genuine)
    const claims = real.payload
    const kid = String(real.header.kid)
    const alg = String(real.header.alg)
    const published = (await t.app.keys.jwks()).keys.find((key) => key.kid === kid) as JWK
    expect(published).toBeDefined()
    const publicKey = createPublicKey({ key: published as never, format: 'jwk' })
    const spki = await exportSPKI(publicKey)
    const foreign = await generateKeyPair(alg, { extractable: true })
    const foreignJwk = await exportJWK(foreign.publicKey)
    const foreignSigned = (header: Record<string, unknown>, payload: JWTPayload = claims) =>
      new SignJWT(payload).setProtectedHeader({ alg, typ: 'at+jwt', ...header }).sign(foreign.privateKey)
    const hmac = (secret: Uint8Array) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid }).sign(secret)
    const realSigned = (payload: JWTPayload, typ = 'at+jwt') => t.app.keys.sign(payload, { typ })

    const list: Array<[string, Promise<string | undefined> | string | undefined]> = [
      ['no Authorization header', undefined],
      ['alg none', `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${real.raw.payload}.`],
      ['alg none, uppercase', `${b64({ alg: 'NONE', typ: 'at+jwt', kid })}.${real.raw.payload}.`],
      ['signature stripped', `${real.raw.header}.${real.raw.payload}.`],
      ['alg confusion: HS256 keyed with the public key bytes', published.x ? hmac(Buffer.from(published.x, 'base64url')) : hmac(Buffer.from(published.n!, 'base64url'))],
      ['alg confusion: HS256 keyed with the public key PEM', hmac(Buffer.from(spki))],
      ['alg confusion: HS256 keyed with the public JWK', hmac(Buffer.from(JSON.stringify(published)))],
      ['header alg swapped, signature kept', `${b64({ ...real.header, alg: alg === 'ES256' ? 'RS256' : 'ES256' })}.${real.raw.payload}.${real.raw.signature}`],
      ['tampered payload: another subject', `${real.raw.header}.${b64({ ...claims, sub: '00000000-0000-0000-0000-000000000000' })}.${real.raw.signature}`],
      ['tampered payload: more scope', `${real.raw.header}.${b64({ ...claims, scope: 'cart admin' })}.${real.raw.signature}`],
      ['tampered payload: later expiry', `${real.raw.header}.${b64({ ...claims, exp: now() + 86_400 * 365 })}.${real.raw.signature}`],
      ['unknown kid', foreignSigned({ kid: 'no-such-key' })],
      ['no kid', foreignSigned({})],
      ['foreign key with a known kid', foreignSigned({ kid })],
      ['jku header pointing at the attacker', foreignSigned({ kid: 'attacker', jku: 'https://attacker.example/jwks.json' })],
      ['jku header with a known kid', foreignSigned({ kid, jku: 'https://attacker.example/jwks.json' })],
      ['embedded jwk header', foreignSigned({ jwk: foreignJwk })],
      ['embedded jwk header with a known kid', foreignSigned({ kid, jwk: foreignJwk })],
      ['x5u header', foreignSigned({ kid, x5u: 'https://attacker.example/cert.pem' })],
      ['wrong typ (JWT)', realSigned({ ...claims }, 'JWT')],
      ['wrong typ (the revocations feed)', realSigned({ ...claims }, 'revocations+jwt')],
      ['expired', realSigned({ ...claims, iat: now() - 7200, exp: now() - 3600 })],
      ['not yet valid', realSigned({ ...claims, nbf: now() + 3600 })],
      ['another audience', realSigned({ ...claims, aud: 'some-other-service' })],
      ['another issuer', realSigned({ ...claims, iss: 'https://attacker.example' })],
      ['no expiry at all', realSigned(Object.fromEntries(Object.entries(claims).filter(([name]) => name !== 'exp')))],
      ['oversized header (100 KB)', `${b64({ ...real.header, pad: 'A'.repeat(100_000) })}.${real.raw.payload}.${real.raw.signature}`],
      ['oversized token of junk (100 KB)', 'A'.repeat(100_000)],
      ['two segments', `${real.raw.header}.${real.raw.payload}`],
      ['five segments (JWE shape)', `${real.raw.header}.a.b.c.d`],
      ['header not JSON', `${b64('not json')}.${real.raw.payload}.${real.raw.signature}`],
      ['payload not JSON', `${real.raw.header}.${b64('not json')}.${real.raw.signature}`],
      ['payload a JSON array', `${real.raw.header}.${b64([1, 2])}.${real.raw.signature}`],
      ['garbage', 'a.b.c'],
    ]
    return Promise.all(list.map(async ([name, token]) => [name, await token] as [string, string | undefined]))
  }

  it('a genuine token passes, so the refusals below are about the token', async () => {
    for (const [method, url] of TARGETS) {
      const res = await t.app.inject({ method, url, headers: { authorization: `Bearer ${genuine}` } })
      expect(res.statusCode, `${method} ${url}`).toBe(200)
    }
  })

  it('every forged, tampered, expired or malformed token is a 401 invalid_token with the RFC 6750 header', async () => {
    const cases = await forgeries()
    const failures: string[] = []
    for (const [name, token] of cases) {
      for (const [method, url] of TARGETS) {
        const res = await t.app.inject({ method, url, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
        const problem = res.headers['content-type']?.toString().startsWith('application/problem+json') ? res.json() : undefined
        const ok =
          res.statusCode === 401 &&
          /^Bearer\b.*error="invalid_token"/.test(String(res.headers['www-authenticate'])) &&
          problem?.code === 'invalid_token' &&
          problem?.status === 401
        if (!ok) failures.push(`${name} → ${method} ${url}: ${res.statusCode} ${res.headers['www-authenticate'] ?? ''} ${res.body.slice(0, 200)}`)
      }
    }
    expect(failures).toEqual([])
  })

  it.each([
    ['Basic credentials', 'Basic dXNlcjpwYXNz'],
    ['the scheme alone', 'Bearer'],
    ['an empty token', 'Bearer '],
    ['characters outside the token alphabet', 'Bearer ey$%^.ab.cd'],
    ['two tokens', 'Bearer a.b.c Bearer d.e.f'],
  ])('a malformed Authorization header (%s) is a 401 invalid_token', async (_name, authorization) => {
    for (const [method, url] of TARGETS) {
      const res = await t.app.inject({ method, url, headers: { authorization } })
      expect(res.statusCode).toBe(401)
      expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer\b.*error="invalid_token"/)
      expect(res.json()).toMatchObject({ code: 'invalid_token' })
    }
  })

  it('over real HTTP, a 100 KB Authorization header is refused by the server with 431, not a 500', async () => {
    const address = await t.app.listen({ host: '127.0.0.1', port: 0 })
    const res = await fetch(`${address}/v1/me`, { headers: { authorization: `Bearer ${'A'.repeat(100_000)}` } })
    expect(res.status).toBe(431)
  })
})
