import type { Config } from '../../../config.js'
import type { KeyProvider } from '../../../domain/keys/key-provider.js'
import type { Grant } from './index.js'
import { profileClaims } from '../../../domain/oidc/claims.js'
import { buildIdTokenClaims, signIdToken } from '../../../domain/oidc/id-token.js'
import { parseScope } from '../../../domain/tokens/access-token.js'
import { OAuthError } from '../../../errors.js'
import type { AccountService } from '../../accounts.js'
import type { Clock } from '../../access-tokens.js'
import type { SessionService } from '../../sessions/index.js'

/**
 * RFC 6749 §4.1.3 with PKCE, and OIDC Core §3.1.3: a code becomes an access token (the client's
 * audience), a refresh token when `offline_access` was granted, and an ID token when `openid` was.
 * Public clients redeem with client_id alone; PKCE is what proves them.
 */
export function createAuthorizationCodeGrant(deps: {
  sessions: Pick<SessionService, 'startFromCode'>
  accounts: Pick<AccountService, 'profile'>
  keys: Pick<KeyProvider, 'signer' | 'algorithms'>
  clock: Clock
  config: Pick<Config, 'ISSUER' | 'ACCESS_TOKEN_TTL_SECONDS'>
}): Grant {
  return {
    allowsPublicClients: true,
    async handle({ client, params, ip, userAgent, dpopJkt }) {
      if (!client.grantTypes.includes('authorization_code')) throw new OAuthError('unauthorized_client', 'This client may not use the authorization_code grant')
      if (!params.code) throw new OAuthError('invalid_request', 'code is required')
      if (!params.code_verifier) throw new OAuthError('invalid_request', 'code_verifier is required (PKCE)')
      const { grant, code, user: redeemedBy } = await deps.sessions.startFromCode({
        code: params.code,
        clientId: client.clientId,
        redirectUri: params.redirect_uri,
        codeVerifier: params.code_verifier,
        audience: client.audience,
        dpopJkt,
        bindRefreshToken: client.public,
        ip,
        userAgent,
      })
      const scopes = parseScope(code.scope)
      const response = {
        access_token: grant.accessToken,
        token_type: grant.tokenType,
        expires_in: grant.expiresIn,
        scope: grant.scope,
        ...(scopes.includes('offline_access') ? { refresh_token: grant.refreshToken } : {}),
      }
      if (!scopes.includes('openid')) return response
      // The redemption's own read of the account when it made one, else a read of it.
      const user = redeemedBy ?? (await deps.accounts.profile(code.userId))
      const claims = buildIdTokenClaims({
        issuer: deps.config.ISSUER,
        subject: code.userId,
        clientId: client.clientId,
        signInSessionId: code.signInSessionId,
        authTime: code.authTime,
        nonce: code.nonce,
        profile: profileClaims(user, scopes),
        now: deps.clock(),
        ttlSeconds: deps.config.ACCESS_TOKEN_TTL_SECONDS,
      })
      return { ...response, id_token: await signIdToken(deps.keys, claims, client.idTokenSigningAlg) }
    },
  }
}
