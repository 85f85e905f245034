import { createHash, randomUUID } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'

export const ISSUER = 'https://auth.example.test'
export const AUDIENCE = 'tollgate'

export interface TestKey {
  kid: string
  alg: 'EdDSA' | 'ES256' | 'RS256'
  privateKey: CryptoKey
  publicJwk: JWK
  spki: string
}

export async function testKey(alg: TestKey['alg'] = 'EdDSA', kid: string = randomUUID()): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }, spki: await exportSPKI(publicKey) }
}

export function claims(overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000)
  return {
    iss: ISSUER,
    sub: 'user-1',
    aud: AUDIENCE,
    iat: now,
    exp: now + 600,
    jti: randomUUID(),
    client_id: 'tollgate-web',
    scope: 'cart',
    sid: randomUUID(),
    ...overrides,
  }
}

export function signToken(
  key: TestKey,
  payload: JWTPayload = claims(),
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header }).sign(key.privateKey)
}

export const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A client's DPoP key pair and its RFC 7638 thumbprint (what `cnf.jkt` carries). */
export interface DpopKey {
  alg: string
  privateKey: CryptoKey
  publicJwk: JWK
  privateJwk: JWK
  jkt: string
}

export async function dpopKey(alg = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  return { alg, privateKey, publicJwk, privateJwk: await exportJWK(privateKey), jkt: await calculateJwkThumbprint(publicJwk) }
}

/** A DPoP proof for `method` and `url`; `header` and `claims` replace (or, with undefined, remove) members. */
export async function dpopProof(
  key: DpopKey,
  options: { method: string; url: string; accessToken?: string; header?: Record<string, unknown>; claims?: Record<string, unknown> },
): Promise<string> {
  const payload: Record<string, unknown> = {
    jti: randomUUID(),
    htm: options.method,
    htu: options.url,
    iat: Math.floor(Date.now() / 1000),
    ...(options.accessToken === undefined ? {} : { ath: createHash('sha256').update(options.accessToken).digest('base64url') }),
    ...options.claims,
  }
  const header: Record<string, unknown> = { typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk, ...options.header }
  for (const record of [payload, header]) for (const [name, value] of Object.entries(record)) if (value === undefined) delete record[name]
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key.privateKey)
}
