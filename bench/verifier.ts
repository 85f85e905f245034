// Verifications per second: tollgate/verifier against raw jose jwtVerify, same process, same keys.
//   npx tsx bench/verifier.ts [seconds-per-case]
// Bounded: every case runs for a fixed time (default 1.5 s) after a short warm-up.
import { randomUUID } from 'node:crypto'
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey } from 'jose'
import { createVerifier } from '../src/verifier/index.js'

const SECONDS = Number(process.argv[2] ?? 1.5)
const ISSUER = 'https://auth.example.test'
const AUDIENCE = 'tollgate'
const TOKENS = 2000

async function keyAndTokens(alg: 'EdDSA' | 'ES256' | 'RS256') {
  const { privateKey, publicKey } = await generateKeyPair(alg)
  const kid = randomUUID()
  const keySet = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }] })
  const now = Math.floor(Date.now() / 1000)
  const sign = (key: CryptoKey) =>
    new SignJWT({ iss: ISSUER, sub: randomUUID(), aud: AUDIENCE, iat: now, exp: now + 600, jti: randomUUID(), client_id: 'tollgate-web', scope: 'cart', sid: randomUUID() })
      .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
      .sign(key)
  const tokens = await Promise.all(Array.from({ length: TOKENS }, () => sign(privateKey)))
  return { keySet, tokens }
}

async function measure(name: string, verify: (token: string) => Promise<unknown>, tokens: string[]) {
  for (let i = 0; i < 200; i++) await verify(tokens[i % tokens.length]!)
  let count = 0
  const started = process.hrtime.bigint()
  const deadline = started + BigInt(Math.round(SECONDS * 1e9))
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < 50; i++) await verify(tokens[count++ % tokens.length]!)
  }
  const perSecond = count / (Number(process.hrtime.bigint() - started) / 1e9)
  return { name, perSecond }
}

const rows: Array<{ alg: string; case: string; 'verifications/s': number; 'vs raw jose': string }> = []
for (const alg of ['EdDSA', 'ES256', 'RS256'] as const) {
  const { keySet, tokens } = await keyAndTokens(alg)
  const options = { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt', algorithms: [alg], clockTolerance: 5 }
  const revoked = { sids: new Set<string>(), jtis: new Set<string>(['not-this-one']) }
  const revocations = { isRevoked: (c: { sid?: string | undefined; jti?: string | undefined }) => revoked.sids.has(c.sid!) || revoked.jtis.has(c.jti!) }
  const uncached = createVerifier({ issuer: ISSUER, audience: AUDIENCE, keySet, revocations, cacheSize: 0 })
  const cached = createVerifier({ issuer: ISSUER, audience: AUDIENCE, keySet, revocations })

  const raw = await measure('raw jose jwtVerify', (token) => jwtVerify(token, keySet, options), tokens)
  const results = [
    raw,
    await measure('verifier, cache off (every token new)', (token) => uncached.verify(token), tokens),
    await measure(`verifier, cache on (${TOKENS} tokens, repeated)`, (token) => cached.verify(token), tokens),
  ]
  for (const result of results) {
    rows.push({
      alg,
      case: result.name,
      'verifications/s': Math.round(result.perSecond),
      'vs raw jose': `${(raw.perSecond / result.perSecond).toFixed(2)}x cost`,
    })
  }
  uncached.close()
  cached.close()
}
console.table(rows)
