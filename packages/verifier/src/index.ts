/**
 * @tollgate/verifier: verify tollgate access tokens in any Node.js service, trusting tollgate only
 * through its JWKS and its signed revocations feed. The Fastify plugin is `@tollgate/verifier/fastify`.
 *
 * @packageDocumentation
 */
export { ACCESS_TOKEN_ALGORITHMS, ACCESS_TOKEN_TYPE, type AccessTokenAlgorithm, type AccessTokenClaims } from './claims.js'
export {
  accessTokenOf,
  createVerifier,
  VERIFIER_ALGORITHMS,
  type PresentedRequest,
  type VerifiedClaims,
  type Verifier,
  type VerifierAlgorithm,
  type VerifierDpopOptions,
  type VerifierOptions,
} from './verifier.js'
export { TokenVerificationError, VERIFIER_ERROR_CODES, type VerifierErrorCode } from './errors.js'
export {
  createRemoteRevocations,
  REVOCATIONS_TYPE,
  type RemoteRevocationsOptions,
  type RevocationList,
  type RevocationSource,
} from './revocations.js'
export {
  accessTokenHash,
  checkDpopProof,
  confirmDpopBinding,
  createMemoryReplayCache,
  createRedisReplayCache,
  DPOP_ALGORITHMS,
  DPOP_PROOF_TYPE,
  DpopProofError,
  replayKeyOf,
  type DpopErrorCode,
  type DpopFailure,
  type DpopProof,
  type DpopProofCheck,
  type DpopReplayCache,
  type PresentedAccessToken,
  type RedisSetNx,
} from './dpop.js'
