import type { ClientCredentials } from '../../domain/oauth/client-auth.js'
import { isGrantType, UNSUPPORTED_GRANT_TYPE_DESCRIPTION, type GrantType, type TokenResponse } from '../../domain/oauth/grants.js'
import { OAuthError, oauthErrorOf } from '../../errors.js'
import type { DpopPresentation } from '../../domain/dpop/proof.js'
import type { DpopService } from '../dpop.js'
import type { OAuthClientService } from './clients.js'
import type { Grant, TokenRequestParameters } from './grants/index.js'

export interface TokenRequest {
  /** Read from the Authorization header and the body by the HTTP layer. */
  credentials: ClientCredentials
  params: TokenRequestParameters
  /** The request's DPoP header, read by the HTTP layer. */
  dpop: DpopPresentation
  ip: string | null
  userAgent: string | null
}

export interface TokenMetrics {
  issued(grantType: GrantType): void
  refused(grantType: string, error: string): void
}

/** POST /oauth/token: picks the grant, authenticates the client the way that grant requires, runs it. */
export function createOAuthTokenService(deps: {
  clients: Pick<OAuthClientService, 'authenticate'>
  grants: Record<GrantType, Grant>
  dpop: Pick<DpopService, 'check'>
  metrics?: TokenMetrics
}) {
  return {
    async exchange(request: TokenRequest): Promise<TokenResponse> {
      const grantType = request.params.grant_type
      try {
        if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required')
        if (!isGrantType(grantType)) throw new OAuthError('unsupported_grant_type', UNSUPPORTED_GRANT_TYPE_DESCRIPTION)
        const grant = deps.grants[grantType]
        const client = await deps.clients.authenticate(request.credentials, { allowPublic: grant.allowsPublicClients })
        // RFC 9449 §5: a proof is checked once the client is known (it may be registered as requiring one).
        const proof = await deps.dpop.check(request.dpop, { required: client.dpopBoundAccessTokens })
        const response = await grant.handle({ client, params: request.params, ip: request.ip, userAgent: request.userAgent, dpopJkt: proof?.jkt })
        deps.metrics?.issued(grantType)
        return response
      } catch (error) {
        const refused = oauthErrorOf(error)
        if (refused) deps.metrics?.refused(grantType && isGrantType(grantType) ? grantType : 'other', refused)
        throw error
      }
    },
  }
}

export type OAuthTokenService = ReturnType<typeof createOAuthTokenService>
