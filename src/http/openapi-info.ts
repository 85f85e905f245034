import type { OpenAPIV3_1 } from 'openapi-types'

/** The parts of the OpenAPI document that are not derived from routes. */
export const OPENAPI_INFO: {
  info: OpenAPIV3_1.InfoObject
  tags: OpenAPIV3_1.TagObject[]
  securitySchemes: Record<string, OpenAPIV3_1.SecuritySchemeObject>
} = {
  info: {
    title: 'tollgate',
    version: '0.1.0',
    description:
      'Stateless token authentication: short-lived JWT access tokens verified by anyone through the JWKS, ' +
      'rotating opaque refresh tokens with reuse detection, OAuth 2.0 token, revocation and introspection endpoints, ' +
      'and a cart API whose state lives in PostgreSQL.',
    license: { name: 'MIT', identifier: 'MIT' },
  },
  tags: [
    { name: 'operations', description: 'Health, readiness and metrics.' },
    { name: 'discovery', description: 'Keys and metadata for verifiers and OAuth clients.' },
    { name: 'auth', description: 'First-party accounts, tokens and sessions.' },
    { name: 'oauth', description: 'OAuth 2.0 endpoints (form-encoded, RFC 6749 errors).' },
    { name: 'cart', description: 'A stateless API: the cart lives in PostgreSQL.' },
  ],
  securitySchemes: {
    bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token (RFC 9068 JWT).' },
    refreshCookie: { type: 'apiKey', in: 'cookie', name: 'tollgate_refresh', description: 'The refresh-token cookie set by login and refresh.' },
    clientBasic: { type: 'http', scheme: 'basic', description: 'OAuth client authentication: client_id and client_secret.' },
  },
}
