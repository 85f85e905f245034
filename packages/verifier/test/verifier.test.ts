import { createHmac } from 'node:crypto'
import { createLocalJWKSet, SignJWT, type JWTVerifyGetKey } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { createVerifier, TokenVerificationError, type VerifierErrorCode } from '../src/index.js'
import { AUDIENCE, b64, claims, ISSUER, signToken, testKey, type TestKey } from './fixtures.js'

let key: TestKey
let foreign: TestKey
let es256: TestKey
let rs256: TestKey
let keySet: JWTVerifyGetKey

beforeAll(async () => {
  key = await testKey('EdDSA')
  es256 = await testKey('ES256')
  rs256 = await testKey('RS256')
  foreign = await testKey('EdDSA', key.kid) // same kid, another key pair
  keySet = createLocalJWKSet({ keys: [key.publicJwk, es256.publicJwk, rs256.publicJwk] })
})

const verifier = (options: Partial<Parameters<typeof createVerifier>[0]> = {}) =>
  createVerifier({ issuer: ISSUER, audience: AUDIENCE, keySet, ...options })

async function codeOf(promise: Promise<unknown>): Promise<VerifierErrorCode | 'accepted'> {
  try {
    await promise
    return 'accepted'
  } catch (error) {
    expect(error).toBeInstanceOf(TokenVerificationError)
    return (error as TokenVerificationError).code
  }
}

describe('createVerifier', () => {
  it('returns the typed claims of a valid token, for every allowed algorithm', async () => {
    for (const signer of [key, es256, rs256]) {
      const payload = claims()
      const verified = await verifier().verify(await signToken(signer, payload))
      expect(verified).toMatchObject({ sub: 'user-1', jti: payload.jti, sid: payload.sid, scope: 'cart', client_id: 'tollgate-web' })
    }
  })

  const now = () => Math.floor(Date.now() / 1000)
  const cases: Array<{ name: string; token: () => Promise<string>; code: VerifierErrorCode; options?: Parameters<typeof verifier>[0] }> = [
    {
      name: 'a tampered payload',
      token: async () => {
        const [header, , signature] = (await signToken(key)).split('.')
        return `${header}.${b64(claims({ sub: 'admin' }))}.${signature}`
      },
      code: 'invalid_signature',
    },
    { name: 'alg none', token: async () => `${b64({ alg: 'none', typ: 'at+jwt', kid: key.kid })}.${b64(claims())}.`, code: 'algorithm_not_allowed' },
    {
      name: 'HS256 signed with the public key as the secret',
      token: async () => {
        const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: key.kid })}.${b64(claims())}`
        return `${input}.${createHmac('sha256', key.spki).update(input).digest('base64url')}`
      },
      code: 'algorithm_not_allowed',
    },
    {
      name: 'HS256 signed with the JWK x as the secret',
      token: () => new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: key.kid }).sign(Buffer.from(key.publicJwk.x!, 'base64url')),
      code: 'algorithm_not_allowed',
    },
    { name: 'a foreign key under a known kid', token: () => signToken(foreign), code: 'invalid_signature' },
    { name: 'an unknown kid', token: async () => signToken(await testKey('EdDSA')), code: 'unknown_key' },
    { name: 'typ JWT', token: () => signToken(key, claims(), { typ: 'JWT' }), code: 'invalid_type' },
    { name: 'no typ', token: () => new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA', kid: key.kid }).sign(key.privateKey), code: 'invalid_type' },
    { name: 'typ revocations+jwt', token: () => signToken(key, claims(), { typ: 'revocations+jwt' }), code: 'invalid_type' },
    { name: 'another issuer', token: () => signToken(key, claims({ iss: 'https://evil.test' })), code: 'invalid_issuer' },
    { name: 'another audience', token: () => signToken(key, claims({ aud: 'billing' })), code: 'invalid_audience' },
    { name: 'an expired token', token: () => signToken(key, claims({ iat: now() - 700, exp: now() - 60 })), code: 'token_expired' },
    { name: 'a token not valid yet', token: () => signToken(key, claims({ nbf: now() + 300 })), code: 'token_not_yet_valid' },
    { name: 'no jti', token: () => signToken(key, claims({ jti: undefined })), code: 'invalid_claims' },
    { name: 'no client_id', token: () => signToken(key, claims({ client_id: undefined })), code: 'invalid_claims' },
    { name: 'a numeric sub', token: () => signToken(key, claims({ sub: 42 as unknown as string })), code: 'invalid_claims' },
    { name: 'not a JWT', token: async () => 'not-a-jwt', code: 'malformed_token' },
    { name: 'an empty string', token: async () => '', code: 'malformed_token' },
    { name: 'garbage segments', token: async () => 'a.b.c', code: 'malformed_token' },
    { name: 'an RS256 token where only EdDSA is allowed', token: () => signToken(rs256), code: 'algorithm_not_allowed', options: { algorithms: ['EdDSA'] } },
  ]

  it.each(cases)('rejects $name with $code', async ({ token, code, options }) => {
    expect(await codeOf(verifier(options).verify(await token()))).toBe(code)
  })

  it('tolerates a few seconds of clock skew, no more', async () => {
    const token = await signToken(key, claims({ exp: now() - 3 }))
    expect(await codeOf(verifier().verify(token))).toBe('accepted')
    expect(await codeOf(verifier({ clockTolerance: 0 }).verify(token))).toBe('token_expired')
  })

  it.each([
    { name: 'a symmetric algorithm', options: { algorithms: ['HS256' as 'EdDSA'] } },
    { name: 'alg none', options: { algorithms: ['none' as 'EdDSA'] } },
    { name: 'neither jwksUrl nor keySet', options: { keySet: undefined } },
    { name: 'both jwksUrl and keySet', options: { jwksUrl: 'https://auth.example.test/.well-known/jwks.json' } },
    { name: 'no audience', options: { audience: '' } },
  ])('refuses to be created with $name', ({ options }) => {
    expect(() => verifier(options)).toThrow(TypeError)
  })

  it('rejects tokens of revoked sessions and revoked jtis, even once cached', async () => {
    const revoked = { sids: new Set<string>(), jtis: new Set<string>() }
    const v = verifier({ revocations: { isRevoked: (c) => revoked.sids.has(c.sid!) || revoked.jtis.has(c.jti!) } })
    const bySession = claims()
    const byJti = claims()
    const sessionToken = await signToken(key, bySession)
    const jtiToken = await signToken(key, byJti)
    expect(await codeOf(v.verify(sessionToken))).toBe('accepted')
    expect(await codeOf(v.verify(jtiToken))).toBe('accepted')
    revoked.sids.add(bySession.sid as string)
    revoked.jtis.add(byJti.jti as string)
    expect(await codeOf(v.verify(sessionToken))).toBe('token_revoked')
    expect(await codeOf(v.verify(jtiToken))).toBe('token_revoked')
  })

  it('serves a repeated token from its cache, but never past its expiry', async () => {
    let clock = new Date()
    let lookups = 0
    const counting: JWTVerifyGetKey = (header, token) => {
      lookups += 1
      return keySet(header, token)
    }
    const v = verifier({ keySet: counting, currentDate: () => clock })
    const token = await signToken(key, claims({ exp: Math.floor(clock.getTime() / 1000) + 60 }))
    await v.verify(token)
    await v.verify(token)
    expect(lookups).toBe(1)
    clock = new Date(clock.getTime() + 120_000)
    expect(await codeOf(v.verify(token))).toBe('token_expired')
  })

  it('keeps its cache bounded', async () => {
    const v = verifier({ cacheSize: 2 })
    const tokens = await Promise.all([1, 2, 3].map(() => signToken(key)))
    for (const token of tokens) await v.verify(token)
    for (const token of tokens) expect(await codeOf(v.verify(token))).toBe('accepted')
  })

  it('returns frozen claims, so a caller cannot alter what the cache holds', async () => {
    const verified = await verifier().verify(await signToken(key))
    expect(Object.isFrozen(verified)).toBe(true)
  })

  it('errors carry a stable code and say whether the verifier, not the token, failed', () => {
    expect(new TokenVerificationError('keys_unavailable', 'x').unavailable).toBe(true)
    expect(new TokenVerificationError('token_expired', 'x').unavailable).toBe(false)
  })
})
