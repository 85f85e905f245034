import { randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'
import type { KeyProvider, SigningAlgorithm } from './key-provider.js'

/** A single in-memory key pair: for unit tests and tools, never for a running service. */
export async function createEphemeralKeyProvider(alg: SigningAlgorithm = 'EdDSA'): Promise<KeyProvider> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const kid = randomUUID()
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  return {
    async sign(payload, header) {
      return new SignJWT(payload).setProtectedHeader({ alg, kid, typ: header.typ }).sign(privateKey)
    },
    async jwks() {
      return { keys: [publicJwk] }
    },
  }
}
