import { createLocalJWKSet, SignJWT } from 'jose'
import { generateSigningKey, importPrivateKey } from './key-material.js'
import type { KeyProvider, SigningAlgorithm } from './key-provider.js'

/** A single in-memory key pair: for unit tests and tools, never for a running service. */
export async function createEphemeralKeyProvider(alg: SigningAlgorithm = 'EdDSA'): Promise<KeyProvider> {
  const generated = await generateSigningKey(alg)
  const privateKey = await importPrivateKey(generated.privateKeyPkcs8, alg)
  const jwks = { keys: [generated.publicJwk] }
  const keySet = createLocalJWKSet(jwks)
  return {
    async sign(payload, header) {
      return new SignJWT(payload).setProtectedHeader({ alg, kid: generated.kid, typ: header.typ }).sign(privateKey)
    },
    async jwks() {
      return structuredClone(jwks)
    },
    verificationKey: (protectedHeader, token) => keySet(protectedHeader, token),
  }
}
