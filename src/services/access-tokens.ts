import { createVerifier, TokenVerificationError, type RevocationSource, type VerifierErrorCode } from '@tollgate/verifier'
import type { Config } from '../config.js'
import { SIGNING_ALGORITHMS, type KeyProvider } from '../domain/keys/key-provider.js'
import {
  ACCESS_TOKEN_TYPE,
  buildAccessTokenClaims,
  type AccessTokenClaims,
  type AccessTokenRequest,
} from '../domain/tokens/access-token.js'
import { bearerError } from '../errors.js'

export interface IssuedAccessToken {
  token: string
  claims: AccessTokenClaims
  expiresIn: number
}

export type Clock = () => Date

/**
 * Issues access tokens through the key provider; the only place their claims are put together and
 * their algorithm chosen: the client's registered one, else the audience's (SIGNING_ALG_BY_AUDIENCE),
 * else the default. A choice that cannot sign now (taken out of SIGNING_ALGORITHMS, or still being
 * published) falls back to the default rather than refusing the token.
 */
export function createAccessTokenIssuer(deps: {
  keys: Pick<KeyProvider, 'signer' | 'algorithms'>
  config: Pick<Config, 'ISSUER' | 'ACCESS_TOKEN_AUDIENCE' | 'ACCESS_TOKEN_TTL_SECONDS' | 'SIGNING_ALG_BY_AUDIENCE'>
  /** The algorithm the client is registered for, null for none (the first-party client, say). */
  clientSigningAlg?: (clientId: string) => Promise<string | null>
  clock?: Clock
}) {
  const clock = deps.clock ?? (() => new Date())
  const byAudience = new Map(deps.config.SIGNING_ALG_BY_AUDIENCE.map((pair) => pair.split('=') as [string, string]))
  return {
    async issue(request: AccessTokenRequest): Promise<IssuedAccessToken> {
      const claims = buildAccessTokenClaims(request, {
        issuer: deps.config.ISSUER,
        audience: deps.config.ACCESS_TOKEN_AUDIENCE,
        ttlSeconds: deps.config.ACCESS_TOKEN_TTL_SECONDS,
        now: clock(),
      })
      const preferred = (await deps.clientSigningAlg?.(request.clientId)) ?? byAudience.get(claims.aud)
      const alg = deps.keys.algorithms().find((candidate) => candidate === preferred)
      const token = await deps.keys.signer(alg).sign({ ...claims }, { typ: ACCESS_TOKEN_TYPE })
      return { token, claims, expiresIn: deps.config.ACCESS_TOKEN_TTL_SECONDS }
    },
  }
}

export type AccessTokenIssuer = ReturnType<typeof createAccessTokenIssuer>

/** Verifies a bearer token and returns its claims, or throws a 401 invalid_token problem. */
export interface AccessTokenVerifier {
  verify(token: string): Promise<AccessTokenClaims>
}

const FAILURE_DETAILS: Partial<Record<VerifierErrorCode, string>> = {
  token_expired: 'The access token expired',
  token_revoked: 'The access token was revoked',
}

/**
 * tollgate's own routes verify with the very verifier other services import (tollgate/verifier),
 * fed from the local key set and a local revocation source: no HTTP round trip.
 */
export function createLocalAccessTokenVerifier(deps: {
  keys: KeyProvider
  config: Pick<Config, 'ISSUER' | 'ACCESS_TOKEN_AUDIENCE'>
  revocations?: RevocationSource
}): AccessTokenVerifier & { close(): void } {
  const verifier = createVerifier({
    issuer: deps.config.ISSUER,
    audience: deps.config.ACCESS_TOKEN_AUDIENCE,
    keySet: (protectedHeader, token) => deps.keys.verificationKey(protectedHeader, token),
    algorithms: [...SIGNING_ALGORITHMS],
    ...(deps.revocations ? { revocations: deps.revocations } : {}),
  })
  return {
    async verify(token) {
      try {
        return (await verifier.verify(token)) as AccessTokenClaims
      } catch (error) {
        if (error instanceof TokenVerificationError) {
          throw bearerError('invalid_token', FAILURE_DETAILS[error.code] ?? 'The access token is invalid')
        }
        throw error
      }
    },
    close: () => verifier.close(),
  }
}
