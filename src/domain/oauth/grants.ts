/**
 * The grant registry: every grant POST /oauth/token serves (`password` is deliberately absent), in
 * the order the discovery document lists them. What a client may be registered for, the token
 * endpoint's dispatch (one module per grant in services/oauth/grants/, keyed by this type) and
 * `grant_types_supported` all read this one list.
 */
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const
export type GrantType = (typeof GRANT_TYPES)[number]

export function isGrantType(value: string): value is GrantType {
  return (GRANT_TYPES as readonly string[]).includes(value)
}

/** The error_description of `unsupported_grant_type`: the grants in alphabetical order. */
export const UNSUPPORTED_GRANT_TYPE_DESCRIPTION = `Supported grant types: ${[...GRANT_TYPES].sort().join(', ')}`

/** A client as the token endpoint knows it once it has authenticated or identified itself. */
export interface AuthenticatedClient {
  clientId: string
  /** A public client (the first-party app, or one registered as public) identified by client_id alone. */
  public: boolean
  grantTypes: readonly string[]
  scopes: readonly string[]
  audience: string | null
  /** RFC 9449 §5.2 dpop_bound_access_tokens: every token request must carry a DPoP proof. */
  dpopBoundAccessTokens: boolean
  /** OIDC Registration id_token_signed_response_alg; null: the default. */
  idTokenSigningAlg: string | null
}

/** RFC 6749 §5.1 successful response. */
export interface TokenResponse {
  access_token: string
  /** `DPoP` when the request carried a DPoP proof and the access token is bound to its key. */
  token_type: 'Bearer' | 'DPoP'
  expires_in: number
  scope: string
  refresh_token?: string
  /** authorization_code with `openid`: the OpenID Connect ID token. */
  id_token?: string
}
