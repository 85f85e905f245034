import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { OAuthError } from '../../errors.js'
import { oauthErrorResponses } from '../../http/schemas.js'
import { requestContext } from '../../plugins/app/accounts.js'

const FORM = 'application/x-www-form-urlencoded'
const OAUTH_ROUTE = { errorFormat: 'oauth' } as const
// The client may authenticate with HTTP Basic, or in the body; the public client sends client_id alone.
const CLIENT_SECURITY: Record<string, string[]>[] = [{ clientBasic: [] }, {}]

const NO_STORE_HEADERS = {
  'cache-control': Type.Literal('no-store'),
  pragma: Type.Literal('no-cache'),
}

const Field = (description: string) => Type.Optional(Type.String({ maxLength: 4096, description }))

const ClientFields = {
  client_id: Field('client_secret_post, or the public first-party client identifying itself.'),
  client_secret: Field('client_secret_post. Do not combine with HTTP Basic.'),
}

const AuthorizationHeaderSchema = Type.Object({
  authorization: Type.Optional(Type.String({ description: 'HTTP Basic: form-urlencoded client_id and client_secret (RFC 6749 §2.3.1).' })),
})

export const TokenRequestSchema = Type.Object({
  grant_type: Field('`client_credentials` or `refresh_token`.'),
  scope: Field('client_credentials: space-separated scopes within the client\'s; all of them when omitted.'),
  refresh_token: Field('refresh_token: the refresh token to rotate.'),
  ...ClientFields,
})

export const TokenResponseSchema = Type.Object({
  access_token: Type.String({ description: 'A JWT access token (RFC 9068).' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the access token expires.' }),
  refresh_token: Type.Optional(Type.String({ description: 'refresh_token grant only: the rotated refresh token.' })),
  scope: Type.String(),
})

export const TokenReferenceSchema = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 4096, description: 'An access token or a refresh token.' }),
  token_type_hint: Field('`access_token` or `refresh_token`; optional, tollgate tells the two apart itself.'),
  ...ClientFields,
})

export const IntrospectionResponseSchema = Type.Object({
  active: Type.Boolean(),
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
})

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
        headers: AuthorizationHeaderSchema,
        body: TokenRequestSchema,
        response: {
          200: { ...TokenResponseSchema, description: 'The tokens (RFC 6749 §5.1)', headers: NO_STORE_HEADERS },
          ...oauthErrorResponses(400, 401, 429),
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
        tags: ['oauth'],
        summary: 'Token revocation',
        description:
          'RFC 7009. Revoking a refresh token revokes its whole session; revoking an access token makes ' +
          'introspection report it inactive (and lists it in `/v1/revocations`) until it expires. A client ' +
          'revokes only its own tokens; unknown, invalid or foreign tokens still get 200.',
        consumes: [FORM],
        security: CLIENT_SECURITY,
        headers: AuthorizationHeaderSchema,
        body: TokenReferenceSchema,
        response: {
          200: { description: 'Revoked, or nothing to revoke. The body is empty.' },
          ...oauthErrorResponses(400, 401, 429),
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
        tags: ['oauth'],
        summary: 'Token introspection',
        description:
          'RFC 7662; a confidential client must authenticate. `{active: false}` for anything invalid, expired ' +
          'or revoked, and nothing more; otherwise the token\'s claims.',
        consumes: [FORM],
        security: [{ clientBasic: [] }],
        headers: AuthorizationHeaderSchema,
        body: TokenReferenceSchema,
        response: {
          200: { ...IntrospectionResponseSchema, description: 'What the token is, or only `active: false`', headers: NO_STORE_HEADERS },
          ...oauthErrorResponses(400, 401, 429),
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
