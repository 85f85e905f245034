import { ACCESS_TOKEN_ALGORITHMS, type AccessTokenAlgorithm } from '@tollgate/verifier'
import type { CryptoKey, FlattenedJWSInput, JSONWebKeySet, JWSHeaderParameters, JWTPayload, KeyObject } from 'jose'

/** Every algorithm tollgate can sign with: the verifier's list (packages/verifier/src/claims.ts). */
export const SIGNING_ALGORITHMS = ACCESS_TOKEN_ALGORITHMS
export type SigningAlgorithm = AccessTokenAlgorithm

/**
 * SIGNING_ALGORITHMS' default: ES256 first, the algorithm of access tokens (every JWKS consumer of
 * the interop matrix verifies it, and it signs fast); RS256 for ID tokens, which OpenID Connect
 * signs with RS256 unless a client registers otherwise.
 */
export const DEFAULT_SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'RS256']

export function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return (SIGNING_ALGORITHMS as readonly unknown[]).includes(value)
}

/** Signs compact JWTs with the active key of one algorithm. */
export interface Signer {
  readonly alg: SigningAlgorithm
  readonly kid: string
  /** Signs `payload`; the protected header is `{ alg, kid, typ }`. */
  sign(payload: JWTPayload, header: { typ: string }): Promise<string>
}

/** Thrown by `signer(alg)` when `alg` has no active key (not configured, or still being published). */
export class NoSigningKeyError extends Error {
  readonly code = 'no_signing_key'
  readonly alg: string
  constructor(alg: string) {
    super(`no active ${alg} signing key (SIGNING_ALGORITHMS lists the algorithms with keys)`)
    this.name = 'NoSigningKeyError'
    this.alg = alg
  }
}

/**
 * The only holder of private signing keys. Everything that needs a signature asks it for a signer;
 * nothing else ever sees key material. The JWKS it returns has public members only.
 */
export interface KeyProvider {
  /**
   * The signer of `alg`'s active key; without `alg`, of the default algorithm (the first of
   * SIGNING_ALGORITHMS with an active key). Throws NoSigningKeyError when `alg` has no active key.
   */
  signer(alg?: SigningAlgorithm): Signer
  /** The algorithms that can sign now (each has an active key), the default first. */
  algorithms(): SigningAlgorithm[]
  /** Signs `payload` with the default algorithm's active key: `signer().sign(payload, header)`. */
  sign(payload: JWTPayload, header: { typ: string }): Promise<string>
  /** Every key a verifier may meet now, of every algorithm: next, active and retired keys still in use. */
  jwks(): Promise<JSONWebKeySet>
  /**
   * Resolves the public key for a JWS header from the published set, as jose's `jwtVerify`
   * expects a key-set function: local verification with no HTTP round trip.
   */
  verificationKey(protectedHeader: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey | KeyObject>
}
