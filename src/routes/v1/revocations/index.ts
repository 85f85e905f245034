import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { problemResponses } from '../../../http/schemas.js'
import { ifNoneMatchHits } from '../../well-known/etag.js'

const revocationsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/',
    {
      schema: {
        tags: ['discovery'],
        summary: 'Revocations feed',
        description:
          'A JWT (typ revocations+jwt, signed with the current key, verifiable with the JWKS) whose claims ' +
          '`sids` and `jtis` list the sessions and access tokens revoked while tokens of theirs may still be ' +
          'unexpired; also `iss`, `iat`, `exp`. Stateless verifiers poll it (with If-None-Match) so a revoked ' +
          "session's access tokens stop working within seconds.",
        headers: Type.Object({ 'if-none-match': Type.Optional(Type.String()) }),
        response: {
          200: {
            description: 'The signed feed (compact JWS)',
            content: { 'application/jwt': { schema: Type.String({ description: 'compact JWS' }) } },
          },
          304: { description: 'Not modified: the ETag still matches' },
          ...problemResponses(503),
        },
      },
    },
    async (request, reply) => {
      const feed = await app.revocationFeed.document()
      reply.header('cache-control', `public, max-age=${feed.maxAgeSeconds}`).header('etag', feed.etag)
      if (ifNoneMatchHits(request.headers['if-none-match'], feed.etag)) return reply.code(304).send()
      return reply.type('application/jwt').send(feed.jwt)
    },
  )
}

export default revocationsRoutes
