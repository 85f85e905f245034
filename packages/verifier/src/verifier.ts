import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import {
  checkDpopProof,
  confirmDpopBinding,
  createMemoryReplayCache,
  DPOP_ALGORITHMS,
  DpopProofError,
  replayKeyOf,
  type DpopProof,
  type DpopReplayCache,
  type PresentedAccessToken,
} from './dpop.js'
import { ACCESS_TOKEN_ALGORITHMS, ACCESS_TOKEN_TYPE, type AccessTokenAlgorithm, type AccessTokenClaims } from './claims.js'
import { toVerificationError, TokenVerificationError } from './errors.js'
import { createRemoteRevocations, type RevocationSource } from './revocations.js'

/** The algorithms a verifier may accept: every one tollgate signs with. Symmetric algorithms and `none` are never allowed. */
export const VERIFIER_ALGORITHMS = ACCESS_TOKEN_ALGORITHMS
/** One of {@link VERIFIER_ALGORITHMS}. */
export type VerifierAlgorithm = AccessTokenAlgorithm

/** The claims of a verified access token (RFC 9068), typed. */
export type VerifiedClaims = JWTPayload & AccessTokenClaims

/** DPoP (RFC 9449) at this resource server: how {@link Verifier.verifyRequest} checks proofs. */
export interface VerifierDpopOptions {
  /**
   * Where each accepted proof's `jti` is remembered until the proof expires, so it is accepted
   * once. Default: {@link createMemoryReplayCache}, which is right for one instance only: with
   * several instances behind a load balancer, give a shared one ({@link createRedisReplayCache}
   * or your own), or a proof replayed on another instance passes.
   */
  replayCache?: DpopReplayCache
  /** Seconds a proof's `iat` may lie before or after now: default 60. */
  iatWindowSeconds?: number
  /** Algorithms proofs may use, a subset of {@link DPOP_ALGORITHMS} (the default: all of them). */
  algorithms?: readonly string[]
}

/** An HTTP request as {@link Verifier.verifyRequest} needs it. */
export interface PresentedRequest {
  /** The `Authorization` header: `Bearer <token>` or (RFC 9449 §7.1) `DPoP <token>`. */
  authorization: string | undefined
  /** Every value of the `DPoP` header (none without one). */
  dpop: string | readonly string[] | undefined
  /** The request's method. */
  method: string
  /** The request's absolute URL as the client addressed it (the proof's `htu`); query and fragment are ignored. */
  url: string | URL
}

/** Options of {@link createVerifier}. Give `jwksUrl` or `keySet`, not both. */
export interface VerifierOptions {
  /** The expected `iss`, e.g. `https://auth.example.com`. */
  issuer: string
  /** The expected `aud` (the token must name at least one of these). */
  audience: string | string[]
  /** tollgate's `/.well-known/jwks.json`; fetched and cached with jose's remote key set. */
  jwksUrl?: string | URL
  /** A jose key-set function (`createLocalJWKSet(...)` or your own) instead of `jwksUrl`. */
  keySet?: JWTVerifyGetKey
  /** tollgate's `/v1/revocations` feed, polled in the background. */
  revocationsUrl?: string | URL
  /** A revocation source of your own instead of `revocationsUrl`. */
  revocations?: RevocationSource
  /** Accepted algorithms of access tokens, a subset of {@link VERIFIER_ALGORITHMS} (the default: all of them). The revocations feed is accepted in any of them: tollgate signs it with its default algorithm. */
  algorithms?: VerifierAlgorithm[]
  /** Seconds of clock skew tolerated on exp/nbf/iat: default 5, at most 60. */
  clockTolerance?: number
  /** Seconds a fetched JWKS is trusted before it is refetched: default 600. */
  jwksCacheMaxAge?: number
  /** Seconds between JWKS refetches caused by an unknown kid: default 30. */
  jwksCooldown?: number
  /** Seconds between revocation-feed polls: default 5 (bounded to 1..300). */
  revocationsInterval?: number
  /** Verified tokens remembered (until they expire) to skip repeated signature checks: default 10 000; 0 turns it off. */
  cacheSize?: number
  /** Told about background failures (revocation polls); verification continues on the last good list. */
  onError?: (error: unknown) => void
  /** The current time, for tests. */
  currentDate?: () => Date
  /** The fetch used for the JWKS and the revocations feed, for tests and proxies. */
  fetch?: typeof fetch
  /** DPoP proof checks of {@link Verifier.verifyRequest}: see {@link VerifierDpopOptions}. */
  dpop?: VerifierDpopOptions
}

/** What {@link createVerifier} returns. */
export interface Verifier {
  /**
   * Verifies an access token alone; resolves to its claims or rejects with a TokenVerificationError.
   * It does not look at how the token was presented: a DPoP-bound token (`cnf.jkt`) passes here,
   * so code that serves HTTP requests uses {@link Verifier.verifyRequest}.
   */
  verify(token: string): Promise<VerifiedClaims>
  /**
   * Verifies a request's access token as it was presented (RFC 6750 and RFC 9449 §7). `Bearer`: the
   * token must not be DPoP-bound (`dpop_bound_token`). `DPoP`: the token must be bound
   * (`not_dpop_bound`), and the `DPoP` proof must pass RFC 9449 §4.3 (`typ`, an asymmetric `alg`, a
   * public `jwk`, signature, `htm`, `htu`, `iat` window, `ath` of this token: else
   * `invalid_dpop_proof`, the DpopProofError as `cause`), be signed with the key of the token's
   * `cnf.jkt` (`dpop_key_mismatch`) and be seen for the first time (`invalid_dpop_proof`, replayed;
   * `replay_cache_unavailable` when the cache cannot answer). No usable header: `missing_token`.
   */
  verifyRequest(request: PresentedRequest): Promise<VerifiedClaims>
  /** The algorithms DPoP proofs may use here: what a `WWW-Authenticate: DPoP` challenge lists in `algs`. */
  readonly dpopAlgorithms: readonly string[]
  /** Stops background polling; call when the service shuts down. */
  close(): void
}

const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id']

const AUTHORIZATION = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*)$/i

/** The scheme and token of an `Authorization: Bearer` or `Authorization: DPoP` header, or undefined. */
export function accessTokenOf(authorization: string | undefined): PresentedAccessToken | undefined {
  const match = authorization ? AUTHORIZATION.exec(authorization) : null
  return match ? { scheme: match[1]!.toLowerCase() as 'bearer' | 'dpop', token: match[2]! } : undefined
}

function checkShape(payload: JWTPayload): VerifiedClaims {
  for (const name of ['sub', 'jti', 'client_id'] as const) {
    if (typeof payload[name] !== 'string') {
      throw new TokenVerificationError('invalid_claims', `The token's ${name} is not a string`, { claim: name })
    }
  }
  if (payload.scope !== undefined && typeof payload.scope !== 'string') {
    throw new TokenVerificationError('invalid_claims', "The token's scope is not a string", { claim: 'scope' })
  }
  if (payload.sid !== undefined && typeof payload.sid !== 'string') {
    throw new TokenVerificationError('invalid_claims', "The token's sid is not a string", { claim: 'sid' })
  }
  const cnf = payload.cnf as { jkt?: unknown } | undefined
  if (cnf !== undefined && (typeof cnf !== 'object' || cnf === null || (cnf.jkt !== undefined && typeof cnf.jkt !== 'string'))) {
    throw new TokenVerificationError('invalid_claims', "The token's cnf is not an object with a string jkt", { claim: 'cnf' })
  }
  // cnf too: the cache hands out the same object, and its jkt decides which proofs are accepted.
  const frozen = { ...payload, scope: (payload.scope as string | undefined) ?? '', ...(cnf === undefined ? {} : { cnf: Object.freeze({ ...cnf }) }) }
  return Object.freeze(frozen) as VerifiedClaims
}

/**
 * Creates an access-token verifier for services that trust tollgate. It pins the algorithms and
 * `typ: at+jwt`, checks iss, aud, exp and nbf with a small clock tolerance, and rejects tokens
 * whose session or jti the revocations feed lists.
 *
 * @example
 * const verifier = createVerifier({
 *   issuer: 'https://auth.example.com',
 *   audience: 'tollgate',
 *   jwksUrl: 'https://auth.example.com/.well-known/jwks.json',
 *   revocationsUrl: 'https://auth.example.com/v1/revocations',
 * })
 * const claims = await verifier.verify(token)
 */
export function createVerifier(options: VerifierOptions): Verifier {
  if (!options.issuer) throw new TypeError('createVerifier: issuer is required')
  if (!options.audience || (Array.isArray(options.audience) && !options.audience.length)) {
    throw new TypeError('createVerifier: audience is required')
  }
  if (Boolean(options.jwksUrl) === Boolean(options.keySet)) throw new TypeError('createVerifier: give exactly one of jwksUrl and keySet')
  if (options.revocationsUrl && options.revocations) throw new TypeError('createVerifier: give at most one of revocationsUrl and revocations')
  const algorithms = [...(options.algorithms ?? VERIFIER_ALGORITHMS)]
  for (const alg of algorithms) {
    if (!(VERIFIER_ALGORITHMS as readonly string[]).includes(alg)) throw new TypeError(`createVerifier: algorithm ${alg} is not allowed`)
  }
  const clockTolerance = Math.min(60, Math.max(0, options.clockTolerance ?? 5))
  const cacheSize = Math.max(0, options.cacheSize ?? 10_000)
  const now = options.currentDate ?? (() => new Date())

  const keySet: JWTVerifyGetKey =
    options.keySet ??
    createRemoteJWKSet(new URL(options.jwksUrl!), {
      cacheMaxAge: (options.jwksCacheMaxAge ?? 600) * 1000,
      cooldownDuration: (options.jwksCooldown ?? 30) * 1000,
      ...(options.fetch ? { [customFetch]: options.fetch } : {}),
    })
  const revocations: RevocationSource | undefined =
    options.revocations ??
    (options.revocationsUrl
      ? createRemoteRevocations({
          url: options.revocationsUrl,
          keySet,
          issuer: options.issuer,
          // The feed is signed with tollgate's default algorithm, whichever the service's tokens use.
          algorithms: [...VERIFIER_ALGORITHMS],
          clockTolerance,
          ...(options.revocationsInterval === undefined ? {} : { intervalSeconds: options.revocationsInterval }),
          ...(options.onError ? { onError: options.onError } : {}),
          ...(options.fetch ? { fetch: options.fetch } : {}),
          ...(options.currentDate ? { currentDate: options.currentDate } : {}),
        })
      : undefined)

  // Keyed by the exact token string: a hit means these very bytes were verified before.
  const verified = new Map<string, VerifiedClaims>()
  const replayCache = options.dpop?.replayCache ?? createMemoryReplayCache({ currentDate: now })
  const dpopAlgorithms = options.dpop?.algorithms ?? DPOP_ALGORITHMS
  for (const alg of dpopAlgorithms) {
    if (!(DPOP_ALGORITHMS as readonly string[]).includes(alg)) throw new TypeError(`createVerifier: DPoP algorithm ${alg} is not allowed`)
  }
  const iatWindowSeconds = options.dpop?.iatWindowSeconds ?? 60
  if (!(iatWindowSeconds > 0 && Number.isFinite(iatWindowSeconds))) throw new TypeError('createVerifier: dpop.iatWindowSeconds must be a positive number')

  async function checkRevoked(claims: VerifiedClaims) {
    if (revocations && (await revocations.isRevoked({ jti: claims.jti, sid: claims.sid }))) {
      throw new TokenVerificationError('token_revoked', 'The token has been revoked')
    }
  }

  async function verify(token: string): Promise<VerifiedClaims> {
    if (typeof token !== 'string' || token.length === 0) throw new TokenVerificationError('malformed_token', 'No token')
    const currentDate = now()
    const cached = verified.get(token)
    if (cached) {
      if (cached.exp + clockTolerance > currentDate.getTime() / 1000) {
        await checkRevoked(cached)
        return cached
      }
      verified.delete(token)
    }
    let claims: VerifiedClaims
    try {
      const { payload } = await jwtVerify(token, keySet, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance,
        requiredClaims: REQUIRED_CLAIMS,
        currentDate,
      })
      claims = checkShape(payload)
    } catch (error) {
      throw toVerificationError(error)
    }
    await checkRevoked(claims)
    if (cacheSize > 0) {
      if (verified.size >= cacheSize) verified.delete(verified.keys().next().value!)
      verified.set(token, claims)
    }
    return claims
  }

  async function checkProof(request: PresentedRequest, token: string): Promise<DpopProof> {
    try {
      return await checkDpopProof({ proof: request.dpop, method: request.method, url: request.url, now: now(), iatWindowSeconds, algorithms: dpopAlgorithms, accessToken: token })
    } catch (error) {
      if (error instanceof DpopProofError) throw new TokenVerificationError('invalid_dpop_proof', error.message, { cause: error })
      throw error
    }
  }

  async function claim(proof: DpopProof): Promise<void> {
    let fresh: boolean
    try {
      fresh = await replayCache.claim(replayKeyOf(proof), proof.expiresAt)
    } catch (error) {
      // Fail closed: without the cache a replayed proof could not be told from a new one.
      throw new TokenVerificationError('replay_cache_unavailable', 'The DPoP replay cache did not answer', { cause: error })
    }
    if (!fresh) throw new TokenVerificationError('invalid_dpop_proof', 'The DPoP proof was already used', { cause: new DpopProofError('replayed', 'The DPoP proof was already used') })
  }

  return {
    verify,
    dpopAlgorithms,
    async verifyRequest(request) {
      const presented = accessTokenOf(request.authorization)
      if (!presented) throw new TokenVerificationError('missing_token', 'An access token is required (Authorization: Bearer or DPoP)')
      const claims = await verify(presented.token)
      const proof = await confirmDpopBinding(presented, claims.cnf?.jkt, (token) => checkProof(request, token))
      // Claimed last: a proof refused for any other reason (another key's) does not use up its jti.
      if (proof) await claim(proof)
      return claims
    },
    close() {
      revocations?.close?.()
      verified.clear()
    },
  }
}
