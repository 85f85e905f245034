import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ifNoneMatchHits } from './etag.js'

export const PublicJwkSchema = Type.Object(
  {
    kty: Type.String({ description: 'OKP (Ed25519), EC (P-256) or RSA' }),
    kid: Type.String({ description: 'RFC 7638 thumbprint of the key' }),
    alg: Type.String({ description: 'EdDSA, ES256 or RS256' }),
    use: Type.Literal('sig'),
    crv: Type.Optional(Type.String()),
    x: Type.Optional(Type.String()),
    y: Type.Optional(Type.String()),
    n: Type.Optional(Type.String()),
    e: Type.Optional(Type.String()),
  },
  { title: 'PublicJwk', description: 'A public signing key: never a private member (d, p, q, dp, dq, qi, k).' },
)

export const JwksSchema = Type.Object(
  { keys: Type.Array(PublicJwkSchema) },
  { title: 'Jwks', description: 'The published public keys (RFC 7517), with Cache-Control max-age and an ETag' },
)

export const AuthorizationServerMetadataSchema = Type.Object(
  {
    issuer: Type.String(),
    token_endpoint: Type.String(),
    jwks_uri: Type.String(),
    revocation_endpoint: Type.String(),
    introspection_endpoint: Type.String(),
    grant_types_supported: Type.Array(Type.String()),
    response_types_supported: Type.Array(Type.String()),
    token_endpoint_auth_methods_supported: Type.Array(Type.String()),
    revocation_endpoint_auth_methods_supported: Type.Array(Type.String()),
    introspection_endpoint_auth_methods_supported: Type.Array(Type.String()),
    scopes_supported: Type.Array(Type.String()),
    service_documentation: Type.String(),
  },
  { title: 'AuthorizationServerMetadata', description: 'RFC 8414 authorization server metadata' },
)

const IfNoneMatchSchema = Type.Object({ 'if-none-match': Type.Optional(Type.String()) })

const wellKnownRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/jwks.json',
    {
      schema: {
        tags: ['discovery'],
        summary: 'JSON Web Key Set',
        description:
          'The public keys that verify access tokens and the revocations feed: the next key (published ' +
          'before it signs), the active key, and retired keys until every token they signed has expired. ' +
          'Cache-Control max-age follows the rotation schedule; send If-None-Match with the ETag for a 304.',
        headers: IfNoneMatchSchema,
        response: { 200: JwksSchema, 304: { description: 'Not modified: the ETag still matches' } },
      },
    },
    async (request, reply) => {
      const document = app.signingKeys.jwksDocument()
      reply.header('cache-control', `public, max-age=${document.maxAgeSeconds}`).header('etag', document.etag)
      if (ifNoneMatchHits(request.headers['if-none-match'], document.etag)) return reply.code(304).send()
      return document.jwks
    },
  )

  app.get(
    '/oauth-authorization-server',
    {
      schema: {
        tags: ['discovery'],
        summary: 'OAuth 2.0 authorization server metadata',
        description: 'RFC 8414 metadata: the endpoints, grants, client authentication methods and scopes.',
        response: { 200: AuthorizationServerMetadataSchema },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=3600')
      return app.discovery.metadata()
    },
  )
}

export default wellKnownRoutes
