import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ProblemError } from '../../../errors.js'
import { ACCESS_TOKEN_ERRORS, ACCESS_TOKEN_SECURITY, DpopHeadersSchema, problemResponses } from '../../../http/schemas.js'
import { requestContext } from '../../../http/request-context.js'
import { SecurityEventListSchema, SessionIdParamsSchema, SessionListSchema } from './schemas.js'


/** The signed-in user's sessions and security events. */
const sessionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const preHandler = [app.authenticate, app.requireLiveSession]

  app.get(
    '/sessions',
    {
      preHandler,
      schema: {
        operationId: 'listSessions',
        tags: ['auth'],
        summary: 'List your sessions',
        description: 'Your live sessions (not revoked, not expired), newest first; `current` marks the one of the access token used.',
        security: ACCESS_TOKEN_SECURITY,
        headers: DpopHeadersSchema,
        response: { 200: { ...SessionListSchema, 'x-response-description': 'Your live sessions' }, ...problemResponses(...ACCESS_TOKEN_ERRORS) },
      },
    },
    async (request, reply) => {
      const identity = request.identity!
      reply.header('cache-control', 'no-store')
      return { sessions: await app.sessions.list(identity.subject, identity.sessionId) }
    },
  )

  app.delete(
    '/sessions',
    {
      preHandler,
      schema: {
        operationId: 'revokeOtherSessions',
        tags: ['auth'],
        summary: 'Log out everywhere else',
        description: 'Revokes every session of yours except the current one.',
        security: ACCESS_TOKEN_SECURITY,
        headers: DpopHeadersSchema,
        response: { 204: Type.Null({ description: 'Every other session is revoked' }), ...problemResponses(...ACCESS_TOKEN_ERRORS) },
      },
    },
    async (request, reply) => {
      const identity = request.identity!
      await app.sessions.revokeOthers(identity.subject, identity.sessionId, 'revoked_by_user', requestContext(request))
      return reply.code(204).send(null)
    },
  )

  app.delete(
    '/sessions/:id',
    {
      preHandler,
      schema: {
        operationId: 'revokeSession',
        tags: ['auth'],
        summary: 'Revoke one of your sessions',
        description: 'Revokes one of your live sessions (possibly the current one). Any other id, another user\'s included, is 404.',
        security: ACCESS_TOKEN_SECURITY,
        headers: DpopHeadersSchema,
        params: SessionIdParamsSchema,
        response: { 204: Type.Null({ description: 'The session is revoked' }), ...problemResponses(...ACCESS_TOKEN_ERRORS, 'not_found') },
      },
    },
    async (request, reply) => {
      const revoked = await app.sessions.revokeOwn(request.identity!.subject, request.params.id, requestContext(request))
      if (!revoked) throw new ProblemError('not_found', 'No such session')
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/events',
    {
      preHandler,
      schema: {
        operationId: 'listSecurityEvents',
        tags: ['auth'],
        summary: 'List your security events',
        description: 'Your latest 100 security events, newest first: logins, failed logins, refresh-token reuse, revoked and flagged sessions, password changes.',
        security: ACCESS_TOKEN_SECURITY,
        headers: DpopHeadersSchema,
        response: { 200: { ...SecurityEventListSchema, 'x-response-description': 'Your latest security events' }, ...problemResponses(...ACCESS_TOKEN_ERRORS) },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store')
      return { events: await app.securityEvents.listForUser(request.identity!.subject) }
    },
  )
}

export default sessionRoutes
