import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { problemResponses } from '../../../http/schemas.js'
import { UserSchema } from '../auth/schemas.js'

const meRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/',
    {
      preHandler: [app.authenticate, app.requireLiveSession],
      schema: {
        tags: ['auth'],
        summary: 'Your account',
        description: 'The account of the access token\'s user.',
        security: [{ bearerAuth: [] }],
        response: { 200: UserSchema, ...problemResponses(401, 404, 429) },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store')
      return app.accounts.profile(request.identity!.subject)
    },
  )
}

export default meRoutes
