import type { FlattenedJWSInput, JSONWebKeySet, JWSHeaderParameters, JWTPayload, KeyObject, CryptoKey } from 'jose'

export const SIGNING_ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number]

/**
 * The only holder of private signing keys. Everything that needs a signature asks it to sign;
 * nothing else ever sees key material. The JWKS it returns has public members only.
 */
export interface KeyProvider {
  /** Signs `payload` with the active key, setting `alg` and `kid` in the protected header. */
  sign(payload: JWTPayload, header: { typ: string }): Promise<string>
  /** Every key a verifier may meet now: the next key, the active key and retired keys still in use. */
  jwks(): Promise<JSONWebKeySet>
  /**
   * Resolves the public key for a JWS header from the published set, as jose's `jwtVerify`
   * expects a key-set function: local verification with no HTTP round trip.
   */
  verificationKey(protectedHeader: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey | KeyObject>
}
