import { createHmac } from 'node:crypto'
import { base64url, exportJWK, generateKeyPair } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { isCurrentDpopNonce, makeDpopNonce } from '../../../../src/domain/dpop/nonce.js'
import { checkDpopProof, createMemoryReplayCache, type DpopFailure } from '../../../../src/domain/dpop/proof.js'
import { dpopKey, dpopProof, type DpopKey, type ProofOptions } from '../../../helpers/dpop.js'

const URL_ = 'https://auth.example.com/oauth/token'
const NOW = new Date('2026-11-30T12:00:00Z')
const IAT = NOW.getTime() / 1000

let key: DpopKey
let other: DpopKey
beforeAll(async () => {
  key = await dpopKey('ES256')
  other = await dpopKey('ES256')
})

const proofOf = (options: Partial<ProofOptions> = {}) => dpopProof(key, { url: URL_, iat: IAT, ...options })

async function failureOf(proof: string | string[] | undefined, request: { method?: string; url?: string; accessToken?: string; nonce?: (n: string) => boolean } = {}) {
  try {
    await checkDpopProof({ proof, method: request.method ?? 'POST', url: request.url ?? URL_, now: NOW, ...(request.accessToken ? { accessToken: request.accessToken } : {}), ...(request.nonce ? { nonce: request.nonce } : {}) })
  } catch (error) {
    return { failure: (error as { failure: DpopFailure }).failure, code: (error as { code: string }).code }
  }
  return undefined
}

/** A JWT with the given header and payload and a signature made by `sign`. */
function handMade(header: object, payload: object, sign: (input: string) => Buffer = () => Buffer.alloc(64)) {
  const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}`
  return `${input}.${base64url.encode(sign(input))}`
}

describe('checkDpopProof', () => {
  it('accepts a proof and returns its key thumbprint, jti and expiry', async () => {
    const proof = await checkDpopProof({ proof: await proofOf({ jti: 'j1' }), method: 'post', url: `${URL_}?a=1#f`, now: NOW })
    expect(proof).toEqual({ jkt: key.jkt, jti: 'j1', iat: IAT, expiresAt: new Date(NOW.getTime() + 60_000) })
  })

  it('accepts the htu with another letter case in scheme and host, and with a default port', async () => {
    await expect(checkDpopProof({ proof: await proofOf({ url: 'HTTPS://Auth.Example.com:443/oauth/token' }), method: 'POST', url: URL_, now: NOW })).resolves.toBeDefined()
  })

  it('accepts ath for the access token presented, and a nonce the server accepts', async () => {
    const proof = await proofOf({ method: 'GET', accessToken: 'token-1', nonce: 'n-1' })
    await expect(checkDpopProof({ proof, method: 'GET', url: URL_, now: NOW, accessToken: 'token-1', nonce: (n) => n === 'n-1' })).resolves.toMatchObject({ jkt: key.jkt })
  })

  it('accepts RSA-PSS and EdDSA keys', async () => {
    for (const alg of ['PS256', 'EdDSA']) {
      const k = await dpopKey(alg)
      await expect(checkDpopProof({ proof: await dpopProof(k, { url: URL_, iat: IAT }), method: 'POST', url: URL_, now: NOW })).resolves.toMatchObject({ jkt: k.jkt })
    }
  })

  const cases: Array<[string, () => Promise<string | string[] | undefined>, DpopFailure, Parameters<typeof failureOf>[1]?]> = [
    ['no proof', async () => undefined, 'missing'],
    ['an empty header', async () => '', 'missing'],
    ['two DPoP headers', async () => [await proofOf(), await proofOf()], 'multiple'],
    ['not a JWT', async () => 'not-a-jwt', 'malformed'],
    ['typ JWT', () => proofOf({ header: { typ: 'JWT' } }), 'invalid_type'],
    ['no typ', () => proofOf({ header: { typ: undefined } }), 'invalid_type'],
    ['alg none', async () => handMade({ typ: 'dpop+jwt', alg: 'none', jwk: key.publicJwk }, { jti: 'x', htm: 'POST', htu: URL_, iat: IAT }, () => Buffer.alloc(0)), 'algorithm_not_allowed'],
    ['an HMAC alg', async () => handMade({ typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: 'c2VjcmV0' } }, { jti: 'x', htm: 'POST', htu: URL_, iat: IAT }, (input) => createHmac('sha256', 'secret').update(input).digest()), 'algorithm_not_allowed'],
    ['no jwk', () => proofOf({ header: { jwk: undefined } }), 'invalid_key'],
    ['a private key in jwk', async () => {
      const { privateKey } = await generateKeyPair('ES256', { extractable: true })
      const jwk = await exportJWK(privateKey)
      return dpopProof({ ...key, privateKey, publicJwk: jwk }, { url: URL_, iat: IAT })
    }, 'private_key'],
    ['a jwk that is not the signing key', () => proofOf({ header: { jwk: other.publicJwk } }), 'invalid_signature'],
    ['no jti', () => proofOf({ claims: { jti: undefined } }), 'missing_claim'],
    ['no htm', () => proofOf({ claims: { htm: undefined } }), 'missing_claim'],
    ['no htu', () => proofOf({ claims: { htu: undefined } }), 'missing_claim'],
    ['no iat', () => proofOf({ claims: { iat: undefined } }), 'missing_claim'],
    ['another method', () => proofOf({ method: 'GET' }), 'method_mismatch'],
    ['another path', () => proofOf({ url: 'https://auth.example.com/oauth/revoke' }), 'url_mismatch'],
    ['another host', () => proofOf({ url: 'https://evil.example.com/oauth/token' }), 'url_mismatch'],
    ['another scheme', () => proofOf({ url: 'http://auth.example.com/oauth/token' }), 'url_mismatch'],
    ['an iat older than the window', () => proofOf({ iat: IAT - 61 }), 'iat_out_of_window'],
    ['an iat beyond the window ahead', () => proofOf({ iat: IAT + 61 }), 'iat_out_of_window'],
    ['no ath with an access token', () => proofOf(), 'missing_claim', { accessToken: 'token-1' }],
    ['ath of another access token', () => proofOf({ accessToken: 'token-2' }), 'ath_mismatch', { accessToken: 'token-1' }],
    ['no nonce when one is required', () => proofOf(), 'nonce_required', { nonce: () => true }],
    ['a stale nonce', () => proofOf({ nonce: 'old' }), 'nonce_invalid', { nonce: (n) => n === 'new' }],
  ]

  it.each(cases)('refuses %s', async (_name, make, failure, request) => {
    const refused = await failureOf(await make(), request)
    expect(refused?.failure).toBe(failure)
    expect(refused?.code).toBe(failure.startsWith('nonce_') ? 'use_dpop_nonce' : 'invalid_dpop_proof')
  })
})

describe('server nonces', () => {
  const secret = Buffer.alloc(32, 1)
  it('are accepted in their step and the next, by any instance with the same secret, and not after', () => {
    const nonce = makeDpopNonce(secret, NOW)
    expect(isCurrentDpopNonce(nonce, [secret], NOW)).toBe(true)
    expect(isCurrentDpopNonce(nonce, [Buffer.alloc(32, 2), secret], new Date(NOW.getTime() + 60_000))).toBe(true)
    expect(isCurrentDpopNonce(nonce, [secret], new Date(NOW.getTime() + 120_000))).toBe(false)
    expect(isCurrentDpopNonce(nonce, [Buffer.alloc(32, 2)], NOW)).toBe(false)
    expect(isCurrentDpopNonce('garbage', [secret], NOW)).toBe(false)
  })
})

describe('the memory replay cache', () => {
  it('accepts a key once until it expires', async () => {
    let now = NOW
    const cache = createMemoryReplayCache({ currentDate: () => now })
    const until = new Date(NOW.getTime() + 60_000)
    expect(await cache.claim('k', until)).toBe(true)
    expect(await cache.claim('k', until)).toBe(false)
    now = new Date(until.getTime() + 1)
    expect(await cache.claim('k', new Date(now.getTime() + 60_000))).toBe(true)
  })
})
