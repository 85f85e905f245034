import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { IfNoneMatchSchema, noBody } from '../../../http/schemas.js'
import { ifNoneMatchHits } from '../../../http/conditional-requests.js'

const FEED_ETAG_HEADER = { type: 'string', description: 'The version of the feed: send it back as If-None-Match.' } as const
const FEED_CACHE_HEADER = { type: 'string', description: '`public, max-age=5` by default (REVOCATIONS_MAX_AGE_SECONDS).' } as const

const revocationsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/',
    {
      schema: {
        operationId: 'getRevocations',
        tags: ['discovery'],
        summary: 'Revocations feed',
        description:
          'A JWT (typ revocations+jwt, signed with the current key, verifiable with the JWKS) whose claims ' +
          '`sids` and `jtis` list the sessions and access tokens revoked while tokens of theirs may still be ' +
          'unexpired; also `iss`, `iat`, `exp`. Stateless verifiers poll it (with If-None-Match) so a revoked ' +
          "session's access tokens stop working within seconds.",
        security: [],
        headers: Type.Object({ 'if-none-match': Type.Optional(IfNoneMatchSchema('The ETag last read: 304 when the feed has not changed. A malformed value is 400.')) }),
        response: {
          200: {
            description: 'The signed feed: a compact JWS whose payload is `{iss, iat, exp, sids, jtis}`',
            headers: { ETag: FEED_ETAG_HEADER, 'Cache-Control': FEED_CACHE_HEADER },
            content: {
              'application/jwt': {
                schema: Type.String({
                  pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$',
                  description: 'A compact JWS (header `typ: revocations+jwt`); verify it with the JWKS.',
                  examples: [
                    'eyJhbGciOiJFZERTQSIsInR5cCI6InJldm9jYXRpb25zK2p3dCIsImtpZCI6IjRfM2dOWm1FIn0.eyJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAiLCJpYXQiOjE3NDE5NDQ0MDAsImV4cCI6MTc0MTk0NTAwMCwic2lkcyI6W10sImp0aXMiOltdfQ.c2lnbmF0dXJl',
                  ],
                }),
              },
            },
          },
          304: noBody('Not modified: the ETag still matches', { ETag: FEED_ETAG_HEADER }),
        },
      },
    },
    async (request, reply) => {
      const feed = await app.revocationFeed.document()
      reply.header('cache-control', `public, max-age=${feed.maxAgeSeconds}`).header('etag', feed.etag)
      // A poller sends back the tag it got, verbatim: compared as is before the list is parsed.
      const ifNoneMatch = request.headers['if-none-match']
      if (ifNoneMatch === feed.etag || ifNoneMatchHits(ifNoneMatch, feed.etag)) return reply.code(304).send()
      // feed.body is the JWT's bytes, encoded once per document (the schema's string, as a Buffer).
      return reply.type('application/jwt').send(feed.body as never)
    },
  )
}

export default revocationsRoutes
