import { errors as joseErrors, jwtVerify } from 'jose'
import type { Config } from '../../config.js'
import { SIGNING_ALGORITHMS, type KeyProvider } from '../../domain/keys/key-provider.js'
import { ACCESS_TOKEN_TYPE, type AccessTokenClaims } from '../../domain/tokens/access-token.js'

/** Verifies one of our access tokens for introspection or revocation: its claims, or null. */
export type AccessTokenCheck = (token: string) => Promise<AccessTokenClaims | null>

/**
 * Signature, `typ`, `iss` and `exp` against tollgate's own published keys, with no audience pinned:
 * introspection and revocation serve tokens of every audience (a client's default audience
 * included), and the caller decides what the audience means. No clock tolerance: a token is
 * active until its `exp`.
 */
export function createAccessTokenCheck(deps: { keys: Pick<KeyProvider, 'verificationKey'>; config: Pick<Config, 'ISSUER'> }): AccessTokenCheck {
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, (header, jws) => deps.keys.verificationKey(header, jws), {
        issuer: deps.config.ISSUER,
        algorithms: [...SIGNING_ALGORITHMS],
        typ: ACCESS_TOKEN_TYPE,
        requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id'],
      })
      return payload as unknown as AccessTokenClaims
    } catch (error) {
      // Only a bad token is "not ours"; a failure to read the keys must not pass for one.
      if (error instanceof joseErrors.JOSEError || error instanceof TypeError) return null
      throw error
    }
  }
}

/** A JWS compact serialisation has three dot-separated parts; refresh tokens are opaque base64url. */
export function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)
}
