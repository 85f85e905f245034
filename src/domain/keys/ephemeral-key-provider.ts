import { createLocalJWKSet } from 'jose'
import { createJwsSigner } from './jws-signer.js'
import { generateSigningKey, importPrivateKey } from './key-material.js'
import type { KeyProvider, SigningAlgorithm } from './key-provider.js'

/** A single in-memory key pair: for unit tests and tools, never for a running service. */
export async function createEphemeralKeyProvider(alg: SigningAlgorithm = 'EdDSA'): Promise<KeyProvider> {
  const generated = await generateSigningKey(alg)
  const signer = createJwsSigner(await importPrivateKey(generated.privateKeyPkcs8, alg), alg, generated.kid)
  const jwks = { keys: [generated.publicJwk] }
  const keySet = createLocalJWKSet(jwks)
  return {
    async sign(payload, header) {
      return signer.sign(payload, header.typ)
    },
    async jwks() {
      return structuredClone(jwks)
    },
    verificationKey: (protectedHeader, token) => keySet(protectedHeader, token),
  }
}
