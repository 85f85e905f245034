/** The grant types a client may be allowed (oauth_clients.grant_types). */
export const CLIENT_GRANT_TYPES = ['authorization_code', 'client_credentials', 'refresh_token'] as const
export type ClientGrantType = (typeof CLIENT_GRANT_TYPES)[number]

export function isClientGrantType(value: string): value is ClientGrantType {
  return (CLIENT_GRANT_TYPES as readonly string[]).includes(value)
}

/** The form parameters of POST /oauth/token that any grant may read. */
export interface TokenRequestParameters {
  grant_type?: string | undefined
  scope?: string | undefined
  refresh_token?: string | undefined
  code?: string | undefined
  redirect_uri?: string | undefined
  code_verifier?: string | undefined
  client_id?: string | undefined
  client_secret?: string | undefined
}

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

export interface GrantContext {
  client: AuthenticatedClient
  params: TokenRequestParameters
  ip: string | null
  userAgent: string | null
  /** The thumbprint of the key of the request's valid DPoP proof, when it carried one. */
  dpopJkt: string | undefined
}

/**
 * One module per grant, all with this shape (as in node-oidc-provider's lib/actions/grants):
 * whether a public client may use it, and the handler that turns a request into tokens.
 */
export interface Grant {
  allowsPublicClients: boolean
  handle(context: GrantContext): Promise<TokenResponse>
}
