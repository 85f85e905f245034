import { createPrivateKey, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, type JWK } from 'jose'
import type { SigningAlgorithm } from './key-provider.js'

/** The members a public JWK may carry; anything else (d, p, q, dp, dq, qi, k, ...) never leaves. */
const PUBLIC_MEMBERS = {
  OKP: ['crv', 'x'],
  EC: ['crv', 'x', 'y'],
  RSA: ['n', 'e'],
} as const

export interface PublicSigningJwk extends JWK {
  kid: string
  alg: SigningAlgorithm
  use: 'sig'
  kty: keyof typeof PUBLIC_MEMBERS
}

export interface GeneratedSigningKey {
  kid: string
  alg: SigningAlgorithm
  publicJwk: PublicSigningJwk
  /** PKCS#8 PEM: handed straight to sealPrivateKey, never stored or logged in the clear. */
  privateKeyPkcs8: string
}

/** Copies only the public members of a JWK of a signing key type tollgate uses. */
export function publicMembers(jwk: JWK): Pick<PublicSigningJwk, 'kty'> & Record<string, string> {
  const kty = jwk.kty as keyof typeof PUBLIC_MEMBERS
  const members = PUBLIC_MEMBERS[kty]
  if (!members) throw new Error(`unsupported key type ${String(jwk.kty)}`)
  const out: Record<string, string> = { kty }
  for (const name of members) {
    const value = jwk[name]
    if (typeof value !== 'string') throw new Error(`public JWK member ${name} is missing`)
    out[name] = value
  }
  return out as Pick<PublicSigningJwk, 'kty'> & Record<string, string>
}

/** A new key pair; its kid is the RFC 7638 thumbprint of the public key. */
export async function generateSigningKey(alg: SigningAlgorithm): Promise<GeneratedSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
  const members = publicMembers(await exportJWK(publicKey))
  const kid = await calculateJwkThumbprint(members)
  return {
    kid,
    alg,
    publicJwk: { ...members, kid, alg, use: 'sig' } as PublicSigningJwk,
    privateKeyPkcs8: await exportPKCS8(privateKey),
  }
}

/**
 * The private key as node:crypto's KeyObject, which both jose and node:crypto's sign take (node
 * deprecates turning a non-extractable WebCrypto key into one). `alg` is checked against the key.
 */
export async function importPrivateKey(pkcs8: string, alg: SigningAlgorithm): Promise<KeyObject> {
  const key = createPrivateKey(pkcs8)
  const expected = { EdDSA: 'ed25519', ES256: 'ec', RS256: 'rsa' }[alg]
  if (key.asymmetricKeyType !== expected) throw new TypeError(`a ${alg} key must be ${expected}, not ${key.asymmetricKeyType}`)
  return key
}
