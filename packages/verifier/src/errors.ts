import { errors as joseErrors } from 'jose'

/** Why a token was refused. Stable: assert on these, never on messages. */
export const VERIFIER_ERROR_CODES = [
  'malformed_token',
  'algorithm_not_allowed',
  'unknown_key',
  'invalid_signature',
  'invalid_type',
  'invalid_issuer',
  'invalid_audience',
  'invalid_claims',
  'token_expired',
  'token_not_yet_valid',
  'token_revoked',
  'missing_token',
  'dpop_bound_token',
  'not_dpop_bound',
  'invalid_dpop_proof',
  'dpop_key_mismatch',
  'keys_unavailable',
  'revocations_unavailable',
  'replay_cache_unavailable',
] as const

/** One of {@link VERIFIER_ERROR_CODES}. */
export type VerifierErrorCode = (typeof VERIFIER_ERROR_CODES)[number]

/** Codes that say nothing about the token itself: the verifier could not reach what it needs. */
const UNAVAILABLE: ReadonlySet<VerifierErrorCode> = new Set(['keys_unavailable', 'revocations_unavailable', 'replay_cache_unavailable'])

/**
 * Thrown by `verify()` for every refused token. `code` is stable; `unavailable` is true when the
 * verifier, not the token, is at fault (an HTTP service answers 503 rather than 401 then).
 */
export class TokenVerificationError extends Error {
  /** Stable machine-readable reason, one of {@link VERIFIER_ERROR_CODES}. */
  readonly code: VerifierErrorCode
  /** The claim that failed validation, when one did. */
  readonly claim: string | undefined

  constructor(code: VerifierErrorCode, message: string, options: { claim?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'TokenVerificationError'
    this.code = code
    this.claim = options.claim
  }

  /** True when the failure is the verifier's (keys, revocation list or DPoP replay cache unreachable), not the token's. */
  get unavailable(): boolean {
    return UNAVAILABLE.has(this.code)
  }
}

const CLAIM_CODES: Record<string, VerifierErrorCode> = {
  nbf: 'token_not_yet_valid',
  typ: 'invalid_type',
  iss: 'invalid_issuer',
  aud: 'invalid_audience',
}

/** Maps whatever jose (or a key-set fetch) threw to a TokenVerificationError. */
export function toVerificationError(error: unknown): TokenVerificationError {
  if (error instanceof TokenVerificationError) return error
  if (error instanceof joseErrors.JWTExpired) return new TokenVerificationError('token_expired', 'The token expired', { claim: 'exp', cause: error })
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const code = CLAIM_CODES[error.claim] ?? 'invalid_claims'
    return new TokenVerificationError(code, `The token's ${error.claim} is not acceptable`, { claim: error.claim, cause: error })
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return new TokenVerificationError('algorithm_not_allowed', 'The token uses an algorithm that is not allowed', { cause: error })
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return new TokenVerificationError('invalid_signature', 'The token signature is invalid', { cause: error })
  if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys) {
    return new TokenVerificationError('unknown_key', 'The token was not signed by a published key', { cause: error })
  }
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) {
    return new TokenVerificationError('keys_unavailable', 'The signing keys could not be fetched', { cause: error })
  }
  if (error instanceof joseErrors.JOSEError) return new TokenVerificationError('malformed_token', 'The token is malformed', { cause: error })
  return new TokenVerificationError('keys_unavailable', 'The signing keys could not be resolved', { cause: error })
}
