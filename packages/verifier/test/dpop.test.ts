import { createHmac, randomUUID } from 'node:crypto'
import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  confirmDpopBinding,
  createMemoryReplayCache,
  createRedisReplayCache,
  createVerifier,
  DpopProofError,
  TokenVerificationError,
  type DpopFailure,
  type DpopReplayCache,
  type PresentedRequest,
  type VerifierErrorCode,
} from '../src/index.js'
import { AUDIENCE, b64, claims, dpopKey, dpopProof, ISSUER, signToken, testKey, type DpopKey, type TestKey } from './fixtures.js'

const URL_ = 'https://orders.example.test/orders'
let key: TestKey
let keySet: JWTVerifyGetKey
let client: DpopKey
let thief: DpopKey
let bound: string
let unbound: string

beforeAll(async () => {
  key = await testKey('ES256')
  keySet = createLocalJWKSet({ keys: [key.publicJwk] })
  client = await dpopKey('ES256')
  thief = await dpopKey('ES256')
  bound = await signToken(key, claims({ cnf: { jkt: client.jkt } }))
  unbound = await signToken(key)
})

const verifier = (replayCache?: DpopReplayCache) =>
  createVerifier({ issuer: ISSUER, audience: AUDIENCE, keySet, ...(replayCache ? { dpop: { replayCache } } : {}) })

type Outcome = VerifierErrorCode | 'accepted'
async function outcomeOf(promise: Promise<unknown>): Promise<{ code: Outcome; failure?: DpopFailure }> {
  try {
    await promise
    return { code: 'accepted' }
  } catch (error) {
    expect(error).toBeInstanceOf(TokenVerificationError)
    const { code, cause } = error as TokenVerificationError
    return cause instanceof DpopProofError ? { code, failure: cause.failure } : { code }
  }
}

const request = (overrides: Partial<PresentedRequest> = {}): PresentedRequest => ({ authorization: `DPoP ${bound}`, dpop: undefined, method: 'GET', url: URL_, ...overrides })
const proof = (overrides: Partial<Parameters<typeof dpopProof>[1]> = {}, by: DpopKey = client) => dpopProof(by, { method: 'GET', url: URL_, accessToken: bound, ...overrides })
const now = () => Math.floor(Date.now() / 1000)

describe('verifyRequest with DPoP (RFC 9449 §4.3 and §7)', () => {
  const cases: Array<{ name: string; request: () => Promise<Partial<PresentedRequest>>; code: Outcome; failure?: DpopFailure }> = [
    { name: 'a bound token as DPoP with a proof from its key', request: async () => ({ dpop: await proof() }), code: 'accepted' },
    { name: 'the htu with a query, ignored', request: async () => ({ dpop: await proof(), url: `${URL_}?page=2` }), code: 'accepted' },
    { name: 'an unbound token as Bearer', request: async () => ({ authorization: `Bearer ${unbound}` }), code: 'accepted' },
    { name: 'a bound token as Bearer (a stolen token)', request: async () => ({ authorization: `Bearer ${bound}` }), code: 'dpop_bound_token' },
    { name: 'a bound token as Bearer, even with a valid proof', request: async () => ({ authorization: `Bearer ${bound}`, dpop: await proof() }), code: 'dpop_bound_token' },
    { name: 'an unbound token as DPoP', request: async () => ({ authorization: `DPoP ${unbound}`, dpop: await proof({ accessToken: unbound }) }), code: 'not_dpop_bound' },
    { name: 'no Authorization header', request: async () => ({ authorization: undefined }), code: 'missing_token' },
    { name: 'a Basic header', request: async () => ({ authorization: 'Basic dXNlcjpwYXNz' }), code: 'missing_token' },
    { name: 'no proof', request: async () => ({}), code: 'invalid_dpop_proof', failure: 'missing' },
    { name: 'two proofs', request: async () => ({ dpop: [await proof(), await proof()] }), code: 'invalid_dpop_proof', failure: 'multiple' },
    { name: 'a proof that is not a JWT', request: async () => ({ dpop: 'not-a-jwt' }), code: 'invalid_dpop_proof', failure: 'malformed' },
    { name: 'typ JWT', request: async () => ({ dpop: await proof({ header: { typ: 'JWT' } }) }), code: 'invalid_dpop_proof', failure: 'invalid_type' },
    {
      name: 'alg none',
      request: async () => ({ dpop: `${b64({ typ: 'dpop+jwt', alg: 'none', jwk: client.publicJwk })}.${b64({ jti: randomUUID(), htm: 'GET', htu: URL_, iat: now() })}.` }),
      code: 'invalid_dpop_proof',
      failure: 'algorithm_not_allowed',
    },
    {
      name: 'an HMAC alg (HS256)',
      request: async () => {
        const input = `${b64({ typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: 'c2VjcmV0' } })}.${b64({ jti: randomUUID(), htm: 'GET', htu: URL_, iat: now() })}`
        return { dpop: `${input}.${createHmac('sha256', 'secret').update(input).digest('base64url')}` }
      },
      code: 'invalid_dpop_proof',
      failure: 'algorithm_not_allowed',
    },
    { name: 'a private key in jwk', request: async () => ({ dpop: await proof({ header: { jwk: client.privateJwk } }) }), code: 'invalid_dpop_proof', failure: 'private_key' },
    { name: 'no jwk', request: async () => ({ dpop: await proof({ header: { jwk: undefined } }) }), code: 'invalid_dpop_proof', failure: 'invalid_key' },
    { name: 'a jwk that did not sign it', request: async () => ({ dpop: await proof({ header: { jwk: thief.publicJwk } }) }), code: 'invalid_dpop_proof', failure: 'invalid_signature' },
    { name: 'an iat 2 minutes old', request: async () => ({ dpop: await proof({ claims: { iat: now() - 120 } }) }), code: 'invalid_dpop_proof', failure: 'iat_out_of_window' },
    { name: 'an iat 2 minutes ahead', request: async () => ({ dpop: await proof({ claims: { iat: now() + 120 } }) }), code: 'invalid_dpop_proof', failure: 'iat_out_of_window' },
    { name: 'a proof for POST', request: async () => ({ dpop: await proof({ method: 'POST' }) }), code: 'invalid_dpop_proof', failure: 'method_mismatch' },
    { name: 'a proof for another URL', request: async () => ({ dpop: await proof({ url: 'https://orders.example.test/admin' }) }), code: 'invalid_dpop_proof', failure: 'url_mismatch' },
    { name: 'a proof for another host', request: async () => ({ dpop: await proof({ url: 'https://evil.example.test/orders' }) }), code: 'invalid_dpop_proof', failure: 'url_mismatch' },
    { name: 'a proof without ath', request: async () => ({ dpop: await proof({ claims: { ath: undefined } }) }), code: 'invalid_dpop_proof', failure: 'missing_claim' },
    { name: 'a proof for another token (wrong ath)', request: async () => ({ dpop: await proof({ accessToken: unbound }) }), code: 'invalid_dpop_proof', failure: 'ath_mismatch' },
    { name: 'a proof without jti', request: async () => ({ dpop: await proof({ claims: { jti: undefined } }) }), code: 'invalid_dpop_proof', failure: 'missing_claim' },
    { name: 'a proof signed with another key (the thief\'s)', request: async () => ({ dpop: await proof({}, thief) }), code: 'dpop_key_mismatch' },
  ]

  it.each(cases)('$name: $code $failure', async ({ request: overrides, code, failure }) => {
    const outcome = await outcomeOf(verifier().verifyRequest(request(await overrides())))
    expect(outcome).toEqual(failure ? { code, failure } : { code })
  })

  it('accepts a proof once: the same jti again is invalid_dpop_proof (replayed), while its window lasts', async () => {
    let clock = new Date()
    const v = createVerifier({ issuer: ISSUER, audience: AUDIENCE, keySet, currentDate: () => clock, dpop: { iatWindowSeconds: 30 } })
    const dpop = await proof()
    expect(await outcomeOf(v.verifyRequest(request({ dpop })))).toEqual({ code: 'accepted' })
    expect(await outcomeOf(v.verifyRequest(request({ dpop })))).toEqual({ code: 'invalid_dpop_proof', failure: 'replayed' })
    clock = new Date(clock.getTime() + 31_000)
    expect(await outcomeOf(v.verifyRequest(request({ dpop })))).toEqual({ code: 'invalid_dpop_proof', failure: 'iat_out_of_window' })
  })

  it('does not use up a jti on a refused proof', async () => {
    const v = verifier()
    const jti = randomUUID()
    expect((await outcomeOf(v.verifyRequest(request({ dpop: await proof({ method: 'POST', claims: { jti } }) })))).code).toBe('invalid_dpop_proof')
    expect(await outcomeOf(v.verifyRequest(request({ dpop: await proof({ claims: { jti } }) })))).toEqual({ code: 'accepted' })
  })

  it('shares replays through its replay cache: a proof accepted by one verifier is refused by another', async () => {
    const shared = createMemoryReplayCache()
    const dpop = await proof()
    expect(await outcomeOf(verifier(shared).verifyRequest(request({ dpop })))).toEqual({ code: 'accepted' })
    expect(await outcomeOf(verifier(shared).verifyRequest(request({ dpop })))).toEqual({ code: 'invalid_dpop_proof', failure: 'replayed' })
  })

  it('fails closed when the replay cache cannot answer: replay_cache_unavailable, the verifier\'s fault', async () => {
    const broken: DpopReplayCache = { claim: async () => Promise.reject(new Error('ECONNREFUSED')) }
    const error = await verifier(broken).verifyRequest(request({ dpop: await proof() })).catch((caught: unknown) => caught)
    expect(error).toMatchObject({ code: 'replay_cache_unavailable', unavailable: true })
  })

  it.each([
    { name: 'an HMAC DPoP algorithm', dpop: { algorithms: ['HS256'] } },
    { name: 'DPoP alg none', dpop: { algorithms: ['none'] } },
    { name: 'a zero iat window', dpop: { iatWindowSeconds: 0 } },
  ])('refuses to be created with $name', ({ dpop }) => {
    expect(() => createVerifier({ issuer: ISSUER, audience: AUDIENCE, keySet, dpop })).toThrow(TypeError)
  })

  it('keeps a cached token\'s binding: its claims, cnf included, are frozen', async () => {
    const claimsOf = await verifier().verify(bound)
    expect(Object.isFrozen(claimsOf.cnf)).toBe(true)
  })
})

describe('createRedisReplayCache', () => {
  it('claims a key once with SET NX and the proof\'s remaining lifetime', async () => {
    const store = new Map<string, string>()
    const calls: unknown[][] = []
    const redis = {
      async set(key: string, value: string, px: 'PX', milliseconds: number, nx: 'NX') {
        calls.push([key, value, px, milliseconds, nx])
        if (store.has(key)) return null
        store.set(key, value)
        return 'OK'
      },
    }
    const at = new Date('2026-11-30T12:00:00Z')
    const cache = createRedisReplayCache(redis, { prefix: 'svc:dpop:', currentDate: () => at })
    expect(await cache.claim('k', new Date(at.getTime() + 45_000))).toBe(true)
    expect(await cache.claim('k', new Date(at.getTime() + 45_000))).toBe(false)
    expect(calls[0]).toEqual(['svc:dpop:k', '1', 'PX', 45_000, 'NX'])
  })
})

// The rule both verifyRequest and tollgate's own routes apply: which presentation a token's binding
// allows, and whether the proof is looked at at all (a check may have effects: tollgate's claims
// the proof's jti, so a refused presentation must not reach it).
describe('confirmDpopBinding (RFC 9449 §7)', () => {
  const cases: Array<{ name: string; scheme: 'bearer' | 'dpop'; jkt: string | undefined; proofJkt?: string; outcome: VerifierErrorCode | 'bearer' | 'proof'; checked: boolean }> = [
    { name: 'an unbound token as Bearer', scheme: 'bearer', jkt: undefined, outcome: 'bearer', checked: false },
    { name: 'a bound token as Bearer', scheme: 'bearer', jkt: 'key-a', outcome: 'dpop_bound_token', checked: false },
    { name: 'an unbound token as DPoP', scheme: 'dpop', jkt: undefined, outcome: 'not_dpop_bound', checked: false },
    { name: 'a bound token as DPoP, a proof from its key', scheme: 'dpop', jkt: 'key-a', proofJkt: 'key-a', outcome: 'proof', checked: true },
    { name: 'a bound token as DPoP, a proof from another key', scheme: 'dpop', jkt: 'key-a', proofJkt: 'key-b', outcome: 'dpop_key_mismatch', checked: true },
  ]

  it.each(cases)('$name: $outcome', async ({ scheme, jkt, proofJkt, outcome, checked }) => {
    const seen: string[] = []
    const checkProof = async (accessToken: string) => {
      seen.push(accessToken)
      return { jkt: proofJkt!, jti: 'j' }
    }
    const result = await confirmDpopBinding({ scheme, token: 'the-token' }, jkt, checkProof).then(
      (proof) => (proof ? 'proof' : 'bearer'),
      (error: unknown) => (error instanceof TokenVerificationError ? error.code : String(error)),
    )
    expect(result).toBe(outcome)
    expect(seen).toEqual(checked ? ['the-token'] : [])
  })

  it('passes on what the proof check throws', async () => {
    const refused = new DpopProofError('replayed', 'The DPoP proof was already used')
    await expect(confirmDpopBinding({ scheme: 'dpop', token: 't' }, 'key-a', () => Promise.reject(refused))).rejects.toBe(refused)
  })
})
