import { randomUUID } from 'node:crypto'
import argon2 from 'argon2'
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, exportPKCS8, generateKeyPair, jwtVerify, SignJWT } from 'jose'
import { createJwsSigner } from '../../src/domain/keys/jws-signer.js'
import { importPrivateKey } from '../../src/domain/keys/key-material.js'
import type { SigningAlgorithm } from '../../src/domain/keys/key-provider.js'
import { argon2Parameters } from '../../src/services/password-hasher.js'
import { accessTokenHash, createMemoryReplayCache, createVerifier } from '@tollgate/verifier'
import { benchConfig, PASSWORD } from '../servers/tollgate.js'
import { serve } from './child.js'

/**
 * In-process measurements, each in this process of its own: raw argon2id verifies (the ceiling
 * of the login case, at tollgate's parameters and with the same libuv threadpool size), and the
 * verifier package against raw jose jwtVerify on the same keys and tokens, and what an access token
 * costs per signing algorithm (ES256, the default, and RS256, the other default key): tollgate's
 * signer (node:crypto in the threadpool) and tollgate/verifier without its cache; and a DPoP-bound
 * token with its proof through verifyRequest, beside the plain bearer case.
 */
export interface Measurement {
  opsPerSecond: number
  ops: number
  seconds: number
  /** CPU time of this process (all threads, user + system) per operation, µs. */
  cpuMicrosPerOp: number
}

const ISSUER = 'https://auth.example.test'
const AUDIENCE = 'tollgate'
const TOKENS = 2000
const THREADPOOL = Number(process.env.UV_THREADPOOL_SIZE ?? 4)

async function forDuration(seconds: number, concurrency: number, operation: (i: number) => Promise<unknown>): Promise<Measurement> {
  let ops = 0
  const cpu = process.cpuUsage()
  const started = performance.now()
  const deadline = started + seconds * 1000
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await operation(ops)
        ops++
      }
    }),
  )
  const elapsed = (performance.now() - started) / 1000
  const { user, system } = process.cpuUsage(cpu)
  return { opsPerSecond: ops / elapsed, ops, seconds: elapsed, cpuMicrosPerOp: (user + system) / Math.max(ops, 1) }
}

/** Sequential verifications in small synchronous-looking batches, as a request handler would await them. */
async function verifications(seconds: number, verify: (token: string) => Promise<unknown>, tokens: string[]): Promise<Measurement> {
  for (let i = 0; i < 200; i++) await verify(tokens[i % tokens.length]!)
  return forDuration(seconds, 1, (i) => verify(tokens[i % tokens.length]!))
}

const { config, cleanup } = benchConfig()
cleanup()
const parameters = argon2Parameters(config)
const digest = await argon2.hash(PASSWORD, { type: argon2.argon2id, ...parameters })

const { privateKey, publicKey } = await generateKeyPair('EdDSA')
const kid = randomUUID()
const keySet = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' }] })
const now = Math.floor(Date.now() / 1000)
const tokens = await Promise.all(
  Array.from({ length: TOKENS }, () =>
    new SignJWT({ iss: ISSUER, sub: randomUUID(), aud: AUDIENCE, iat: now, exp: now + 3600, jti: randomUUID(), client_id: 'tollgate-web', scope: 'cart', sid: randomUUID() })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
      .sign(privateKey),
  ),
)
const joseOptions = { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt', algorithms: ['EdDSA'], clockTolerance: 5 }
const revoked = { sids: new Set<string>(), jtis: new Set<string>(['not-this-one']) }
const revocations = { isRevoked: (claims: { sid?: string | undefined; jti?: string | undefined }) => revoked.sids.has(claims.sid!) || revoked.jtis.has(claims.jti!) }
const cached = createVerifier({ issuer: ISSUER, audience: AUDIENCE, keySet, revocations })
const uncached = createVerifier({ issuer: ISSUER, audience: AUDIENCE, keySet, revocations, cacheSize: 0 })

/**
 * DPoP at a resource server: the same tokens bound to a client's ES256 key (cnf.jkt), each request
 * with a proof of its own (signed beforehand: the client's cost is not the server's) verified by
 * verifyRequest: the token (from the cache after its first use, as in the bearer case), then the
 * proof's checks and signature, its key's thumbprint and one claim in the in-memory replay cache.
 * The proofs are reused once all have been seen, with a fresh replay cache, and allowed a day's
 * iat window so the proofs made at the start stay acceptable through every round.
 */
async function dpopCase() {
  const client = await generateKeyPair('ES256')
  const jwk = await exportJWK(client.publicKey)
  const jkt = await calculateJwkThumbprint(jwk)
  const bound = await Promise.all(
    Array.from({ length: TOKENS }, () =>
      new SignJWT({ iss: ISSUER, sub: randomUUID(), aud: AUDIENCE, iat: now, exp: now + 3600, jti: randomUUID(), client_id: 'tollgate-web', scope: 'cart', sid: randomUUID(), cnf: { jkt } })
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
        .sign(privateKey),
    ),
  )
  const url = 'https://orders.example.test/orders'
  const proofs = await Promise.all(
    Array.from({ length: 2 * TOKENS }, (_, i) =>
      new SignJWT({ jti: randomUUID(), htm: 'GET', htu: url, iat: now, ath: accessTokenHash(bound[i % TOKENS]!) })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
        .sign(client.privateKey),
    ),
  )
  let replay = createMemoryReplayCache()
  const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, keySet, revocations, dpop: { replayCache: { claim: (key, at) => replay.claim(key, at) }, iatWindowSeconds: 86_400 } })
  let used = 0
  const verify = () => {
    const i = used++ % proofs.length
    if (i === 0) replay = createMemoryReplayCache()
    return verifier.verifyRequest({ authorization: `DPoP ${bound[i % TOKENS]!}`, dpop: proofs[i]!, method: 'GET', url })
  }
  return {
    verify: async (seconds: number) => {
      for (let i = 0; i < 200; i++) await verify()
      return forDuration(seconds, 1, verify)
    },
    close: () => verifier.close(),
  }
}
const dpop = await dpopCase()

/** tollgate's own signer and verifier for one algorithm, on a fresh key and a token like an access token. */
async function algorithmCase(alg: SigningAlgorithm) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const keyId = randomUUID()
  const signer = createJwsSigner(await importPrivateKey(await exportPKCS8(privateKey), alg), alg, keyId)
  const claims = () => ({ iss: ISSUER, sub: randomUUID(), aud: AUDIENCE, iat: now, exp: now + 3600, jti: randomUUID(), client_id: 'tollgate-web', scope: 'cart', sid: randomUUID() })
  const signed = await Promise.all(Array.from({ length: TOKENS }, () => signer.sign(claims(), { typ: 'at+jwt' })))
  const verifier = createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keySet: createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: keyId, alg, use: 'sig' }] }),
    algorithms: [alg],
    revocations,
    cacheSize: 0,
  })
  const payload = claims()
  return {
    // As a server signs: one token per request, as many in flight as the threadpool has threads.
    sign: (seconds: number) => forDuration(seconds, THREADPOOL, () => signer.sign(payload, { typ: 'at+jwt' })),
    verify: (seconds: number) => verifications(seconds, (token) => verifier.verify(token), signed),
    close: () => verifier.close(),
  }
}
const es256 = await algorithmCase('ES256')
const rs256 = await algorithmCase('RS256')

serve(
  { pid: process.pid, threadpool: THREADPOOL, argon2: parameters },
  {
    // As many verifies in flight as the threadpool has threads: all of them busy, none queued behind.
    argon2: (seconds) => forDuration(seconds as number, THREADPOOL, () => argon2.verify(digest, PASSWORD)),
    'jose-verify': (seconds) => verifications(seconds as number, (token) => jwtVerify(token, keySet, joseOptions), tokens),
    verifier: (seconds) => verifications(seconds as number, (token) => cached.verify(token), tokens),
    'verifier-uncached': (seconds) => verifications(seconds as number, (token) => uncached.verify(token), tokens),
    'verifier-dpop': (seconds) => dpop.verify(seconds as number),
    'sign-es256': (seconds) => es256.sign(seconds as number),
    'sign-rs256': (seconds) => rs256.sign(seconds as number),
    'verify-es256': (seconds) => es256.verify(seconds as number),
    'verify-rs256': (seconds) => rs256.verify(seconds as number),
    close: () => {
      es256.close()
      rs256.close()
      cached.close()
      uncached.close()
      dpop.close()
    },
  },
)
