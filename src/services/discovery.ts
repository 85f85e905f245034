import type { Config } from '../config.js'

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const

/**
 * RFC 8414 authorization server metadata. tollgate has no authorization endpoint, so
 * response_types_supported is empty; public clients (the first-party one) authenticate with
 * client_id alone (`none`) at the token and revocation endpoints, never at introspection.
 */
export function authorizationServerMetadata(
  config: Pick<Config, 'ISSUER' | 'DEFAULT_SCOPES' | 'SIGNING_ALGORITHMS'> & Partial<Pick<Config, 'API_DOCS'>>,
) {
  const issuer = config.ISSUER
  return {
    issuer,
    token_endpoint: `${issuer}/oauth/token`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    grant_types_supported: ['refresh_token', 'client_credentials'],
    response_types_supported: [] as string[],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS, 'none'],
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS, 'none'],
    introspection_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    scopes_supported: [...config.DEFAULT_SCOPES],
    // Not an RFC 8414 name (none exists for access tokens): the default first, as configured.
    access_token_signing_alg_values_supported: [...config.SIGNING_ALGORITHMS],
    ...(config.API_DOCS === false ? {} : { service_documentation: `${issuer}/docs` }),
  }
}

export type AuthorizationServerMetadata = ReturnType<typeof authorizationServerMetadata>

export function createDiscoveryService(deps: {
  config: Pick<Config, 'ISSUER' | 'DEFAULT_SCOPES' | 'SIGNING_ALGORITHMS'> & Partial<Pick<Config, 'API_DOCS'>>
}) {
  const metadata = Object.freeze(authorizationServerMetadata(deps.config))
  return {
    metadata: (): AuthorizationServerMetadata => metadata,
  }
}

export type DiscoveryService = ReturnType<typeof createDiscoveryService>
