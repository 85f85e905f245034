import type { Config } from '../config.js'
import { OIDC_SCOPES, SUPPORTED_CLAIMS } from '../domain/oidc/claims.js'
import { GRANT_TYPES } from '../domain/oauth/grants.js'
import { CODE_CHALLENGE_METHODS } from '../domain/oidc/pkce.js'
import { DPOP_ALGORITHMS } from '../domain/dpop/proof.js'
import { PROMPTS } from '../domain/oidc/authorization-request.js'
import { idTokenAlgorithms } from '../domain/oidc/id-token.js'

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const

type DiscoveryConfig = Pick<Config, 'ISSUER' | 'DEFAULT_SCOPES' | 'SIGNING_ALGORITHMS'> & Partial<Pick<Config, 'API_DOCS'>>

/**
 * RFC 8414 authorization server metadata. Public clients (the first-party one, and clients
 * registered as public) authenticate with client_id alone (`none`) at the token and revocation
 * endpoints, never at introspection.
 */
export function authorizationServerMetadata(config: DiscoveryConfig) {
  const issuer = config.ISSUER
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    grant_types_supported: [...GRANT_TYPES],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    code_challenge_methods_supported: [...CODE_CHALLENGE_METHODS],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS, 'none'],
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS, 'none'],
    introspection_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    scopes_supported: [...new Set([...OIDC_SCOPES, ...config.DEFAULT_SCOPES])],
    authorization_response_iss_parameter_supported: true,
    // Not an RFC 8414 name (none exists for access tokens): the default first, as configured.
    access_token_signing_alg_values_supported: [...config.SIGNING_ALGORITHMS],
    // RFC 9449 §5.1: the algorithms DPoP proofs may use.
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
    ...(config.API_DOCS === false ? {} : { service_documentation: `${issuer}/docs` }),
  }
}

export type AuthorizationServerMetadata = ReturnType<typeof authorizationServerMetadata>

/** OpenID Connect Discovery 1.0 §3: the RFC 8414 document and what a relying party needs besides. */
export function openIdConfiguration(config: DiscoveryConfig) {
  return {
    ...authorizationServerMetadata(config),
    userinfo_endpoint: `${config.ISSUER}/oauth/userinfo`,
    end_session_endpoint: `${config.ISSUER}/oauth/logout`,
    subject_types_supported: ['public'],
    // Every configured algorithm (a client may register any of them), the default first.
    id_token_signing_alg_values_supported: idTokenAlgorithms(config.SIGNING_ALGORITHMS),
    claims_supported: [...SUPPORTED_CLAIMS],
    prompt_values_supported: [...PROMPTS],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
  }
}

export type OpenIdConfiguration = ReturnType<typeof openIdConfiguration>

export function createDiscoveryService(deps: { config: DiscoveryConfig }) {
  const metadata = Object.freeze(authorizationServerMetadata(deps.config))
  const openid = Object.freeze(openIdConfiguration(deps.config))
  return {
    metadata: (): AuthorizationServerMetadata => metadata,
    openIdConfiguration: (): OpenIdConfiguration => openid,
  }
}

export type DiscoveryService = ReturnType<typeof createDiscoveryService>
