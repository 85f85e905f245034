import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { OAuthError } from '../../errors.js'
import { NO_STORE_HEADERS, noBody, oauthErrorResponses } from '../../http/schemas.js'
import { requestContext } from '../../plugins/app/accounts.js'

const FORM = 'application/x-www-form-urlencoded'
const OAUTH_ROUTE = { errorFormat: 'oauth' } as const
// The client may authenticate with HTTP Basic, or in the body; the public client sends client_id alone.
const CLIENT_SECURITY: Record<string, string[]>[] = [{ clientBasic: [] }, {}]


const Field = (description: string) => Type.Optional(Type.String({ maxLength: 4096, description }))

const ClientFields = {
  client_id: Field('client_secret_post, or the public first-party client identifying itself.'),
  client_secret: Field('client_secret_post. Do not combine with HTTP Basic.'),
}

export const TokenRequestSchema = Type.Object(
  {
    grant_type: Field('`client_credentials` or `refresh_token`.'),
    scope: Field('client_credentials: space-separated scopes within the client\'s; all of them when omitted.'),
    refresh_token: Field('refresh_token: the refresh token to rotate.'),
    ...ClientFields,
  },
  {
    'x-examples': {
      clientCredentials: { summary: 'client_credentials (client authenticated with HTTP Basic)', value: { grant_type: 'client_credentials', scope: 'orders:read' } },
      refreshToken: {
        summary: 'refresh_token, first-party public client',
        value: { grant_type: 'refresh_token', refresh_token: 'p7Wm2Qk9xRf4Tz1Lb8Nc3Vd6Hs0Ja5Ue2Yo7Gi4Kw9', client_id: 'tollgate-web' },
      },
    },
  },
)

export const TokenResponseSchema = Type.Object(
  {
    access_token: Type.String({ description: 'A JWT access token (RFC 9068).' }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'Seconds until the access token expires.' }),
    refresh_token: Type.Optional(Type.String({ description: 'refresh_token grant only: the rotated refresh token.' })),
    scope: Type.String({ description: 'The scopes granted, space-separated.' }),
  },
  {
    title: 'OAuthTokenResponse',
    examples: [
      {
        access_token: 'eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6IjRfM2dOWm1FIn0.eyJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAifQ.c2lnbmF0dXJl',
        token_type: 'Bearer',
        expires_in: 600,
        scope: 'orders:read',
      },
    ],
  },
)

export const TokenReferenceSchema = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 4096, description: 'An access token or a refresh token.' }),
    token_type_hint: Field('`access_token` or `refresh_token`; optional, tollgate tells the two apart itself.'),
    ...ClientFields,
  },
  { examples: [{ token: 'p7Wm2Qk9xRf4Tz1Lb8Nc3Vd6Hs0Ja5Ue2Yo7Gi4Kw9', token_type_hint: 'refresh_token' }] },
)

export const IntrospectionResponseSchema = Type.Object(
  {
    active: Type.Boolean({ description: 'False for anything invalid, expired or revoked; then no other member is sent.' }),
    token_type: Type.Optional(Type.String({ description: '`Bearer` for an access token, `refresh_token` for a refresh token.' })),
    sub: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    scope: Type.Optional(Type.String()),
    exp: Type.Optional(Type.Integer()),
    iat: Type.Optional(Type.Integer()),
    iss: Type.Optional(Type.String()),
    aud: Type.Optional(Type.String()),
    jti: Type.Optional(Type.String()),
    sid: Type.Optional(Type.String({ description: 'The session; absent for client_credentials tokens.' })),
  },
  {
    title: 'IntrospectionResponse',
    'x-examples': {
      active: {
        summary: 'An active access token',
        value: {
          active: true,
          token_type: 'Bearer',
          sub: '6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41',
          client_id: 'tollgate-web',
          scope: 'cart',
          exp: 1741944600,
          iat: 1741944000,
          iss: 'http://localhost:3000',
          aud: 'http://localhost:3000',
          jti: 'b1d2f3a4-5c6e-4f7a-8b9c-0d1e2f3a4b5c',
          sid: '0d9b8a7c-6e5f-4a3b-8c2d-1e0f9a8b7c6d',
        },
      },
      inactive: { summary: 'Invalid, expired or revoked', value: { active: false } },
    },
  },
)

const oauthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // RFC 6749 §3.2: these endpoints take form-encoded bodies only. Checked before the body is parsed.
  app.addHook('onRequest', async (request) => {
    const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase()
    if (type !== FORM) throw new OAuthError('invalid_request', `The body must be ${FORM}`)
  })
  // RFC 6749 §5.1: responses carrying tokens, and their errors, must not be cached.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  })

  app.post(
    '/token',
    {
      config: OAUTH_ROUTE,
      schema: {
        operationId: 'oauthToken',
        tags: ['oauth'],
        summary: 'Token endpoint',
        description:
          'RFC 6749 token endpoint. `client_credentials`: a confidential client authenticates (HTTP Basic or ' +
          '`client_secret_post`) and gets an access token whose `sub` is its client id, with `scope` within the ' +
          'client\'s. `refresh_token`: rotates a refresh token exactly like `POST /v1/auth/refresh`; first-party ' +
          'tokens belong to a public client, so `client_id` alone is enough. `password` and other grants: ' +
          '400 `unsupported_grant_type`. Bad client: 401 `invalid_client`.',
        consumes: [FORM],
        security: CLIENT_SECURITY,
        body: TokenRequestSchema,
        response: {
          200: { ...TokenResponseSchema, 'x-response-description': 'The tokens (RFC 6749 §5.1)', headers: NO_STORE_HEADERS },
          ...oauthErrorResponses(
            [400, ['invalid_request', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope']],
            [401, ['invalid_client']],
          ),
        },
      },
    },
    async (request) =>
      app.oauth.token.exchange({
        authorization: request.headers.authorization,
        params: request.body,
        ...requestContext(request),
      }),
  )

  app.post(
    '/revoke',
    {
      config: OAUTH_ROUTE,
      schema: {
        operationId: 'oauthRevoke',
        tags: ['oauth'],
        summary: 'Token revocation',
        description:
          'RFC 7009. Revoking a refresh token revokes its whole session; revoking an access token makes ' +
          'introspection report it inactive (and lists it in `/v1/revocations`) until it expires. A client ' +
          'revokes only its own tokens; unknown, invalid or foreign tokens still get 200.',
        consumes: [FORM],
        security: CLIENT_SECURITY,
        body: TokenReferenceSchema,
        response: {
          200: noBody('Revoked, or nothing to revoke. The body is empty.'),
          ...oauthErrorResponses([400, ['invalid_request']], [401, ['invalid_client']]),
        },
      },
    },
    async (request, reply) => {
      await app.oauth.revocation.revoke({
        authorization: request.headers.authorization,
        params: request.body,
        ...requestContext(request),
      })
      return reply.code(200).send()
    },
  )

  app.post(
    '/introspect',
    {
      config: OAUTH_ROUTE,
      schema: {
        operationId: 'oauthIntrospect',
        tags: ['oauth'],
        summary: 'Token introspection',
        description:
          'RFC 7662; a confidential client must authenticate. `{active: false}` for anything invalid, expired ' +
          'or revoked, and nothing more; otherwise the token\'s claims.',
        consumes: [FORM],
        // HTTP Basic, or client_id and client_secret in the body (client_secret_post).
        security: CLIENT_SECURITY,
        body: TokenReferenceSchema,
        response: {
          200: { ...IntrospectionResponseSchema, 'x-response-description': 'What the token is, or only `active: false`', headers: NO_STORE_HEADERS },
          ...oauthErrorResponses([400, ['invalid_request']], [401, ['invalid_client']]),
        },
      },
    },
    async (request) =>
      app.oauth.introspection.introspect({
        authorization: request.headers.authorization,
        params: request.body,
      }),
  )
}

export default oauthRoutes
