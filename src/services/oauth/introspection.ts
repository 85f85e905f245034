import type { ClientCredentialParameters, ClientCredentials } from '../../domain/oauth/client-auth.js'
import { isMeantFor, type IntrospectingClient } from '../../domain/oauth/introspection.js'
import type { RevocationService } from '../revocations.js'
import type { SessionService } from '../sessions/index.js'
import { looksLikeJwt, type AccessTokenCheck } from './access-token-check.js'
import type { OAuthClientService } from './clients.js'

export interface IntrospectionRequest {
  /** Read from the Authorization header and the body by the HTTP layer. */
  credentials: ClientCredentials
  params: ClientCredentialParameters & { token: string; token_type_hint?: string | undefined }
}

/** RFC 7662 §2.2. An inactive token says nothing more than `active: false`. */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true
      token_type: 'Bearer' | 'DPoP' | 'refresh_token'
      sub: string
      client_id: string
      scope: string
      exp: number
      iat: number
      iss: string
      aud?: string
      jti?: string
      sid?: string
      cnf?: { jkt: string }
    }

const INACTIVE = { active: false } as const

/**
 * POST /oauth/introspect for resource servers (confidential clients). Starts from inactive and
 * returns early at the first reason a token is not good now, or not the asker's business: a bad
 * signature, issuer or type, expiry, a token not meant for the asking client (isMeantFor), a
 * revoked jti, a revoked session, or a deleted client.
 */
export function createOAuthIntrospectionService(deps: {
  clients: Pick<OAuthClientService, 'authenticate' | 'isActive'>
  checkAccessToken: AccessTokenCheck
  revocations: Pick<RevocationService, 'isAccessTokenRevoked' | 'isSessionRevoked'>
  sessions: Pick<SessionService, 'introspectRefreshToken'>
}) {
  async function introspectAccessToken(token: string, asker: IntrospectingClient): Promise<IntrospectionResponse> {
    const claims = await deps.checkAccessToken(token)
    if (!claims || !isMeantFor(claims, asker)) return INACTIVE
    if (await deps.revocations.isAccessTokenRevoked(claims.jti)) return INACTIVE
    if (claims.sid !== undefined && (await deps.revocations.isSessionRevoked(claims.sid))) return INACTIVE
    if (!(await deps.clients.isActive(claims.client_id))) return INACTIVE
    return {
      active: true,
      // RFC 9449 §6.2: a bound token says so, with its key's thumbprint.
      token_type: claims.cnf?.jkt ? 'DPoP' : 'Bearer',
      sub: claims.sub,
      client_id: claims.client_id,
      scope: claims.scope,
      exp: claims.exp,
      iat: claims.iat,
      iss: claims.iss,
      aud: claims.aud,
      jti: claims.jti,
      ...(claims.sid !== undefined ? { sid: claims.sid } : {}),
      ...(typeof claims.cnf?.jkt === 'string' ? { cnf: { jkt: claims.cnf.jkt } } : {}),
    }
  }

  async function introspectRefreshToken(token: string, asker: IntrospectingClient): Promise<IntrospectionResponse> {
    const info = await deps.sessions.introspectRefreshToken(token)
    if (!info || !isMeantFor(info, asker)) return INACTIVE
    return { active: true, token_type: 'refresh_token', ...info }
  }

  return {
    async introspect(request: IntrospectionRequest): Promise<IntrospectionResponse> {
      const asker = await deps.clients.authenticate(request.credentials, { allowPublic: false })
      const { token } = request.params
      return looksLikeJwt(token) ? introspectAccessToken(token, asker) : introspectRefreshToken(token, asker)
    },
  }
}

export type OAuthIntrospectionService = ReturnType<typeof createOAuthIntrospectionService>
