import { createLocalJWKSet, errors as joseErrors, jwtVerify } from 'jose'
import type { Config } from '../config.js'
import type { KeyProvider } from '../domain/keys/key-provider.js'
import { SIGNING_ALGORITHMS } from '../domain/keys/key-provider.js'
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

/** Issues access tokens through the key provider; the only place their claims are put together. */
export function createAccessTokenIssuer(deps: {
  keys: KeyProvider
  config: Pick<Config, 'ISSUER' | 'ACCESS_TOKEN_AUDIENCE' | 'ACCESS_TOKEN_TTL_SECONDS'>
  clock?: Clock
}) {
  const clock = deps.clock ?? (() => new Date())
  return {
    async issue(request: AccessTokenRequest): Promise<IssuedAccessToken> {
      const claims = buildAccessTokenClaims(request, {
        issuer: deps.config.ISSUER,
        audience: deps.config.ACCESS_TOKEN_AUDIENCE,
        ttlSeconds: deps.config.ACCESS_TOKEN_TTL_SECONDS,
        now: clock(),
      })
      const token = await deps.keys.sign({ ...claims }, { typ: ACCESS_TOKEN_TYPE })
      return { token, claims, expiresIn: deps.config.ACCESS_TOKEN_TTL_SECONDS }
    },
  }
}

export type AccessTokenIssuer = ReturnType<typeof createAccessTokenIssuer>

/** Verifies a bearer token and returns its claims, or throws a 401 invalid_token problem. */
export interface AccessTokenVerifier {
  verify(token: string): Promise<AccessTokenClaims>
}

/**
 * Local verification against the provider's own JWKS. The keys issue replaces this with the
 * shipped verifier (tollgate/verifier) fed from the same key set, plus the revocations feed.
 */
export function createLocalAccessTokenVerifier(deps: {
  keys: KeyProvider
  config: Pick<Config, 'ISSUER' | 'ACCESS_TOKEN_AUDIENCE'>
}): AccessTokenVerifier {
  return {
    async verify(token) {
      try {
        const keySet = createLocalJWKSet(await deps.keys.jwks())
        const { payload } = await jwtVerify(token, keySet, {
          issuer: deps.config.ISSUER,
          audience: deps.config.ACCESS_TOKEN_AUDIENCE,
          algorithms: [...SIGNING_ALGORITHMS],
          typ: ACCESS_TOKEN_TYPE,
          clockTolerance: 5,
        })
        return payload as unknown as AccessTokenClaims
      } catch (error) {
        if (error instanceof joseErrors.JOSEError || error instanceof TypeError) {
          throw bearerError('invalid_token', error instanceof joseErrors.JWTExpired ? 'The access token expired' : 'The access token is invalid')
        }
        throw error
      }
    },
  }
}
