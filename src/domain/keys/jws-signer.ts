import { sign, type KeyObject, type SignKeyObjectInput } from 'node:crypto'
import type { JWTPayload } from 'jose'
import type { Signer, SigningAlgorithm } from './key-provider.js'

const DIGEST: Record<SigningAlgorithm, string | null> = { EdDSA: null, ES256: 'sha256', RS256: 'sha256' }

/**
 * What jose's SignJWT produces for these three algorithms, with node:crypto's sign on a KeyObject
 * instead of WebCrypto: about a third less CPU per token. The signature is computed in libuv's
 * threadpool, off the event loop (the password hasher keeps a thread of it free of argon2).
 * ES256 signatures are raw r||s (JWS, RFC 7518 §3.4), not DER.
 */
export function createJwsSigner(key: KeyObject, alg: SigningAlgorithm, kid: string): Signer {
  const signingKey: KeyObject | SignKeyObjectInput = alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key
  const digest = DIGEST[alg]
  const headers = new Map<string, string>()
  return {
    alg,
    kid,
    sign(payload: JWTPayload, { typ }: { typ: string }) {
      let header = headers.get(typ)
      if (header === undefined) {
        header = Buffer.from(JSON.stringify({ alg, kid, typ })).toString('base64url')
        headers.set(typ, header)
      }
      const input = `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
      return new Promise((resolve, reject) => {
        sign(digest, Buffer.from(input), signingKey, (error, signature) => {
          if (error) reject(error)
          else resolve(`${input}.${signature.toString('base64url')}`)
        })
      })
    },
  }
}
