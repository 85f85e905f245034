/**
 * What tollgate signs and every verifier checks, in one home: the server imports it from here, so
 * the two cannot drift apart, and the package stays installable without the server.
 */

/** The `typ` header every access token carries (RFC 9068). */
export const ACCESS_TOKEN_TYPE = 'at+jwt'

/** Every algorithm tollgate may sign access tokens with. Symmetric algorithms and `none` are never among them. */
export const ACCESS_TOKEN_ALGORITHMS = ['ES256', 'RS256', 'EdDSA'] as const
/** One of {@link ACCESS_TOKEN_ALGORITHMS}. */
export type AccessTokenAlgorithm = (typeof ACCESS_TOKEN_ALGORITHMS)[number]

/** The claims of a tollgate access token (RFC 9068 profile). */
export interface AccessTokenClaims {
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
  /** RFC 9449 §6.1: the thumbprint of the DPoP key a sender-constrained token is bound to. */
  cnf?: { jkt?: string }
}
