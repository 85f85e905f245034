import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { ADMIN_SCOPES, type Actor, type AdminScope } from '../../domain/admin/admin.js'
import { ACCESS_TOKEN_ERRORS, DpopHeadersSchema, problemResponses } from '../../http/schemas.js'
import { requestContext } from '../../http/request-context.js'
import {
  AdminUserSchema,
  DisableBodySchema,
  FindUsersQuerySchema,
  RevokedCountSchema,
  SessionIdParamsSchema,
  UserDetailsSchema,
  UserIdParamsSchema,
  UserPageSchema,
  USERS_PAGE_DEFAULT,
} from './schemas.js'

const TAGS = ['admin']
const security = (scope: AdminScope) => [{ adminClient: [scope] }]
const AUTH_ERRORS = problemResponses(...ACCESS_TOKEN_ERRORS, 'insufficient_scope')

/** The operator named on the security events of this request: the admin client, and where it called from. */
function actorOf(request: FastifyRequest): Actor {
  return { kind: 'client', id: request.identity!.claims.client_id, ip: requestContext(request).ip }
}

const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store')

/** The disabling's reason is optional, and so is the body that carries it. */
async function allowEmptyBody(request: FastifyRequest) {
  request.body ??= {}
}

/**
 * /admin/v1: operator controls over users and sessions, for tokens of tollgate's own
 * client_credentials grant with `admin:read` or `admin:write`.
 */
const adminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const read = [app.authenticate, app.requireAdmin(ADMIN_SCOPES.read)]
  const write = [app.authenticate, app.requireAdmin(ADMIN_SCOPES.write)]

  app.get(
    '/users',
    {
      preHandler: read,
      schema: {
        operationId: 'adminFindUsers',
        tags: TAGS,
        summary: 'Find users',
        description:
          'Users whose email contains `email`, or the one with `id`, or all, in creation order, `limit` at a time: ' +
          'follow `nextCursor` for the next page. A cursor this service did not hand out is 400.',
        security: security(ADMIN_SCOPES.read),
        headers: DpopHeadersSchema,
        querystring: FindUsersQuerySchema,
        response: { 200: { ...UserPageSchema, 'x-response-description': 'A page of users' }, ...AUTH_ERRORS, ...problemResponses('validation_failed') },
      },
    },
    async (request, reply) => {
      const { email, id, cursor, limit } = request.query
      noStore(reply)
      return app.admin.findUsers({ email, id, cursor, limit: limit ?? USERS_PAGE_DEFAULT }, actorOf(request))
    },
  )

  app.get(
    '/users/:id',
    {
      preHandler: read,
      schema: {
        operationId: 'adminGetUser',
        tags: TAGS,
        summary: 'Read a user',
        description: 'The account, its live sessions (device, address, created, last used, flagged, bound) and its latest security events.',
        security: security(ADMIN_SCOPES.read),
        headers: DpopHeadersSchema,
        params: UserIdParamsSchema,
        response: { 200: { ...UserDetailsSchema, 'x-response-description': 'The user, sessions and events' }, ...AUTH_ERRORS, ...problemResponses('not_found') },
      },
    },
    async (request, reply) => {
      noStore(reply)
      return app.admin.showUser(request.params.id, actorOf(request))
    },
  )

  app.delete(
    '/users/:id',
    {
      preHandler: write,
      schema: {
        operationId: 'adminEraseUser',
        tags: TAGS,
        summary: 'Erase a user',
        description:
          'Deletes the account and everything of it (sessions, refresh tokens, cart, security events) in one transaction. ' +
          'Only the ids of its sessions stay, while their access tokens may be unexpired, so that the revocations feed keeps refusing them, ' +
          'and one `user_erased` security event naming the erased id and the client, for the audit trail. Cannot be undone.',
        security: security(ADMIN_SCOPES.write),
        headers: DpopHeadersSchema,
        params: UserIdParamsSchema,
        response: { 204: Type.Null({ description: 'The user is erased' }), ...AUTH_ERRORS, ...problemResponses('not_found') },
      },
    },
    async (request, reply) => {
      await app.admin.eraseUser(request.params.id, actorOf(request))
      return reply.code(204).send(null)
    },
  )

  app.delete(
    '/users/:id/sessions',
    {
      preHandler: write,
      schema: {
        operationId: 'adminRevokeUserSessions',
        tags: TAGS,
        summary: 'Sign a user out everywhere',
        description:
          'Revokes every live session of the user, as their own logout would: their access tokens are refused by tollgate at once ' +
          'and by other services once they read the revocations feed. The user can log in again (disable them to prevent that).',
        security: security(ADMIN_SCOPES.write),
        headers: DpopHeadersSchema,
        params: UserIdParamsSchema,
        response: { 200: { ...RevokedCountSchema, 'x-response-description': 'The sessions are revoked' }, ...AUTH_ERRORS, ...problemResponses('not_found') },
      },
    },
    async (request) => ({ revoked: await app.admin.revokeUserSessions(request.params.id, actorOf(request)) }),
  )

  app.delete(
    '/sessions/:id',
    {
      preHandler: write,
      schema: {
        operationId: 'adminRevokeSession',
        tags: TAGS,
        summary: 'Revoke a session',
        description: 'Revokes one session of any user, as its logout would. A session that already ended answers 204 too; an unknown id is 404.',
        security: security(ADMIN_SCOPES.write),
        headers: DpopHeadersSchema,
        params: SessionIdParamsSchema,
        response: { 204: Type.Null({ description: 'The session is revoked' }), ...AUTH_ERRORS, ...problemResponses('not_found') },
      },
    },
    async (request, reply) => {
      await app.admin.revokeSession(request.params.id, actorOf(request))
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/users/:id/disable',
    {
      preHandler: write,
      preValidation: allowEmptyBody,
      schema: {
        operationId: 'adminDisableUser',
        tags: TAGS,
        summary: 'Disable a user',
        description:
          'The user can no longer log in, refresh or complete an authorization, and every session of theirs is revoked, in one step. ' +
          'Disabling a disabled user changes nothing.',
        security: security(ADMIN_SCOPES.write),
        headers: DpopHeadersSchema,
        params: UserIdParamsSchema,
        body: DisableBodySchema,
        response: { 200: { ...AdminUserSchema, 'x-response-description': 'The user, disabled' }, ...AUTH_ERRORS, ...problemResponses('not_found') },
      },
    },
    async (request) => app.admin.disableUser(request.params.id, actorOf(request), request.body.reason),
  )

  app.post(
    '/users/:id/enable',
    {
      preHandler: write,
      schema: {
        operationId: 'adminEnableUser',
        tags: TAGS,
        summary: 'Enable a user',
        description: 'A disabled user can log in again. Their sessions revoked by the disabling stay revoked.',
        security: security(ADMIN_SCOPES.write),
        headers: DpopHeadersSchema,
        params: UserIdParamsSchema,
        response: { 200: { ...AdminUserSchema, 'x-response-description': 'The user, enabled' }, ...AUTH_ERRORS, ...problemResponses('not_found') },
      },
    },
    async (request) => app.admin.enableUser(request.params.id, actorOf(request)),
  )
}

export default adminRoutes
