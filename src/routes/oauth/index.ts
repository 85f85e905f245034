import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { OAuthError } from '../../errors.js'
import { STYLESHEET, STYLESHEET_VERSION } from '../../http/pages/stylesheet.js'
import { clientCredentialsOf, dpopPresentationOf } from '../../http/authorization.js'
import { RATE_LIMITS } from '../../http/rate-limit-policy.js'
import { requestContext } from '../../http/request-context.js'
import { DpopHeadersSchema, NO_STORE_HEADERS, noBody, oauthErrorResponses } from '../../http/schemas.js'
import authorizeRoutes from './authorize.js'
import sessionEndRoutes from './session-end.js'
import { FORM, IntrospectionResponseSchema, TokenReferenceSchema, TokenRequestSchema, TokenResponseSchema } from './schemas.js'

const OAUTH_ROUTE = { errorFormat: 'oauth' } as const
// The client may authenticate with HTTP Basic, or in the body; the public client sends client_id alone.
const CLIENT_SECURITY: Record<string, string[]>[] = [{ clientBasic: [] }, {}]

const oauthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app
  // RFC 6749 §3.2: these endpoints take form-encoded bodies only. Checked before the body is parsed.
  app.addHook('onRequest', async (request) => {
    if (request.method !== 'POST') return
    // Userinfo takes its token from the Authorization header: a POST with no body at all is fine there.
    const length = request.headers['content-length']
    if (request.routeOptions.config?.formOptional && request.headers['content-type'] === undefined && (length === undefined || length === '0')) return
    const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase()
    if (type !== FORM) throw new OAuthError('invalid_request', `The body must be ${FORM}`)
  })
  // RFC 6749 §5.1: responses carrying tokens, and their errors, must not be cached; nor the pages.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  })

  await app.register(authorizeRoutes(config))
  await app.register(sessionEndRoutes(config))

  // The pages' stylesheet: the one thing under /oauth that may be cached (its URL changes with it).
  await app.register(async (assets) => {
    assets.addHook('onSend', async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=31536000, immutable').removeHeader('pragma')
    })
    assets.get('/assets/tollgate.css', { schema: { hide: true } }, async (_request, reply) =>
      reply.header('etag', `"${STYLESHEET_VERSION}"`).type('text/css; charset=utf-8').send(STYLESHEET),
    )
  })

  app.post(
    '/token',
    {
      config: { ...OAUTH_ROUTE, rateLimits: RATE_LIMITS.oauthToken },
      schema: {
        operationId: 'oauthToken',
        tags: ['oauth'],
        summary: 'Token endpoint',
        description:
          'RFC 6749 token endpoint. `client_credentials`: a confidential client authenticates (HTTP Basic or ' +
          '`client_secret_post`) and gets an access token whose `sub` is its client id, with `scope` within the ' +
          'client\'s. `refresh_token`: rotates a refresh token exactly like `POST /v1/auth/refresh`; first-party ' +
          'tokens belong to a public client, so `client_id` alone is enough. `password` and other grants: ' +
          '400 `unsupported_grant_type`. Bad client: 401 `invalid_client`. With a `DPoP` proof (every grant) the tokens are ' +
          'bound to its key (`token_type: DPoP`); a bound refresh token rotates only with a proof from its key; a bad proof is 400 ' +
          '`invalid_dpop_proof`, and `use_dpop_nonce` (with `DPoP-Nonce`) asks for the proof again with the server\'s nonce.',
        consumes: [FORM],
        security: CLIENT_SECURITY,
        headers: DpopHeadersSchema,
        body: TokenRequestSchema,
        response: {
          200: { ...TokenResponseSchema, 'x-response-description': 'The tokens (RFC 6749 §5.1)', headers: NO_STORE_HEADERS },
          ...oauthErrorResponses(
            [400, ['invalid_request', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'invalid_dpop_proof', 'use_dpop_nonce']],
            [401, ['invalid_client']],
          ),
        },
      },
    },
    async (request) =>
      app.oauth.token.exchange({
        credentials: clientCredentialsOf(request.headers.authorization, request.body),
        params: request.body,
        dpop: dpopPresentationOf(request),
        ...requestContext(request),
      }),
  )

  app.post(
    '/revoke',
    {
      config: { ...OAUTH_ROUTE, rateLimits: RATE_LIMITS.clientAuthentication },
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
        credentials: clientCredentialsOf(request.headers.authorization, request.body),
        params: request.body,
        ...requestContext(request),
      })
      return reply.code(200).send()
    },
  )

  app.post(
    '/introspect',
    {
      config: { ...OAUTH_ROUTE, rateLimits: RATE_LIMITS.clientAuthentication },
      schema: {
        operationId: 'oauthIntrospect',
        tags: ['oauth'],
        summary: 'Token introspection',
        description:
          'RFC 7662; a confidential client must authenticate. `{active: false}` for anything invalid, expired ' +
          'or revoked, and for a token not meant for the asking client (its `aud` names neither the client nor the ' +
          'client\'s audience, and the client did not obtain it: a refresh token only to its own client), and nothing ' +
          'more; otherwise the token\'s claims.',
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
        credentials: clientCredentialsOf(request.headers.authorization, request.body),
        params: request.body,
      }),
  )
}

export default oauthRoutes
