import { randomUUID } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import { accessTokenHash } from '../../src/domain/dpop/proof.js'

/** A client's DPoP key pair, its public JWK and thumbprint. */
export interface DpopKey {
  privateKey: CryptoKey
  publicJwk: JWK
  jkt: string
  alg: string
}

export async function dpopKey(alg = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  return { privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk), alg }
}

export interface ProofOptions {
  method?: string
  url: string
  accessToken?: string
  nonce?: string
  iat?: number
  jti?: string
  /** Replace or remove (undefined) header members. */
  header?: Record<string, unknown>
  /** Replace or remove (undefined) claims. */
  claims?: Record<string, unknown>
}

/** A DPoP proof signed with `key`, for `url` (POST unless said). */
export async function dpopProof(key: DpopKey, options: ProofOptions): Promise<string> {
  const claims: Record<string, unknown> = {
    jti: options.jti ?? randomUUID(),
    htm: options.method ?? 'POST',
    htu: options.url,
    iat: options.iat ?? Math.floor(Date.now() / 1000),
    ...(options.accessToken === undefined ? {} : { ath: accessTokenHash(options.accessToken) }),
    ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
    ...options.claims,
  }
  const header = { typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk, ...options.header }
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name]
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete (header as Record<string, unknown>)[name]
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey)
}
