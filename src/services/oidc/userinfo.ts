import type { DpopPresentation, PresentedAccessToken } from '../../domain/dpop/proof.js'
import { profileClaims, type ProfileClaims } from '../../domain/oidc/claims.js'
import { parseScope } from '../../domain/tokens/access-token.js'
import { bearerError } from '../../errors.js'
import type { AccountStore } from '../../repositories/account-store.js'
import type { DpopService } from '../dpop.js'
import type { AccessTokenCheck } from '../oauth/access-token-check.js'
import type { RevocationService } from '../revocations.js'
import type { SessionService } from '../sessions/index.js'

export type UserInfo = { sub: string } & ProfileClaims

/**
 * OIDC Core §5.3: the claims about the user that the access token's scopes allow. The token may be
 * for any audience (a client's own), so it is checked like introspection checks one: signature,
 * issuer, type and expiry, then its revocation and its session's; a token without `openid` is 403
 * insufficient_scope, one of no user (client_credentials) or of an ended session 401 invalid_token.
 * A token bound to a DPoP key is accepted only as DPoP with a proof from that key, as at every
 * protected route.
 */
export function createUserInfoService(deps: {
  checkAccessToken: AccessTokenCheck
  revocations: Pick<RevocationService, 'isAccessTokenRevoked' | 'isSessionRevoked'>
  sessions: Pick<SessionService, 'isSessionActive'>
  store: Pick<AccountStore, 'users'>
  dpop: Pick<DpopService, 'confirm'>
}) {
  const invalid = () => bearerError('invalid_token', 'The access token is invalid, expired or revoked')
  return {
    async userinfo(presented: PresentedAccessToken | undefined, proof: DpopPresentation): Promise<UserInfo> {
      if (!presented) throw bearerError('invalid_token', 'A bearer access token is required')
      const claims = await deps.checkAccessToken(presented.token)
      if (!claims?.sid) throw invalid()
      await deps.dpop.confirm(presented, claims.cnf?.jkt, proof)
      if ((await deps.revocations.isAccessTokenRevoked(claims.jti)) || (await deps.revocations.isSessionRevoked(claims.sid))) throw invalid()
      const scopes = parseScope(claims.scope)
      if (!scopes.includes('openid')) throw bearerError('insufficient_scope', 'userinfo needs a token with the openid scope', 'openid')
      if (!(await deps.sessions.isSessionActive(claims.sid))) throw invalid()
      const user = await deps.store.users.findById(claims.sub)
      if (!user || user.disabledAt !== null) throw invalid()
      return { sub: user.id, ...profileClaims(user, scopes) }
    },
  }
}

export type UserInfoService = ReturnType<typeof createUserInfoService>
