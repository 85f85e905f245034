import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

/**
 * GET /: where a person who opened the service's address goes next. Not an API operation (it is
 * left out of the OpenAPI document): the discovery documents are what programs read.
 */
const rootRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app
  const issuer = config.ISSUER
  const index = {
    service: 'tollgate',
    ...(config.API_DOCS ? { documentation: `${issuer}/docs`, openapi: `${issuer}/openapi.json` } : {}),
    authorization_server_metadata: `${issuer}/.well-known/oauth-authorization-server`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    revocations: `${issuer}/v1/revocations`,
    health: `${issuer}/health/ready`,
  }
  app.get('/', { schema: { hide: true } }, async () => index)
}

export default rootRoutes
