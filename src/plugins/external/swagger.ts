import swagger from '@fastify/swagger'
import apiReference from '@scalar/fastify-api-reference'
import fp from 'fastify-plugin'
import { OAuthErrorSchema, ProblemSchema } from '../../http/schemas.js'
import { OPENAPI_INFO } from '../../http/openapi-info.js'

/**
 * The OpenAPI 3.1 document is generated from the routes' own schemas: /openapi.json serves it,
 * /docs renders it, and `npm run openapi:generate` writes it to openapi.yaml.
 */
export default fp(
  async (app) => {
    app.addSchema(ProblemSchema)
    app.addSchema(OAuthErrorSchema)
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: OPENAPI_INFO.info,
        // Relative, so the document is the same whatever ISSUER an instance runs with.
        servers: [{ url: '/', description: 'This tollgate instance' }],
        tags: OPENAPI_INFO.tags,
        components: { securitySchemes: OPENAPI_INFO.securitySchemes },
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    })
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
    await app.register(apiReference, {
      routePrefix: '/docs',
      configuration: { url: '/openapi.json', theme: 'default' },
    })
  },
  { name: 'swagger' },
)
