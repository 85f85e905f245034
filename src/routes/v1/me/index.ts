import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ACCESS_TOKEN_ERRORS, ACCESS_TOKEN_SECURITY, DpopHeadersSchema, problemResponses } from '../../../http/schemas.js'
import { UserSchema } from '../auth/schemas.js'

const meRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/',
    {
      preHandler: [app.authenticate, app.requireLiveSession],
      schema: {
        operationId: 'getMe',
        tags: ['auth'],
        summary: 'Your account',
        description: 'The account of the access token\'s user.',
        security: ACCESS_TOKEN_SECURITY,
        headers: DpopHeadersSchema,
        response: { 200: { ...UserSchema, 'x-response-description': 'Your account' }, ...problemResponses(...ACCESS_TOKEN_ERRORS, 'not_found') },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store')
      return app.accounts.profile(request.identity!.subject)
    },
  )
}

export default meRoutes
