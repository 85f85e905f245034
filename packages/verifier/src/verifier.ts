import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import { toVerificationError, TokenVerificationError } from './errors.js'
import { createRemoteRevocations, type RevocationSource } from './revocations.js'

/** The algorithms a verifier may accept. Symmetric algorithms and `none` are never allowed. */
export const VERIFIER_ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const
/** One of {@link VERIFIER_ALGORITHMS}. */
export type VerifierAlgorithm = (typeof VERIFIER_ALGORITHMS)[number]

/** The `typ` header every access token must carry (RFC 9068). */
export const ACCESS_TOKEN_TYPE = 'at+jwt'

/** The claims of a verified access token (RFC 9068), typed. */
export interface VerifiedClaims extends JWTPayload {
  iss: string
  /** The user id, or the client id for client_credentials tokens. */
  sub: string
  aud: string | string[]
  exp: number
  iat: number
  jti: string
  client_id: string
  /** Space-separated scopes ('' when the token has none). */
  scope: string
  /** The session of a user token; absent for client_credentials tokens. */
  sid?: string
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
}

/** What {@link createVerifier} returns. */
export interface Verifier {
  /** Verifies an access token; resolves to its claims or rejects with a TokenVerificationError. */
  verify(token: string): Promise<VerifiedClaims>
  /** Stops background polling; call when the service shuts down. */
  close(): void
}

const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id']

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
  return Object.freeze({ ...payload, scope: (payload.scope as string | undefined) ?? '' }) as VerifiedClaims
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

  async function checkRevoked(claims: VerifiedClaims) {
    if (revocations && (await revocations.isRevoked({ jti: claims.jti, sid: claims.sid }))) {
      throw new TokenVerificationError('token_revoked', 'The token has been revoked')
    }
  }

  return {
    async verify(token) {
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
    },
    close() {
      revocations?.close?.()
      verified.clear()
    },
  }
}
