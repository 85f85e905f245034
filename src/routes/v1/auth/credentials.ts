import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { problemResponses } from '../../../http/schemas.js'
import { requestContext } from '../../../plugins/app/accounts.js'
import { ChangePasswordBodySchema, LoginBodySchema, RegisterBodySchema, TokenResponseSchema, UserSchema, tokenResponse } from './schemas.js'

/** Registration, password login and password change. */
const credentialRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/register',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an account',
        description:
          'Creates an account. The email is trimmed and lower-cased (emails are one account whatever their case); ' +
          'the password must be 8 to 256 characters and not a commonly used one.',
        body: RegisterBodySchema,
        response: { 201: UserSchema, ...problemResponses(400, 409, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const user = await app.accounts.register(request.body)
      return reply.code(201).send(user)
    },
  )

  app.post(
    '/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log in with email and password',
        description:
          'Starts a session: answers a token response and sets the tollgate_refresh cookie (HttpOnly, SameSite=Strict, Path=/v1/auth). ' +
          'An unknown email and a wrong password get the same 401 invalid_credentials, after the same work. ' +
          'A new session beyond the per-user limit evicts the oldest.',
        body: LoginBodySchema,
        response: { 200: TokenResponseSchema, ...problemResponses(400, 401, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const grant = await app.accounts.login({ ...request.body, ...requestContext(request) })
      app.refreshCookie.set(reply, grant.refreshToken, grant.sessionExpiresAt)
      return tokenResponse(reply, grant)
    },
  )

  app.post(
    '/password',
    {
      preHandler: [app.authenticate, app.requireLiveSession],
      schema: {
        tags: ['auth'],
        summary: 'Change the password',
        description: 'Needs the current password. Revokes every other session of the user; the current one stays.',
        security: [{ bearerAuth: [] }],
        body: ChangePasswordBodySchema,
        response: { 204: Type.Null({ description: 'Changed' }), ...problemResponses(400, 401, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const identity = request.identity!
      await app.accounts.changePassword({ userId: identity.subject, sessionId: identity.sessionId, ...request.body, ...requestContext(request) })
      return reply.code(204).send(null)
    },
  )
}

export default credentialRoutes
