import type { Static } from 'typebox'
import type { AuthenticatedClient, GrantType, TokenResponse } from '../../../domain/oauth/grants.js'
import type { TokenRequestSchema } from '../../../routes/oauth/schemas.js'
import { createAuthorizationCodeGrant } from './authorization-code.js'
import { createClientCredentialsGrant } from './client-credentials.js'
import { createRefreshTokenGrant } from './refresh-token.js'

/** The form parameters of POST /oauth/token that any grant may read: what the route's schema accepts. */
export type TokenRequestParameters = Static<typeof TokenRequestSchema>

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

type GrantDependencies = Parameters<typeof createAuthorizationCodeGrant>[0] &
  Parameters<typeof createClientCredentialsGrant>[0] &
  Parameters<typeof createRefreshTokenGrant>[0]

/** The grant registry's modules: one per entry of GRANT_TYPES (a listed grant without one does not compile). */
export function createGrants(deps: GrantDependencies): Record<GrantType, Grant> {
  return {
    authorization_code: createAuthorizationCodeGrant(deps),
    refresh_token: createRefreshTokenGrant(deps),
    client_credentials: createClientCredentialsGrant(deps),
  }
}
