import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { GRANT_TYPES } from '../../domain/oauth/grants.js'
import { IfNoneMatchSchema as IfNoneMatchValueSchema, noBody } from '../../http/schemas.js'
import { ifNoneMatchHits } from '../../http/conditional-requests.js'

export const PublicJwkSchema = Type.Object(
  {
    kty: Type.String({ description: 'EC (P-256), RSA or OKP (Ed25519)' }),
    kid: Type.String({ description: 'RFC 7638 thumbprint of the key' }),
    alg: Type.String({ description: 'ES256, RS256 or EdDSA: the set holds keys of every configured algorithm (SIGNING_ALGORITHMS)' }),
    use: Type.Literal('sig'),
    crv: Type.Optional(Type.String()),
    x: Type.Optional(Type.String()),
    y: Type.Optional(Type.String()),
    n: Type.Optional(Type.String()),
    e: Type.Optional(Type.String()),
  },
  { title: 'PublicJwk', description: 'A public signing key (RFC 7517): never a private member (d, p, q, dp, dq, qi, k).' },
)

export const JwksSchema = Type.Object(
  { keys: Type.Array(PublicJwkSchema) },
  {
    title: 'Jwks',
    description: 'The published public keys (RFC 7517), with Cache-Control max-age and an ETag',
    examples: [
      {
        keys: [
          {
            kty: 'EC',
            crv: 'P-256',
            x: 'dBeAAB-Mvdhtqk3cKHGs2pN4M4k8prL27p-MAyXyvUo',
            y: '5jBAt69n9FthYkMNKuVRdyENnjjm23Z1cuEXuB9BpWg',
            kid: 'CsNtpREf2JzLPB_8r_x2ywtfXs3Zx7T4Mos6KG_XMeI',
            alg: 'ES256',
            use: 'sig',
          },
        ],
      },
    ],
  },
)

const METADATA_FIELDS = {
  issuer: Type.String(),
  authorization_endpoint: Type.String(),
  token_endpoint: Type.String(),
  jwks_uri: Type.String(),
  revocation_endpoint: Type.String(),
  introspection_endpoint: Type.String(),
  grant_types_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String()),
  response_modes_supported: Type.Array(Type.String()),
  code_challenge_methods_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  revocation_endpoint_auth_methods_supported: Type.Array(Type.String()),
  introspection_endpoint_auth_methods_supported: Type.Array(Type.String()),
  scopes_supported: Type.Array(Type.String()),
  access_token_signing_alg_values_supported: Type.Array(Type.String(), {
    description:
      'The algorithms access tokens may be signed with (SIGNING_ALGORITHMS): the first is the default, a client or ' +
      'audience registered for another gets tokens signed with it. Every one of them has keys in the JWKS.',
  }),
  dpop_signing_alg_values_supported: Type.Array(Type.String(), {
    description: 'RFC 9449 §5.1: the algorithms a DPoP proof may be signed with. A token request with a proof gets tokens bound to its key.',
  }),
  authorization_response_iss_parameter_supported: Type.Boolean({ description: 'RFC 9207: every authorization response carries `iss`.' }),
  service_documentation: Type.Optional(Type.String({ description: 'The API reference; absent when this instance does not serve it (API_DOCS=false)' })),
}

const METADATA_EXAMPLE = {
  issuer: 'http://localhost:3000',
  authorization_endpoint: 'http://localhost:3000/oauth/authorize',
  token_endpoint: 'http://localhost:3000/oauth/token',
  jwks_uri: 'http://localhost:3000/.well-known/jwks.json',
  revocation_endpoint: 'http://localhost:3000/oauth/revoke',
  introspection_endpoint: 'http://localhost:3000/oauth/introspect',
  grant_types_supported: [...GRANT_TYPES],
  response_types_supported: ['code'],
  response_modes_supported: ['query'],
  code_challenge_methods_supported: ['S256'],
  token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
  revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
  introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
  scopes_supported: ['openid', 'profile', 'email', 'offline_access', 'cart'],
  access_token_signing_alg_values_supported: ['ES256', 'RS256'],
  dpop_signing_alg_values_supported: ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512'],
  authorization_response_iss_parameter_supported: true,
  service_documentation: 'http://localhost:3000/docs',
}

export const AuthorizationServerMetadataSchema = Type.Object(METADATA_FIELDS, {
  title: 'AuthorizationServerMetadata',
  description: 'RFC 8414 authorization server metadata',
  examples: [METADATA_EXAMPLE],
})

export const OpenIdConfigurationSchema = Type.Object(
  {
    ...METADATA_FIELDS,
    userinfo_endpoint: Type.String(),
    end_session_endpoint: Type.String({ description: 'RP-Initiated Logout 1.0' }),
    subject_types_supported: Type.Array(Type.String()),
    id_token_signing_alg_values_supported: Type.Array(Type.String(), {
      description:
        'Every configured algorithm (SIGNING_ALGORITHMS): a client may register any of them as its id_token_signed_response_alg. ' +
        'The first is what a client that registered none gets (RS256 when configured).',
    }),
    claims_supported: Type.Array(Type.String()),
    prompt_values_supported: Type.Array(Type.String()),
    claims_parameter_supported: Type.Boolean(),
    request_parameter_supported: Type.Boolean(),
    request_uri_parameter_supported: Type.Boolean(),
  },
  {
    title: 'OpenIdConfiguration',
    description: 'OpenID Connect Discovery 1.0 provider metadata: the RFC 8414 document and the OpenID Connect members',
    examples: [
      {
        ...METADATA_EXAMPLE,
        userinfo_endpoint: 'http://localhost:3000/oauth/userinfo',
        end_session_endpoint: 'http://localhost:3000/oauth/logout',
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256', 'ES256'],
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'sid', 'azp', 'name', 'email', 'email_verified'],
        prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
        claims_parameter_supported: false,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
      },
    ],
  },
)

const IfNoneMatchSchema = Type.Object({
  'if-none-match': Type.Optional(IfNoneMatchValueSchema('The ETag last read: 304 when the key set has not changed. A malformed value is 400.')),
})

const ETAG_HEADER = { type: 'string', description: 'The version of the key set: send it back as If-None-Match.' } as const
const CACHE_HEADER = { type: 'string', description: '`public, max-age=...`: how long the key set may be cached, derived from the rotation schedule.' } as const

const wellKnownRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // The JWKS headers of the document last served: jwksDocument() hands out one object for as long
  // as the key set and its max-age stay the same.
  let served: ReturnType<typeof app.signingKeys.jwksDocument> | undefined
  let headers: Readonly<Record<string, string>> = {}
  app.get(
    '/jwks.json',
    {
      schema: {
        operationId: 'getJwks',
        tags: ['discovery'],
        summary: 'JSON Web Key Set',
        description:
          'The public keys that verify access tokens and the revocations feed, for every configured algorithm: ' +
          'the next key (published before it signs), the active key, and retired keys until every token they ' +
          'signed has expired. ' +
          'Cache-Control max-age follows the rotation schedule; send If-None-Match with the ETag for a 304.',
        security: [],
        headers: IfNoneMatchSchema,
        response: {
          200: { ...JwksSchema, headers: { ETag: ETAG_HEADER, 'Cache-Control': CACHE_HEADER } },
          304: noBody('Not modified: the ETag still matches', { ETag: ETAG_HEADER }),
        },
      },
    },
    // Not async: the answer is ready at once, and a promise per request is all an async handler would add.
    (request, reply) => {
      const document = app.signingKeys.jwksDocument()
      if (document !== served) {
        served = document
        headers = Object.freeze({ 'cache-control': `public, max-age=${document.maxAgeSeconds}`, etag: document.etag })
      }
      reply.headers(headers)
      if (request.headers['if-none-match'] !== undefined && ifNoneMatchHits(request.headers['if-none-match'], document.etag)) {
        reply.code(304).send()
      } else {
        // document.body is the key set already serialized (once per key change): a string is sent as is.
        reply.type('application/json; charset=utf-8').send(document.body as never)
      }
    },
  )

  app.get(
    '/oauth-authorization-server',
    {
      schema: {
        operationId: 'getAuthorizationServerMetadata',
        tags: ['discovery'],
        summary: 'OAuth 2.0 authorization server metadata',
        description: 'RFC 8414 metadata: the endpoints, grants, client authentication methods and scopes.',
        security: [],
        response: { 200: AuthorizationServerMetadataSchema },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=3600')
      return app.discovery.metadata()
    },
  )

  app.get(
    '/openid-configuration',
    {
      schema: {
        operationId: 'getOpenIdConfiguration',
        tags: ['discovery'],
        summary: 'OpenID Connect discovery document',
        description:
          'OpenID Connect Discovery 1.0: everything a relying party (openid-client, oauth4webapi, Grafana, oauth2-proxy, ' +
          'Postman) needs to sign users in with tollgate, a superset of the RFC 8414 metadata.',
        security: [],
        response: { 200: OpenIdConfigurationSchema },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=3600')
      return app.discovery.openIdConfiguration()
    },
  )
}

export default wellKnownRoutes
