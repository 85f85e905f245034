import { TokenVerificationError, type VerifierErrorCode } from '@tollgate/verifier'
import type { Config } from '../config.js'
import { isCurrentDpopNonce, makeDpopNonce } from '../domain/dpop/nonce.js'
import {
  checkDpopProof,
  confirmDpopBinding,
  DpopProofError,
  replayKeyOf,
  type DpopPresentation,
  type DpopProof,
  type DpopReplayCache,
  type PresentedAccessToken,
} from '../domain/dpop/proof.js'
import { bearerError, ProblemError } from '../errors.js'

export interface DpopCheckOptions {
  /** A resource request: the access token the proof must hash into `ath`. */
  accessToken?: string | undefined
  /** Refuse a request without a proof (a client registered as requiring DPoP, a bound token). */
  required?: boolean
}

/** tollgate's words for the verifier's binding refusals (confirmDpopBinding): each a 401 invalid_token with a DPoP challenge. */
const BINDING_REFUSALS: Partial<Record<VerifierErrorCode, string>> = {
  dpop_bound_token: 'This access token is bound to a DPoP key: send it as DPoP with a proof',
  not_dpop_bound: 'This access token is not bound to a DPoP key: send it as Bearer',
  dpop_key_mismatch: 'The DPoP proof is signed with another key than the token is bound to',
}

/**
 * DPoP at tollgate's own endpoints: the RFC 9449 §4.3 checks (src/domain/dpop), the `htu` every
 * instance expects (ISSUER and the request's path), optional server nonces, and each proof
 * accepted once across every instance through the shared replay cache.
 */
export function createDpopService(deps: {
  replay: DpopReplayCache
  config: Pick<Config, 'ISSUER' | 'DPOP_IAT_WINDOW_SECONDS' | 'DPOP_NONCE_REQUIRED'>
  /** Made with the first, each accepted (KEK rotation). */
  nonceSecrets: readonly Buffer[]
  clock: () => Date
}) {
  const nonce = () => (deps.config.DPOP_NONCE_REQUIRED ? makeDpopNonce(deps.nonceSecrets[0]!, deps.clock()) : undefined)

  function refused(error: DpopProofError): ProblemError {
    return new ProblemError(error.code, error.message, { dpopNonce: error.code === 'use_dpop_nonce' ? nonce() : undefined })
  }

  /**
   * The proof's key thumbprint and claims, or undefined when there is no proof and none is
   * required. Throws invalid_dpop_proof or use_dpop_nonce (with a fresh nonce) when it fails.
   */
  async function check(presented: DpopPresentation, options: DpopCheckOptions = {}): Promise<DpopProof | undefined> {
    if (presented.proof === undefined && !options.required) return undefined
    const now = deps.clock()
    let proof: DpopProof
    try {
      proof = await checkDpopProof({
        proof: presented.proof,
        method: presented.method,
        url: `${deps.config.ISSUER}${presented.path}`,
        now,
        iatWindowSeconds: deps.config.DPOP_IAT_WINDOW_SECONDS,
        ...(options.accessToken === undefined ? {} : { accessToken: options.accessToken }),
        ...(deps.config.DPOP_NONCE_REQUIRED ? { nonce: (value: string) => isCurrentDpopNonce(value, deps.nonceSecrets, now) } : {}),
      })
    } catch (error) {
      if (error instanceof DpopProofError) throw refused(error)
      throw error
    }
    let fresh: boolean
    try {
      fresh = await deps.replay.claim(replayKeyOf(proof), proof.expiresAt)
    } catch {
      // Fail closed: without the shared cache a replayed proof could not be told from a new one.
      throw new ProblemError('service_unavailable', 'DPoP proofs cannot be checked right now', { retryAfterSeconds: 1 })
    }
    if (!fresh) throw refused(new DpopProofError('replayed', 'The DPoP proof was already used'))
    return proof
  }

  /**
   * RFC 9449 §7 at a protected resource, by the verifier's rule (confirmDpopBinding, the one every
   * resource server applies): a token bound to a key (`cnf.jkt`) only as DPoP with a proof from
   * that key, the DPoP scheme only with a bound token. The proof is this service's check (server
   * nonces, the instances' shared replay cache). Throws invalid_token with a DPoP challenge, or the
   * proof's error.
   */
  async function confirm(presented: PresentedAccessToken, jkt: string | undefined, proof: DpopPresentation): Promise<void> {
    try {
      await confirmDpopBinding(presented, jkt, async (accessToken) => (await check(proof, { accessToken, required: true }))!)
    } catch (error) {
      const refusal = error instanceof TokenVerificationError ? BINDING_REFUSALS[error.code] : undefined
      if (refusal) throw bearerError('invalid_token', refusal, undefined, 'dpop')
      throw error
    }
  }

  return {
    /** The nonce to hand out when nonces are required (RFC 9449 §8), else undefined. */
    nonce,
    check,
    confirm,
  }
}

export type DpopService = ReturnType<typeof createDpopService>
