import type { Grant } from './index.js'
import { grantedScopes } from '../../../domain/oauth/scope.js'
import { OAuthError } from '../../../errors.js'
import type { AccessTokenIssuer } from '../../access-tokens.js'

/**
 * RFC 6749 §4.4: a confidential client gets an access token for itself: `sub` is its client id,
 * there is no session (`sid`) and no refresh token.
 */
export function createClientCredentialsGrant(deps: { accessTokens: Pick<AccessTokenIssuer, 'issue'> }): Grant {
  return {
    allowsPublicClients: false,
    async handle({ client, params, dpopJkt }) {
      if (!client.grantTypes.includes('client_credentials')) {
        throw new OAuthError('unauthorized_client', 'This client may not use the client_credentials grant')
      }
      const scopes = grantedScopes(params.scope, client.scopes)
      const issued = await deps.accessTokens.issue({
        subject: client.clientId,
        clientId: client.clientId,
        scopes,
        audience: client.audience ?? undefined,
        jkt: dpopJkt,
      })
      return {
        access_token: issued.token,
        token_type: dpopJkt ? 'DPoP' : 'Bearer',
        expires_in: issued.expiresIn,
        scope: issued.claims.scope,
      }
    },
  }
}
