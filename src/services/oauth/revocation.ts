import type { ClientCredentialParameters, ClientCredentials } from '../../domain/oauth/client-auth.js'
import type { RevocationService } from '../revocations.js'
import type { SessionService } from '../sessions/index.js'
import { looksLikeJwt, type AccessTokenCheck } from './access-token-check.js'
import type { OAuthClientService } from './clients.js'

export interface RevocationRequest {
  /** Read from the Authorization header and the body by the HTTP layer. */
  credentials: ClientCredentials
  params: ClientCredentialParameters & { token: string; token_type_hint?: string | undefined }
  ip: string | null
  userAgent: string | null
}

/**
 * POST /oauth/revoke (RFC 7009). Only a failed client authentication is an error: an unknown,
 * invalid, expired or another client's token is answered like a revoked one (§2.2), so the
 * endpoint tells nothing about tokens the caller does not own.
 */
export function createOAuthRevocationService(deps: {
  clients: Pick<OAuthClientService, 'authenticate'>
  checkAccessToken: AccessTokenCheck
  revocations: Pick<RevocationService, 'revokeAccessToken'>
  sessions: Pick<SessionService, 'introspectRefreshToken' | 'revokeByRefreshToken'>
}) {
  return {
    async revoke(request: RevocationRequest): Promise<void> {
      const client = await deps.clients.authenticate(request.credentials, { allowPublic: true })
      const { token } = request.params
      if (looksLikeJwt(token)) {
        const claims = await deps.checkAccessToken(token)
        if (!claims || claims.client_id !== client.clientId) return
        await deps.revocations.revokeAccessToken({ jti: claims.jti, sessionId: claims.sid, expiresAt: new Date(claims.exp * 1000) })
        return
      }
      const info = await deps.sessions.introspectRefreshToken(token)
      if (!info || info.client_id !== client.clientId) return
      await deps.sessions.revokeByRefreshToken(token, 'oauth_revoke', { ip: request.ip, userAgent: request.userAgent })
    },
  }
}

export type OAuthRevocationService = ReturnType<typeof createOAuthRevocationService>
