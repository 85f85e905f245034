import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { createOAuthClientsRepository } from '../../repositories/oauth-clients.js'
import { createAccessTokenCheck } from '../../services/oauth/access-token-check.js'
import { createOAuthClientService, type OAuthClientService } from '../../services/oauth/clients.js'
import { createOidcPageKeys, type OidcPageKeys } from '../../http/pages/page-keys.js'
import { createGrants } from '../../services/oauth/grants/index.js'
import { createAuthorizationService, type AuthorizationService } from '../../services/oidc/authorization.js'
import { createLogoutService, type LogoutService } from '../../services/oidc/logout.js'
import { createUserInfoService, type UserInfoService } from '../../services/oidc/userinfo.js'
import { createOAuthIntrospectionService, type OAuthIntrospectionService } from '../../services/oauth/introspection.js'
import { createOAuthRevocationService, type OAuthRevocationService } from '../../services/oauth/revocation.js'
import { createOAuthTokenService, type OAuthTokenService } from '../../services/oauth/token.js'
import { wallClock } from './context.js'

declare module 'fastify' {
  interface FastifyInstance {
    oauth: {
      clients: OAuthClientService
      token: OAuthTokenService
      revocation: OAuthRevocationService
      introspection: OAuthIntrospectionService
      /** The authorization endpoint and its login and consent pages. */
      authorization: AuthorizationService
      /** Keys of the sign-in cookie and of the pages' state. */
      pageKeys: OidcPageKeys
      userinfo: UserInfoService
      /** RP-initiated logout. */
      logout: LogoutService
    }
  }
}

/** OAuth 2.0: clients, the token endpoint's grants, revocation and introspection. */
export default fp(
  async (app) => {
    const { config } = app
    const clients = createOAuthClientService({
      clients: createOAuthClientsRepository(app.db.prisma),
      secretKeys: app.secrets('client-secret-hmac'),
      firstPartyClientId: config.FIRST_PARTY_CLIENT_ID,
      clock: () => app.clock(),
      cacheSeconds: config.OAUTH_CLIENT_CACHE_SECONDS,
      signingAlgorithms: config.SIGNING_ALGORITHMS,
    })
    const checkAccessToken = createAccessTokenCheck({ keys: app.keys, config })

    const issued = new Counter({
      name: 'oauth_tokens_issued_total',
      help: 'Tokens issued by POST /oauth/token, by grant type',
      labelNames: ['grant_type'] as const,
      registers: [app.metrics.registry],
    })
    const refused = new Counter({
      name: 'oauth_token_errors_total',
      help: 'Refused POST /oauth/token requests, by grant type and RFC 6749 error code',
      labelNames: ['grant_type', 'error'] as const,
      registers: [app.metrics.registry],
    })

    app.decorate('oauth', {
      clients,
      token: createOAuthTokenService({
        clients,
        // The grants' clock dates ID tokens, which relying parties check against theirs.
        grants: createGrants({ sessions: app.sessions, accounts: app.accounts, keys: app.keys, accessTokens: app.accessTokens, clock: wallClock, config }),
        dpop: app.dpop,
        metrics: {
          issued: (grantType) => issued.inc({ grant_type: grantType }),
          refused: (grantType, error) => refused.inc({ grant_type: grantType, error }),
        },
      }),
      revocation: createOAuthRevocationService({ clients, checkAccessToken, revocations: app.revocations, sessions: app.sessions }),
      introspection: createOAuthIntrospectionService({ clients, checkAccessToken, revocations: app.revocations, sessions: app.sessions }),
      authorization: createAuthorizationService({ clients, accounts: app.accounts, sessions: app.sessions, store: app.accountStore, clock: () => app.clock(), config }),
      pageKeys: createOidcPageKeys({ signInCookie: app.secrets('sign-in-cookie'), pageState: app.secrets('page-state') }),
      userinfo: createUserInfoService({ checkAccessToken, revocations: app.revocations, sessions: app.sessions, store: app.accountStore, dpop: app.dpop }),
      logout: createLogoutService({ keys: app.keys, clients, sessions: app.sessions, config }),
    })
  },
  { name: 'oauth', dependencies: ['database', 'keys', 'metrics', 'accounts', 'dpop'] },
)
