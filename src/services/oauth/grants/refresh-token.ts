import type { Grant } from './index.js'
import { OAuthError } from '../../../errors.js'
import type { SessionService } from '../../sessions/index.js'

/**
 * RFC 6749 §6, on the same rotation code as /v1/auth/refresh (reuse detection, grace window,
 * session binding): the session service does the work, this grant only speaks OAuth. The
 * session service checks that the token belongs to the client that presents it.
 */
export function createRefreshTokenGrant(deps: { sessions: Pick<SessionService, 'refresh'> }): Grant {
  return {
    allowsPublicClients: true,
    async handle({ client, params, ip, userAgent, dpopJkt }) {
      if (!client.public && !client.grantTypes.includes('refresh_token')) {
        throw new OAuthError('unauthorized_client', 'This client may not use the refresh_token grant')
      }
      if (!params.refresh_token) throw new OAuthError('invalid_request', 'refresh_token is required')
      // A refused token is the catalogue's invalid_grant, which the OAuth endpoints render as RFC 6749 invalid_grant.
      const refreshed = await deps.sessions.refresh({ refreshToken: params.refresh_token, clientId: client.clientId, ip, userAgent, dpopJkt })
      return {
        access_token: refreshed.accessToken,
        token_type: refreshed.tokenType,
        expires_in: refreshed.expiresIn,
        refresh_token: refreshed.refreshToken,
        scope: refreshed.scope,
      }
    },
  }
}
