/**
 * DPoP proofs (RFC 9449 §4.3). The checks live in @tollgate/verifier, the one home tollgate and
 * every resource server share, so a proof tollgate accepts is one the verifier accepts; this module
 * adds what only the authorization server needs.
 */
export {
  accessTokenHash,
  checkDpopProof,
  confirmDpopBinding,
  createMemoryReplayCache,
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
} from '@tollgate/verifier'

/** The `DPoP` header as the HTTP layer reads it, with the request it came with. */
export interface DpopPresentation {
  /** Every value of the DPoP header (none when absent). */
  proof: string | readonly string[] | undefined
  method: string
  /** The path of the request (no query): the expected `htu` is ISSUER followed by it. */
  path: string
}
